"""Use-cases of one response: draft saving, submission, reopening (its answer history
is readmodels/response_history.py).

Every state change is one `BEGIN IMMEDIATE` transaction. Saves use optimistic
concurrency: the caller hands back the `version` it loaded; when someone else saved in
between, `Conflict.current` carries the stored answers (`StoredResponse`) so nothing the
user typed is lost and nothing stored is overwritten silently. Refusals are the kinds of
surveyapp.refusals with the messages below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import question_types, scoring, store
from surveyapp.model import N_, AnswerValue, Message, Question, Questionnaire
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.answers import Answers, Evidence, parse_rows, stored_answers
from surveyapp.readmodels.definitions import get_definition
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound
from surveyapp.services import approvals, audit
from surveyapp.services.previous_year import previous_year_errors, save_previous_year
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store

EDITABLE = ("draft", "reopened")
MAX_EVIDENCE_LENGTH = 500
MAX_REASON_LENGTH = 2000



# Why a save, submission or reopening is refused (surveyapp.refusals).
RESPONSE_NOT_FOUND = N_("回答が見つかりません。")
ROUND_NOT_OPEN = N_("この調査回は現在回答を受け付けていません。"
                    "受付期間や状態を情報企画課に確認してください。")
LOCKED = N_("この回答は提出済みのため変更できません。"
            "修正が必要な場合は情報企画課に再開を依頼してください。")
CONFLICT = N_("あなたが編集している間に、他の人がこの回答を保存しました。"
              "あなたの入力は下に残っています。他の人が保存した回答と見比べてから、"
              "もう一度保存してください。")
INCOMPLETE = N_("未回答の必須項目があります。内容を確認してください。")
PREVIOUS_YEAR_INCOMPLETE = N_("前年度の改善状況に未入力の項目があります。"
                              "入力してから提出してください。")
INVALID_VALUES = N_("保存できない値が含まれています。入力内容を確認してください。")
NOT_SUBMITTED = N_("提出されていない回答は再開できません。")
ADMIN_ONLY = N_("この操作は管理者だけが行えます。")
REASON_REQUIRED = N_("再開の理由を入力してください。")
REASON_TOO_LONG = N_("再開の理由は%(n)d文字以内で入力してください。")


@dataclass(frozen=True)
class StoredResponse:
    """What a `Conflict` carries: the response as someone else saved it."""

    version: int
    answers: Answers
    evidence: Evidence
    updated_at: str | None = None
    updated_by: int | None = None


@dataclass(frozen=True)
class SaveResult:
    response_id: int
    version: int
    saved_at: str
    changed: tuple[str, ...] = field(default=())
    status: str = "draft"
    previous_year_errors: Mapping[str, str] = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------


def get_response(db: Database, response_id: int) -> dict:
    response = response_store.get_response(db, response_id)
    if response is None:
        raise NotFound(RESPONSE_NOT_FOUND)
    return response


def find_department_response(db: Database, round_id: int, code: str) -> dict | None:
    return response_store.find_department_response(db, round_id, code)


def definition_for(db: Database, response: Mapping) -> Questionnaire:
    """The questionnaire version a response (or a round row) answers."""
    version = response.get("questionnaire_version") or response["version"]
    return get_definition(db, response["questionnaire_id"], version)


def load_answers(db: Database, response_id: int,
                 questionnaire: Questionnaire | None = None) -> tuple[Answers, Evidence]:
    """The stored answers and evidence notes of a response, as model values."""
    if questionnaire is None:
        questionnaire = definition_for(db, get_response(db, response_id))
    return stored_answers(db, response_id, questionnaire)


# --- rows ------------------------------------------------------------------------


def answer_rows(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue | None],
                evidence: Mapping[str, str | None]) -> list[dict]:
    """The stored rows for `answers` (+ evidence): value text, `s`, `m`, evidence.

    One row per question of the definition named in either mapping. A question that is
    not relevant keeps its value but gets no score (DESIGN.md §4); an unknown id is
    dropped.
    """
    scores = scoring.stored_scores(questionnaire, dict(answers))
    result = []
    for question in questionnaire.questions:
        if question.id in answers or question.id in evidence:
            result.append(_row(question, answers.get(question.id),
                               evidence.get(question.id), scores.get(question.id)))
    return result


def _row(question: Question, value: AnswerValue | None, note: str | None,
         score: tuple[float | None, float | None] | None) -> dict:
    points, maximum = score or (None, question.max_score)
    empty = value in (None, "", ())
    return {"question_id": question.id,
            "value": None if empty else question_types.of(question).to_text(value),
            "score": None if empty else points,
            "max_score": maximum,
            "evidence": (note or None) if question.evidence != "none" else None}


def submission_errors(questionnaire: Questionnaire, audience: str,
                      answers: Mapping[str, AnswerValue | None],
                      evidence: Mapping[str, str | None]) -> dict[str, str]:
    """Field name -> error code for what blocks a submission.

    Only relevant questions count: a required question hidden by its `relevant`
    expression is not required. Required evidence is asked for an answered question
    unless the chosen answer is not applicable (該当なし).
    """
    errors = {}
    for question in questionnaire.questions_for(audience):
        if not question.is_relevant(answers):
            continue
        value = answers.get(question.id)
        if question.required and value in (None, "", ()):
            errors[f"q_{question.id}"] = "required"
        elif _needs_evidence(question, value) and not evidence.get(question.id):
            errors[f"e_{question.id}"] = "evidence_required"
    return errors


def _needs_evidence(question: Question, value: AnswerValue | None) -> bool:
    if question.evidence != "required" or value in (None, "", ()):
        return False
    choice = question.choice(value) if isinstance(value, str) else None
    return not (choice is not None and choice.score is None)


# --- writing ---------------------------------------------------------------------


def get_or_create_department_response(db: Database, round_id: int, department_code: str,
                                      user_id: int | None) -> dict:
    """The 所属's one response of the round, created as an empty draft on first use."""
    with store.transaction(db):
        found = response_store.find_department_response(db, round_id, department_code)
        if found is not None:
            return found
        _open_round(db, round_id)
        response_store.insert_response(db, round_id, department_code, "department",
                                       user_id)
        return response_store.find_department_response(db, round_id, department_code)


