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

from surveyapp import evidence as evidence_rules
from surveyapp import store
from surveyapp.model import N_, AnswerValue, Question, Questionnaire
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.answers import Answers, Evidence, stored_answers
from surveyapp.readmodels.definitions import get_definition
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound
from surveyapp.services import approvals, attachments, audit, carry_over
from surveyapp.services.answer_rows import (
    EvidenceInput,
    answer_rows,
    apply_write,
    as_evidence,
    merged_answers,
    new_rows_history,
    plan_write,
    validate_values,
)
from surveyapp.services.previous_year import previous_year_errors, save_previous_year
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store

__all__ = ["Answers", "Evidence", "answer_rows", "validate_values"]  # shared with callers

EDITABLE = ("draft", "reopened")
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
    # Each system block's stored answers and evidence, by system code (services/self_check).
    systems: Mapping[str, tuple[Answers, Evidence]] = field(default_factory=dict)


@dataclass(frozen=True)
class SaveResult:
    response_id: int
    version: int
    saved_at: str
    changed: tuple[str, ...] = field(default=())
    status: str = "draft"
    previous_year_errors: Mapping[str, str] = field(default_factory=dict)
    copied: tuple[str, ...] = ()  # answers copied from last year by this save


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
    """The stored answers and their evidence (note, location, date) as model values."""
    if questionnaire is None:
        questionnaire = definition_for(db, get_response(db, response_id))
    return stored_answers(db, response_id, questionnaire)


def submission_errors(questionnaire: Questionnaire, audience: str,
                      answers: Mapping[str, AnswerValue | None],
                      evidence: EvidenceInput) -> dict[str, str]:
    """Field name -> error code for what blocks a submission.

    Only relevant questions count: a required question hidden by its `relevant`
    expression is not required. Required evidence (a note or a location, and a date:
    evidence.py `missing`) is asked for an answered question unless the chosen answer
    is not applicable (該当なし).
    """
    errors = {}
    for question in questionnaire.questions_for(audience):
        if not question.is_relevant(answers):
            continue
        value = answers.get(question.id)
        if question.required and value in (None, "", ()):
            errors[f"q_{question.id}"] = "required"
        elif _needs_evidence(question, value):
            for code in evidence_rules.missing(as_evidence(evidence.get(question.id))):
                errors[EVIDENCE_FIELDS[code] + question.id] = code
    return errors


# Which field of the form each missing part of required evidence points at.
EVIDENCE_FIELDS = {evidence_rules.NOTE_OR_LOCATION: "e_", evidence_rules.DATE: "ed_"}


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
               evidence: EvidenceInput, user_id: int | None,
               questionnaire: Questionnaire | None = None,
               previous_year: Mapping[str, str] | None = None,
               files: attachments.Changes | None = None,
               carry: carry_over.CarryInput | None = None) -> SaveResult:
    """Store the changed answers of an editable response; raises `Conflict` when the
    stored version is not `expected_version`, `Locked` when the response or its round
    cannot change, `Invalid` for a value, evidence or file that cannot be stored. A key
    missing from `answers`/`evidence` leaves that stored answer as it is; a None value
    clears it (and is recorded).

    `previous_year` is what the form posted for its 前年度の改善状況 block (the previous
    round's improvement items): stored in the same transaction as the answers, so both
    are saved or neither; `SaveResult.previous_year_errors` names the block's values
    that could not be stored (services/previous_year.py `save_previous_year`).
    `files` adds and removes attachments (services/attachments.py), `carry` copies last
    year's answers and records the confirmed sections (services/carry_over.py), both in
    the same transaction."""
    with store.transaction(db):
        response, questionnaire = editable_response(db, response_id, expected_version,
                                                    questionnaire)
        at = store.now()
        stored = response_store.list_answers(db, response_id)
        merged = merged_answers(questionnaire, response["audience"], stored, answers, evidence)
        plan = plan_write(db, response, questionnaire, stored, merged, carry)
        changed = apply_write(db, response, questionnaire, plan, user_id, at, files)
        block_errors = _save_previous_year(db, response, previous_year, user_id)
        version = response["version"]
        if changed or plan.carry.sections != plan.carry.sections_before:
            response_store.touch_response(db, response_id, user_id, at)
            version += 1  # nothing new: the version stays, so idle saves never conflict
        return SaveResult(response_id, version, at, changed, response["status"],
                          block_errors, tuple(sorted(plan.carry.copied_now)))


def submit(db: Database, response_id: int, expected_version: int, answers: Answers,
           evidence: EvidenceInput, user_id: int | None,
           questionnaire: Questionnaire | None = None,
           previous_year: Mapping[str, str] | None = None,
           carry: carry_over.CarryInput | None = None) -> SaveResult:
    """Validate the whole response and lock it (status submitted); atomic. Raises as
    `save_draft`, and `Invalid` when something is missing: first the 前年度の改善状況
    block (its `errors` {field: message}: every open item of the previous round needs a
    status and a progress note; `previous_year` is stored first, as by `save_draft`),
    then the answers (`errors` {field: error code} of `submission_errors`, and for each
    section holding an answer copied from last year and not confirmed, `confirm_<section>`
    with its message). `carry` records the confirmed sections; it never copies."""
    carry = carry and carry_over.CarryInput(confirmed=carry.confirmed)
    with store.transaction(db):
        response, questionnaire = editable_response(db, response_id, expected_version,
                                                    questionnaire)
        _require_previous_year(db, response, previous_year, user_id)
        stored = response_store.list_answers(db, response_id)
        merged = merged_answers(questionnaire, response["audience"], stored, answers, evidence)
        plan = plan_write(db, response, questionnaire, stored, merged, carry)
        errors = {**submission_errors(questionnaire, response["audience"], plan.answers,
                                      plan.evidence),
                  **carry_over.unconfirmed(plan.rows, plan.carry)}
        if errors:
            raise Invalid(INCOMPLETE, errors=errors)
        at = store.now()
        changed = apply_write(db, response, questionnaire, plan, user_id, at)
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


def editable_response(db: Database, response_id: int, expected_version: int,
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
        response_store.set_system_status(db, response, "reopened", user_id, at)
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
        response_store.insert_history_rows(db, response_id, new_rows_history(written), None,
                                           at)
        return response_id
