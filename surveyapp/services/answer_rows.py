"""How a response's answers become stored rows, and how a save writes them: the part
of services/responses.py that `save_draft`, `submit`, the Excel round trip and the demo
share.

A save is planned first (`plan_write`: the stored rows with the posted input laid over
them, last year's answers copied into empty ones, the carry-over marks, the history
each change leaves) and written second (`apply_write`: rows, attachments, section
confirmations, history), both inside the caller's transaction, so `submit` can refuse
on what the plan would store before anything is written.

Evidence is an `evidence.AnswerEvidence` (note, location, date) per question; a plain
string is taken as a note, as callers before DESIGN.md §13 passed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import evidence as evidence_rules
from surveyapp import question_types, scoring
from surveyapp.evidence import AnswerEvidence, InvalidEvidence
from surveyapp.model import N_, AnswerValue, Message, Question, Questionnaire
from surveyapp.readmodels.answers import Answers, Evidence, parse_rows
from surveyapp.refusals import Invalid
from surveyapp.services import attachments, carry_over
from surveyapp.store import responses as response_store

EvidenceInput = Mapping[str, AnswerEvidence | str | None]

INVALID_VALUES = N_("保存できない値が含まれています。入力内容を確認してください。")
CONTENT = ("value", "evidence", "evidence_location", "evidence_date")


def as_evidence(value: AnswerEvidence | str | None) -> AnswerEvidence | None:
    """A note given as text is the evidence's note; empty evidence is None."""
    return evidence_rules.as_record(value) or None


# --- rows ------------------------------------------------------------------------------


def answer_rows(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue | None],
                evidence: EvidenceInput,
                context: Mapping[str, AnswerValue | None] | None = None) -> list[dict]:
    """The stored rows for `answers` (+ evidence): value text, `s`, `m`, evidence.

    One row per question of the definition named in either mapping. A question that is
    not relevant keeps its value but gets no score (DESIGN.md §4); an unknown id is
    dropped; a question that takes no evidence stores none. `context`: other answers its
    `relevant` may read (a system block's 所属, services/self_check.py).
    """
    scores = scoring.stored_scores(questionnaire, dict(answers), context)
    result = []
    for question in questionnaire.questions:
        if question.id in answers or question.id in evidence:
            result.append(_row(question, answers.get(question.id),
                               as_evidence(evidence.get(question.id)),
                               scores.get(question.id)))
    return result


def _row(question: Question, value: AnswerValue | None, found: AnswerEvidence | None,
         score: tuple[float | None, float | None] | None) -> dict:
    points, maximum = score or (None, question.max_score)
    empty = value in (None, "", ())
    kept = found if found and question.evidence != "none" else evidence_rules.NONE
    return {"question_id": question.id,
            "value": None if empty else question_types.of(question).to_text(value),
            "score": None if empty else points,
            "max_score": maximum, **kept.columns()}


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


def clean_evidence(posted: EvidenceInput) -> Evidence:
    """The posted evidence checked as the web form checks it (length, characters, a
    real date not in the future): raises `Invalid` naming each bad field."""
    cleaned, errors = {}, {}
    for question_id, value in posted.items():
        try:
            cleaned[question_id] = checked_evidence(as_evidence(value))
        except InvalidEvidence as error:
            errors[f"e_{question_id}"] = Message(N_("%(question)s: %(reason)s"),
                                                 question=question_id,
                                                 reason=Message.of(error))
    if errors:
        raise Invalid(INVALID_VALUES, errors=errors)
    return cleaned


def checked_evidence(found: AnswerEvidence | None) -> AnswerEvidence | None:
    if found is None:
        return None
    checked = AnswerEvidence(
        evidence_rules.clean_text(found.note, evidence_rules.MAX_NOTE_LENGTH),
        evidence_rules.clean_text(found.location, evidence_rules.MAX_LOCATION_LENGTH),
        evidence_rules.parse_date(found.date))
    return checked or None


def merged_answers(questionnaire: Questionnaire, audience: str, stored_rows: list[dict],
                   answers: Answers, evidence: EvidenceInput) -> tuple[Answers, Evidence]:
    """The stored answers and evidence (`stored_rows`) with `answers`/`evidence` laid
    over them; raises `Invalid` for a value its question would not store."""
    return overlaid(questionnaire, audience, parse_rows(questionnaire, stored_rows),
                    answers, evidence)