def _open_round(db: Database, round_id: int) -> dict:
    found = response_store.get_round(db, round_id)
    if found is None:
        raise NotFound(round_reads.ROUND_NOT_FOUND, id=round_id)
    if found["status"] != "open":
        raise Locked(ROUND_NOT_OPEN)
    return found


def save_draft(db: Database, response_id: int, expected_version: int, answers: Answers,
               evidence: Evidence, user_id: int | None,
               questionnaire: Questionnaire | None = None,
               previous_year: Mapping[str, str] | None = None) -> SaveResult:
    """Store the changed answers of an editable response; raises `Conflict` when the
    stored version is not `expected_version`, `Locked` when the response or its round
    cannot change. A key missing from `answers`/`evidence` leaves that stored answer as
    it is; a None value clears it (and is recorded).

    `previous_year` is what the form posted for its 前年度の改善状況 block (the previous
    round's improvement items): stored in the same transaction as the answers, so both
    are saved or neither; `SaveResult.previous_year_errors` names the block's values
    that could not be stored (services/previous_year.py `save_previous_year`)."""
    with store.transaction(db):
        response, questionnaire = _editable(db, response_id, expected_version, questionnaire)
        at = store.now()
        changed = _write(db, response, questionnaire, answers, evidence, user_id, at)
        block_errors = _save_previous_year(db, response, previous_year, user_id)
        version = response["version"]
        if changed:  # nothing new: the version stays, so idle saves never conflict
            response_store.touch_response(db, response_id, user_id, at)
            version += 1
        return SaveResult(response_id, version, at, changed, response["status"],
                          block_errors)


