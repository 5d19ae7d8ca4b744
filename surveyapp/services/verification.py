"""Audit verification, the write side (DESIGN.md §9): who may do it, the start of
fieldwork, verdicts, finalising a 所属 (drawing and adjusting the sample is
`verification_sampling`).

A round's verification goes planning -> fieldwork. Recording the first verdict (or the
explicit start) begins fieldwork and fixes the sample. Each sampled 所属 is finalised on
its own; it then sees its result, and each discrepancy on a question tagged with
findings opens an improvement item for that 所属 and finding or is added to its open
one (`verification_items`). Every change is one `BEGIN IMMEDIATE` transaction with its
audit-log entry.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import question_types, store
from surveyapp.model import N_, AnswerValue, Message, Question, Questionnaire
from surveyapp.readmodels import aggregate
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.verification import VERDICTS
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound
from surveyapp.services import audit, verification_items
from surveyapp.store import users as user_store
from surveyapp.store import verification as verification_store

MAX_NOTE_LENGTH = 1000
MAX_REASON_LENGTH = 500
VERIFIERS = ("admin", "auditor")


# --- who may do verification work --------------------------------------------------------


def require_verifier(db: Database, user_id: int | None) -> None:
    """Admins and auditors, active ones; None is the command line's operator."""
    if user_id is None:
        return
    user = user_store.get_user(db, user_id)
    if user is None or user["role"] not in VERIFIERS or not user["active"]:
        raise Denied(N_("検証の作業は情報企画課と監査人だけが行えます。"))


def verifier_id(db: Database, login: str) -> int:
    """The id of the active admin or auditor called `login` (the CLI's --by)."""
    user = user_store.get_user_by_login(db, (login or "").strip())
    if user is None:
        raise NotFound(N_("ユーザー %(login)s が見つかりません。"), login=login)
    require_verifier(db, user["id"])
    return user["id"]


def clean_reason(text: str | None, name: str = "note") -> str:
    """The reason typed for a hand-made change of the sample: required, one line."""
    reason = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not reason:
        message = N_("理由を入力してください。")
        raise Invalid(message, errors={name: Message(message)})
    if len(reason) > MAX_REASON_LENGTH:
        message = N_("理由は%(n)d文字以内で入力してください。")
        raise Invalid(message, errors={name: Message(message, n=MAX_REASON_LENGTH)},
                      n=MAX_REASON_LENGTH)
    return reason


def start_fieldwork(db: Database, round_id: int, user_id: int | None) -> None:
    """Fix the sample: from now on only verdicts are recorded. Idempotent."""
    round_reads.require_round(db, round_id)
    with store.transaction(db):
        require_verifier(db, user_id)
        _start_fieldwork(db, round_id, user_id)


def _start_fieldwork(db: Database, round_id: int, user_id: int | None) -> None:
    plan = verification_store.get_plan(db, round_id)
    if plan is not None and plan["status"] == "fieldwork":
        return
    sampled = [row["department_code"] for row in verification_store.samples(db, round_id)]
    if not sampled:
        raise Invalid(N_("標本に所属がありません。先に抽出してください。"))
    verification_store.start_fieldwork(db, round_id, user_id, store.now())
    audit.record(db, user_id, "verification.fieldwork", "round", round_id, sampled=sampled)


# --- verdicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerdictInput:
    """One verdict as a person gave it; `verified_value` is already a stored value
    (`parse_found` reads typed text)."""

    question_id: str
    verdict: str
    verified_value: AnswerValue | None = None
    note: str = ""
    proof_location: str = ""
    system_code: str | None = None


def parse_found(question: Question, raw: Sequence[str] | str) -> AnswerValue | None:
    """The value found on site as typed (a choice value or label; several separated
    by ';'): raises `question_types.InvalidAnswer` with the reason when it is none of
    the question's choices."""
    kind = question_types.of(question)
    if isinstance(raw, str):
        return kind.from_cell(question, raw)
    return kind.coerce(question, [text for text in raw if text is not None])