def overlaid(questionnaire: Questionnaire, audience: str, stored: tuple[Answers, Evidence],
             answers: Answers, evidence: EvidenceInput) -> tuple[Answers, Evidence]:
    """`merged_answers` over answers and evidence already read (a system block's)."""
    validate_values(questionnaire, answers)
    posted = clean_evidence(evidence)
    mine = {q.id for q in questionnaire.questions_for(audience)}
    return ({**stored[0], **{k: v for k, v in answers.items() if k in mine}},
            {**stored[1], **{k: v for k, v in posted.items() if k in mine}})


# --- planning and writing a save -------------------------------------------------------------


@dataclass
class Plan:
    """What a save will store: the merged answers and evidence, every row with its
    carry-over marks, and the stored rows it is compared with."""

    answers: Answers
    evidence: Evidence
    rows: list[dict]
    stored: dict[str, dict]
    carry: carry_over.Outcome = field(default_factory=carry_over.Outcome)

    def changed(self, row: dict) -> bool:
        old = self.stored.get(row["question_id"])
        if old is None:
            return any(row[key] is not None for key in CONTENT) or bool(row.get("copied"))
        return any(old[key] != row[key] for key in response_store.ANSWER_COLUMNS)

    def content_changed(self, row: dict) -> bool:
        old = self.stored.get(row["question_id"]) or {}
        return any(old.get(key) != row[key] for key in CONTENT)


def plan_write(db: Database, response: dict, questionnaire: Questionnaire,
               stored_rows: list[dict], merged: tuple[Answers, Evidence],
               carry: carry_over.CarryInput | None = None,
               context: Mapping[str, AnswerValue | None] | None = None) -> Plan:
    """The save's rows; with `carry`, last year's answers copied into empty questions
    (the form's copy button) and the marks of copied and re-confirmed answers.
    `context`: other answers `relevant` may read (a system block's 所属)."""
    answers, notes = merged
    stored = {row["question_id"]: row for row in stored_rows}
    outcome = carry_over.prepare(db, response, questionnaire, answers, notes, carry)
    rows = answer_rows(questionnaire, outcome.answers, outcome.evidence, context)
    plan = Plan(outcome.answers, outcome.evidence, rows, stored, outcome)
    for row in rows:
        carry_over.mark(row, stored.get(row["question_id"]), outcome,
                        plan.content_changed(row))
    return plan


def apply_write(db: Database, response: dict, questionnaire: Questionnaire, plan: Plan,
                user_id: int | None, at: str,
                files: attachments.Changes | None = None) -> tuple[str, ...]:
    """Write the planned rows that changed, the attachments and section confirmations,
    and a history row for each answer whose content or attachments changed; returns
    the ids of those answers."""
    attached = attachments.apply(db, response, questionnaire, files, user_id, at)
    written, history = [], []
    for row in plan.rows:
        moved = attached.get(row["question_id"])
        if plan.changed(row) or moved:
            written.append(row)
        if plan.content_changed(row) or moved:
            history.append(_change(plan.stored.get(row["question_id"]), row, moved))
    written += [_empty_row(questionnaire, question_id) for question_id in attached
                if question_id not in {row["question_id"] for row in plan.rows}
                and question_id not in plan.stored]
    history += [_change(None, _empty_row(questionnaire, question_id), moved)
                for question_id, moved in attached.items()
                if question_id not in {row["question_id"] for row in plan.rows}]
    response_store.upsert_answers(db, response["id"], written, at)
    response_store.insert_history_rows(db, response["id"], history, user_id, at)
    carry_over.record(db, response, plan.carry, user_id, at)
    return tuple(change["question_id"] for change in history)


def _empty_row(questionnaire: Questionnaire, question_id: str) -> dict:
    question = questionnaire.question(question_id)
    return _row(question, None, None, None)


def _change(old: dict | None, row: dict, moved: tuple[str, str] | None = None) -> dict:
    old = old or {}
    change = {"question_id": row["question_id"]}
    for key in CONTENT:
        change[f"old_{key}"], change[f"new_{key}"] = old.get(key), row[key]
    if moved:
        change["old_attachments"], change["new_attachments"] = moved
    return change


def new_rows_history(rows: list[dict]) -> list[dict]:
    """The history a set of first answers leaves (a staff response, the demo)."""
    return [_change(None, row) for row in rows]