def submit(db: Database, response_id: int, expected_version: int, answers: Answers,
           evidence: Evidence, user_id: int | None,
           questionnaire: Questionnaire | None = None,
           previous_year: Mapping[str, str] | None = None) -> SaveResult:
    """Validate the whole response and lock it (status submitted); atomic. Raises as
    `save_draft`, and `Invalid` when something is missing: first the 前年度の改善状況
    block (its `errors` {field: message}: every open item of the previous round needs a
    status and a progress note; `previous_year` is stored first, as by `save_draft`),
    then the answers (`errors` {field: error code} of `submission_errors`)."""
    with store.transaction(db):
        response, questionnaire = _editable(db, response_id, expected_version, questionnaire)
        _require_previous_year(db, response, previous_year, user_id)
        stored = response_store.list_answers(db, response_id)
        merged = _merged(questionnaire, response["audience"], stored, answers, evidence)
        errors = submission_errors(questionnaire, response["audience"], *merged)
        if errors:
            raise Invalid(INCOMPLETE, errors=errors)
        at = store.now()
        changed = _write(db, response, questionnaire, answers, evidence, user_id, at,
                         stored, merged)
        response_store.touch_response(db, response_id, user_id, at, "submitted")
        response_store.mark_submitted(db, response_id, user_id, at)
        approvals.clear_decision(db, response, user_id, "resubmitted")  # a new submission
        return SaveResult(response_id, response["version"] + 1, at, changed, "submitted")


def _save_previous_year(db: Database, response: dict, posted: Mapping[str, str] | None,
                        user_id: int | None) -> dict[str, str]:
    if posted is None or response["audience"] != "department":
        return {}
    return save_previous_year(db, response["round_id"], response["department_code"], posted,
                              user_id)


def _require_previous_year(db: Database, response: dict, posted: Mapping[str, str] | None,
                           user_id: int | None) -> None:
    if response["audience"] != "department":
        return
    errors = {**_save_previous_year(db, response, posted, user_id),
              **previous_year_errors(db, response["round_id"], response["department_code"])}
    if errors:
        raise Invalid(PREVIOUS_YEAR_INCOMPLETE, errors=errors)


def _editable(db: Database, response_id: int, expected_version: int,
              questionnaire: Questionnaire | None) -> tuple[dict, Questionnaire]:
    response = get_response(db, response_id)
    if response["round_status"] != "open":
        raise Locked(ROUND_NOT_OPEN)
    if response["status"] not in EDITABLE:
        raise Locked(LOCKED)
    questionnaire = questionnaire or definition_for(db, response)
    if response["version"] != expected_version:
        raise _conflict(db, response, questionnaire)
    return response, questionnaire


def _conflict(db: Database, response: dict, questionnaire: Questionnaire) -> Conflict:
    answers, evidence = load_answers(db, response["id"], questionnaire)
    return Conflict(CONFLICT, current=StoredResponse(
        response["version"], answers, evidence, response["updated_at"],
        response["updated_by"]))


def validate_values(questionnaire: Questionnaire, answers: Answers) -> None:
    """Raise `Invalid` (per field) unless every value is one its question type would store
    (the web forms coerce first; this guards every other caller)."""
    errors = {}
    for question_id, value in answers.items():
        question = questionnaire.question(question_id)
        if question is None or value is None:
            continue
        try:
            kind = question_types.of(question)
            if kind.coerce(question, list(question_types.as_tuple(value))) != value:
                errors[f"q_{question_id}"] = Message(N_("%(question)s: 保存できない値です。"),
                                                     question=question_id)
        except question_types.InvalidAnswer as error:
            errors[f"q_{question_id}"] = Message(N_("%(question)s: %(reason)s"),
                                                 question=question_id,
                                                 reason=Message.of(error))
    if errors:
        raise Invalid(INVALID_VALUES, errors=errors)


def _merged(questionnaire: Questionnaire, audience: str, stored_rows: list[dict],
            answers: Answers, evidence: Evidence) -> tuple[Answers, Evidence]:
    """The stored answers and notes (`stored_rows`) with `answers`/`evidence` laid over
    them; raises `Invalid` for a value its question would not store."""
    validate_values(questionnaire, answers)
    stored, notes = parse_rows(questionnaire, stored_rows)
    mine = {q.id for q in questionnaire.questions_for(audience)}
    stored.update({k: v for k, v in answers.items() if k in mine})
    notes.update({k: _clean_note(v) for k, v in evidence.items() if k in mine})
    return stored, notes


def _clean_note(note: str | None) -> str | None:
    return (note or "").strip()[:MAX_EVIDENCE_LENGTH] or None