def verdict_problems(question: Question, given: VerdictInput,
                     self_value: AnswerValue) -> dict[str, str]:
    """{field: message} of what is wrong with a verdict on an answer; empty when fine."""
    problems: dict[str, str] = {}
    found = given.verified_value
    if given.verdict not in VERDICTS:
        problems["verdict"] = Message(N_("判定は confirmed（確認済み）、discrepancy（相違）、"
                                         "unverifiable（確認不能）のどれかにしてください。"))
    elif given.verdict == "discrepancy" and question_types.is_empty(found):
        problems["verified_value"] = Message(N_("相違のときは、確認した値を入力してください。"))
    elif given.verdict == "discrepancy" and found == self_value:
        problems["verified_value"] = Message(N_("確認した値が自己申告と同じです。"
                                                "確認済みにしてください。"))
    elif given.verdict != "discrepancy" and not question_types.is_empty(found):
        problems["verified_value"] = Message(N_("確認した値は、相違のときだけ入力します。"))
    for name, text in (("note", given.note), ("proof_location", given.proof_location)):
        problem = _text_problem(text)
        if problem:
            problems[name] = problem
    return problems


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return Message(N_("使用できない文字が含まれています。"))
    if len(text) > MAX_NOTE_LENGTH:
        return Message(N_("%(n)d文字以内で入力してください。"), n=MAX_NOTE_LENGTH)
    return None


def clean_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class RecordedVerdict:
    key: tuple[str, str | None]
    version: int
    changed: bool


def record_verdict(db: Database, round_id: int, code: str, given: VerdictInput,
                   user_id: int | None, expected_version: int | None = None,
                   anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN) -> RecordedVerdict:
    """Record (or change) the verdict on one answer of a sampled 所属, from the web.

    `expected_version` is the verdict's version the page showed (0: none yet); when it
    changed since, nothing is written and `Conflict` carries the stored row. Raises
    `NotFound` (round, 所属 not sampled, no such answer), `Locked` (finalised) or
    `Invalid` (with `errors` per field).
    """
    given = _cleaned(given)
    line = answer_line(db, round_id, code, given, anonymity_min)
    problems = verdict_problems(line.question, given, line.value)
    if problems:
        raise Invalid(errors=problems)
    with store.transaction(db):
        require_verifier(db, user_id)
        _require_open_sample(db, round_id, code)
        _start_fieldwork(db, round_id, user_id)
        result = _write_verdict(db, round_id, line, given, user_id, "web", expected_version)
        if result.changed:
            audit.record(db, user_id, "verification.verdict", "department", code,
                         round_id=round_id, question_id=given.question_id,
                         system_code=given.system_code, verdict=given.verdict,
                         verified_value=_stored(line.question, given.verified_value))
        return result


def _cleaned(given: VerdictInput) -> VerdictInput:
    return VerdictInput(given.question_id, given.verdict, given.verified_value,
                        clean_text(given.note), clean_text(given.proof_location),
                        given.system_code or None)


def answer_line(db: Database, round_id: int, code: str, given: VerdictInput,
                anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN) -> figures.AnswerLine:
    """The sampled 所属's answer a verdict is about (`NotFound` when there is none)."""
    round_, questionnaire = round_definition(db, round_id)
    if verification_store.get_sample(db, round_id, code) is None:
        raise NotFound(N_("この所属は標本に入っていません。"))
    lines = figures.department_lines(db, round_.id, code, questionnaire)
    line = next((line for line in lines
                 if line.key == (given.question_id, given.system_code)), None)
    if line is None:
        raise NotFound(N_("この所属の回答に設問 %(id)s はありません。"), id=given.question_id)
    return line


def round_definition(db: Database, round_id: int) -> tuple[round_reads.Round,
                                                            Questionnaire]:
    round_ = round_reads.require_round(db, round_id)
    return round_, get_definition(db, round_.questionnaire_id, round_.version)


def _stored(question: Question, value: AnswerValue | None) -> str | None:
    return None if question_types.is_empty(value) else question_types.of(question).to_text(
        value)


def _require_open_sample(db: Database, round_id: int, code: str) -> None:
    """Inside the caller's transaction: the 所属 is sampled and not finalised yet."""
    sample = verification_store.get_sample(db, round_id, code)
    if sample is None:
        raise NotFound(N_("この所属は標本に入っていません。"))
    if sample["finalised_at"] is not None:
        raise Locked(N_("この所属の検証は確定済みのため、判定を変えられません。"))


