"""Last year's answers on this year's form (DESIGN.md §13), the write side: copying them
into empty questions, and recording what the 所属 confirmed.

- The form's copy button fills every empty question whose previous answer may be
  copied (readmodels/previous_answers.py) with that answer and the parts of its
  evidence still empty; those answers are marked `copied` until someone changes them.
- Per section the 所属 ticks "前年どおり確認した" (`section_confirmations`). An answer
  in a confirmed section that equals last year's is marked `reconfirmed`.
- A copied answer must be confirmed before submission: `unconfirmed` names each
  section that still holds one (services/responses.py `submit` refuses).
Marks are worked out on every save from the stored marks, what changed and the
confirmed sections, inside the save's transaction (services/answer_rows.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlite_utils import Database

from surveyapp import question_types
from surveyapp.evidence import AnswerEvidence
from surveyapp.model import N_, AnswerValue, Message, Questionnaire
from surveyapp.readmodels.previous_answers import PreviousResponse, previous_response
from surveyapp.services import audit
from surveyapp.store import carry_over as carry_store

UNCONFIRMED = N_("この分野には前年の回答をコピーしたまま確認していない設問があります"
                 "（%(questions)s）。内容を確認して「前年どおり確認した」にチェックするか、"
                 "回答を修正してください。")


@dataclass(frozen=True)
class CarryInput:
    """What the form says about last year's answers: the copy button was pressed, and
    which sections are ticked (None: the form had no such boxes, nothing changes)."""

    copy: bool = False
    confirmed: frozenset[str] | None = None


@dataclass
class Outcome:
    """A save's answers after copying, and what the marks are worked out from."""

    answers: dict[str, AnswerValue | None] = field(default_factory=dict)
    evidence: dict[str, AnswerEvidence | None] = field(default_factory=dict)
    copied_now: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()  # confirmed after the save
    sections_before: frozenset[str] = frozenset()
    previous: Mapping[str, str | None] = field(default_factory=dict)  # comparable only
    section_of: Mapping[str, str] = field(default_factory=dict)


def prepare(db: Database, response: Mapping, questionnaire: Questionnaire,
            answers: dict[str, AnswerValue | None], evidence: dict[str, AnswerEvidence | None],
            carry: CarryInput | None) -> Outcome:
    """The save's answers with last year's copied in (when asked), and the sections
    confirmed after it."""
    before = frozenset(carry_store.confirmed_sections(db, response["id"]))
    confirmed = before if carry is None or carry.confirmed is None else carry.confirmed
    outcome = Outcome(dict(answers), dict(evidence), sections=confirmed, sections_before=before,
                      section_of={q.id: q.section_id for q in questionnaire.questions})
    earlier = previous_of(db, response, questionnaire)
    if earlier is None:
        return replace(outcome, sections=frozenset())
    outcome.previous = {question_id: found.stored_text
                        for question_id, found in earlier.answers.items() if found.comparable}
    if carry is not None and carry.copy:
        outcome.copied_now = copy_into(earlier, questionnaire, response["audience"], outcome)
    return outcome


def previous_of(db: Database, response: Mapping,
                questionnaire: Questionnaire) -> PreviousResponse | None:
    return previous_response(db, response["round_id"], response["department_code"],
                             questionnaire, response["audience"], response.get("system_code"))


def copy_into(earlier: PreviousResponse, questionnaire: Questionnaire, audience: str,
              outcome: Outcome) -> frozenset[str]:
    """Fill the empty questions that have a copyable answer; returns their ids."""
    copied = set()
    for question in questionnaire.questions_for(audience):
        if not question_types.is_empty(outcome.answers.get(question.id)):
            continue
        value = earlier.copyable(question)
        if value is None:
            continue
        outcome.answers[question.id] = value
        found = earlier.get(question.id)
        outcome.evidence[question.id] = fill_empty(outcome.evidence.get(question.id),
                                                   found.evidence[0] if found else None)
        copied.add(question.id)
    return frozenset(copied)


def fill_empty(mine: AnswerEvidence | None, theirs: AnswerEvidence | None) -> AnswerEvidence:
    mine, theirs = mine or AnswerEvidence(), theirs or AnswerEvidence()
    return AnswerEvidence(mine.note or theirs.note, mine.location or theirs.location,
                          mine.date or theirs.date)


def mark(row: dict, old: Mapping | None, outcome: Outcome, content_changed: bool) -> None:
    """Set a row's `copied` and `reconfirmed` marks."""
    question_id = row["question_id"]
    row["copied"] = question_id in outcome.copied_now or bool(
        old and old.get("copied") and not content_changed)
    previous = outcome.previous.get(question_id)
    row["reconfirmed"] = (outcome.section_of.get(question_id) in outcome.sections
                          and previous is not None and row["value"] == previous)


def unconfirmed(rows: list[dict], outcome: Outcome) -> dict[str, Message]:
    """{`confirm_<section>`: why} for each section holding a copied answer that the
    section's confirmation does not cover."""
    waiting: dict[str, list[str]] = {}
    for row in rows:
        section = outcome.section_of.get(row["question_id"])
        if row.get("copied") and section not in outcome.sections:
            waiting.setdefault(section, []).append(row["question_id"])
    return {f"confirm_{section}": Message(UNCONFIRMED, questions=", ".join(ids))
            for section, ids in waiting.items()}


def record(db: Database, response: Mapping, outcome: Outcome, user_id: int | None,
           at: str) -> None:
    """Store the confirmed sections and log the copy and the confirmations."""
    added = outcome.sections - outcome.sections_before
    removed = outcome.sections_before - outcome.sections
    carry_store.confirm_sections(db, response["id"], sorted(added), user_id, at)
    carry_store.unconfirm_sections(db, response["id"], sorted(removed))
    if outcome.copied_now:
        audit.record(db, user_id, "response.copy_previous", "response", response["id"],
                     questions=sorted(outcome.copied_now), round_id=response["round_id"],
                     department_code=response["department_code"])
    if added or removed:
        audit.record(db, user_id, "response.confirm_previous", "response", response["id"],
                     confirmed=sorted(added), withdrawn=sorted(removed),
                     round_id=response["round_id"],
                     department_code=response["department_code"])


def unconfirmed_stored(db: Database, response_id: int,
                       questionnaire: Questionnaire) -> dict[str, Message]:
    """`unconfirmed` of what is stored: the form's 提出 asks it before showing the
    confirmation page."""
    rows = [{"question_id": question_id, "copied": marks["copied"]}
            for question_id, marks in carry_store.answer_marks(db, response_id).items()]
    return unconfirmed(rows, Outcome(
        sections=frozenset(carry_store.confirmed_sections(db, response_id)),
        section_of={q.id: q.section_id for q in questionnaire.questions}))