def _write(db: Database, response: dict, questionnaire: Questionnaire, answers: Answers,
           evidence: Evidence, user_id: int | None, at: str,
           stored_rows: list[dict] | None = None,
           merged: tuple[Answers, Evidence] | None = None) -> tuple[str, ...]:
    """Write rows that differ from the stored ones; history for changed value/evidence.

    Scores are recomputed for every stored answer, because a changed answer can make
    another question relevant or not. A caller that has read the stored rows and merged
    them (`submit`) passes both, so they are read and validated once.
    """
    if stored_rows is None:
        stored_rows = response_store.list_answers(db, response["id"])
    merged, notes = merged or _merged(questionnaire, response["audience"], stored_rows,
                                      answers, evidence)
    stored = {row["question_id"]: row for row in stored_rows}
    written, history = [], []
    for row in answer_rows(questionnaire, merged, notes):
        old = stored.get(row["question_id"])
        if _differs(old, row):
            written.append(row)
        if _content_changed(old, row):
            history.append(_change(old, row))
    response_store.upsert_answers(db, response["id"], written, at)
    response_store.insert_history_rows(db, response["id"], history, user_id, at)
    return tuple(change["question_id"] for change in history)


def _differs(old: dict | None, row: dict) -> bool:
    if old is None:
        return row["value"] is not None or row["evidence"] is not None
    return any(old[key] != row[key] for key in ("value", "score", "max_score", "evidence"))


def _content_changed(old: dict | None, row: dict) -> bool:
    old = old or {"value": None, "evidence": None}
    return old["value"] != row["value"] or old["evidence"] != row["evidence"]


def _change(old: dict | None, row: dict) -> dict:
    old = old or {}
    return {"question_id": row["question_id"], "old_value": old.get("value"),
            "new_value": row["value"], "old_evidence": old.get("evidence"),
            "new_evidence": row["evidence"]}


def reopen(db: Database, response_id: int, user_id: int, reason: str) -> SaveResult:
    """An admin unlocks a submitted response; the reason goes to the audit log. An
    approval of the submission no longer applies (`response.approval_cleared`)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(REASON_REQUIRED)
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(REASON_TOO_LONG, n=MAX_REASON_LENGTH)
    with store.transaction(db):
        _require_admin(db, user_id)
        response = get_response(db, response_id)
        if response["status"] != "submitted":
            raise Locked(NOT_SUBMITTED)
        at = store.now()
        response_store.touch_response(db, response_id, user_id, at, "reopened")
        audit.record(db, user_id, "response.reopen", "response", response_id, reason=reason,
                     department_code=response["department_code"],
                     round_id=response["round_id"])
        approvals.clear_decision(db, response, user_id, reason)  # approve again (§10)
        return SaveResult(response_id, response["version"] + 1, at, (), "reopened")


def _require_admin(db: Database, user_id: int) -> None:
    user = user_store.get_user(db, user_id)
    if user is None or user["role"] != "admin" or not user["active"]:
        raise Denied(ADMIN_ONLY)


def submit_staff_response(db: Database, round_id: int, department_code: str,
                          questionnaire: Questionnaire, answers: Answers) -> int:
    """Store one anonymous staff response, submitted at once; returns its id.

    Raises `Locked` (round not open), `NotFound` (no such round) or `Invalid`
    (unusable values, or missing answers: `errors` maps fields to error codes).
    """
    staff = {q.id for q in questionnaire.questions_for("staff")}
    answers = {k: v for k, v in answers.items() if k in staff}
    validate_values(questionnaire, answers)
    errors = submission_errors(questionnaire, "staff", answers, {})
    if errors:
        raise Invalid(INCOMPLETE, errors=errors)
    with store.transaction(db):
        _open_round(db, round_id)
        # Anonymity: staff rows keep only the day, never the moment of submission.
        at = store.start_of_day()
        response_id = response_store.insert_response(db, round_id, department_code, "staff",
                                                     None, status="submitted", at=at)
        written = [row for row in answer_rows(questionnaire, answers, {})
                   if row["value"] is not None]
        response_store.upsert_answers(db, response_id, written, at)
        response_store.insert_history_rows(db, response_id,
                                           [_change(None, row) for row in written], None, at)
        return response_id