def _write_verdict(db: Database, round_id: int, line: figures.AnswerLine,
                   given: VerdictInput, user_id: int | None, via: str,
                   expected_version: int | None) -> RecordedVerdict:
    """Inside the caller's transaction, once `_require_open_sample` and
    `_start_fieldwork` passed: checks the version, then writes."""
    key = {"round_id": round_id, "department_code": line.code,
           "question_id": line.question.id, "system_code": line.system_code}
    stored = verification_store.get_verdict(db, key)
    if expected_version is not None and (stored["version"] if stored else 0) != expected_version:
        raise Conflict(N_("この判定は、画面を開いた後に他の人が記録しました。内容を確かめてから"
                          "記録し直してください。"), current=stored)
    values = {**key, "verdict": given.verdict, "self_value": line.self_text,
              "verified_value": _stored(line.question, given.verified_value),
              "note": given.note, "proof_location": given.proof_location}
    if stored is not None and all(stored[name] == values[name] for name in values):
        return RecordedVerdict(line.key, stored["version"], False)
    at = store.now()
    if stored is None:
        verdict_id = verification_store.insert_verdict(db, values, user_id, at)
    else:
        verdict_id = stored["id"]
        verification_store.update_verdict(db, verdict_id, values, user_id, at)
    verification_store.insert_history(db, verdict_id, values, via, user_id, at)
    return RecordedVerdict(line.key, (stored["version"] + 1) if stored else 1, True)


def record_verdicts(db: Database, round_id: int,
                    changes: Sequence[tuple[figures.AnswerLine, VerdictInput, int | None]],
                    user_id: int | None, detail: Mapping, via: str = "workpaper") -> int:
    """Record many verdicts at once, all or nothing: a workpaper's import, or several
    answers of one 所属 (`via="web"`). Each change names the version it was read
    against (None: whatever is stored). Returns how many changed."""
    changes = [(line, _cleaned(given), version) for line, given, version in changes]
    for line, given, _version in changes:
        problems = verdict_problems(line.question, given, line.value)
        if problems:
            raise Invalid(errors=problems)
    with store.transaction(db):
        require_verifier(db, user_id)
        for code in dict.fromkeys(line.code for line, _given, _version in changes):
            _require_open_sample(db, round_id, code)  # once per 所属, not per answer
        if changes:
            _start_fieldwork(db, round_id, user_id)
        written = [_write_verdict(db, round_id, line, given, user_id, via, version)
                   for line, given, version in changes]
        count = sum(result.changed for result in written)
        action = "verification.import" if via == "workpaper" else "verification.verdict"
        audit.record(db, user_id, action, "round", round_id, verdicts=count, **detail)
        return count


# --- finalising -----------------------------------------------------------------------------


def finalise(db: Database, round_id: int, code: str, user_id: int | None,
             anonymity_min: int = aggregate.DEFAULT_ANONYMITY_MIN
             ) -> verification_items.ItemChanges:
    """Finalise a sampled 所属: its result becomes visible to it, and its discrepancies
    on questions tagged with findings open (or extend) improvement items. Raises
    `NotFound`, `Locked` (already finalised) or `Invalid` (no verdict recorded yet)."""
    round_, questionnaire = round_definition(db, round_id)
    target = verification_items.Target(round_id, round_.fiscal_year, code, questionnaire)
    with store.transaction(db):
        require_verifier(db, user_id)
        sample = verification_store.get_sample(db, round_id, code)
        if sample is None:
            raise NotFound(N_("この所属は標本に入っていません。"))
        if sample["finalised_at"] is not None:
            raise Locked(N_("この所属の検証は既に確定しています。"))
        recorded = verification_store.verdicts(db, round_id, code)
        if not recorded:
            raise Invalid(N_("判定が1件も記録されていないため、確定できません。"))
        verification_store.set_finalised(db, sample["id"], user_id, store.now())
        changes = verification_items.open_items(db, target, recorded, user_id)
        counts = figures.Counts.of(row["verdict"] for row in recorded)
        audit.record(db, user_id, "verification.finalise", "department", code,
                     round_id=round_id, confirmed=counts.confirmed,
                     discrepancies=counts.discrepancies, unverifiable=counts.unverifiable,
                     items_opened=list(changes.opened), items_extended=list(changes.extended))
        return changes


def reopen(db: Database, round_id: int, code: str, reason: str | None,
           user_id: int) -> None:
    """An admin takes back a finalisation (with the reason) so verdicts can change;
    improvement items already opened stay, and a discrepancy is never added twice."""
    reason = clean_reason(reason, "reason")
    round_reads.require_round(db, round_id)
    with store.transaction(db):
        user = user_store.get_user(db, user_id)
        if user is None or user["role"] != "admin" or not user["active"]:
            raise Denied(N_("確定の取り消しは情報企画課だけが行えます。"))
        sample = verification_store.get_sample(db, round_id, code)
        if sample is None or sample["finalised_at"] is None:
            raise Locked(N_("この所属の検証は確定していません。"))
        verification_store.set_finalised(db, sample["id"], None, None)
        audit.record(db, user_id, "verification.reopen", "department", code,
                     round_id=round_id, reason=reason)
