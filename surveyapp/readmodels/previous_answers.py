"""Last year's answer beside each question (DESIGN.md §13): the answers a 所属 gave in
the previous round of the same questionnaire, mapped onto this round's questions
through lineage (lineage.py), with the relation that marks a changed question.

"The previous round" is the latest earlier fiscal year's non-draft round of the
questionnaire (followup_lists.previous_round); the 所属's response there is its own,
or that of a 所属 it replaced (the first of them that answered), when it was submitted.
Only a comparable question (`same`, `reworded`) with one earlier question has a value
that may be copied or counted as re-confirmed; a split, merged or approximate one shows
the earlier answers with its mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import lineage, question_types
from surveyapp.evidence import AnswerEvidence
from surveyapp.model import AnswerValue, Question, Questionnaire
from surveyapp.readmodels import followup_lists
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.answers import parse_rows
from surveyapp.readmodels.definitions import get_definition
from surveyapp.store import responses as response_store

ANSWERED = ("submitted", "reopened")


@dataclass(frozen=True)
class PreviousAnswer:
    """Last year's answer to what this round asks as `question_id`."""

    question_id: str
    relation: str  # lineage: same, reworded, split, merged, approximate
    comparable: bool
    questions: tuple[Question, ...]  # the earlier questions it continues
    values: tuple[AnswerValue | None, ...]  # their answers, one each
    evidence: tuple[AnswerEvidence | None, ...]

    @property
    def changed(self) -> bool:
        """The question is not word for word the one answered last year."""
        return self.relation != lineage.SAME

    @property
    def value(self) -> AnswerValue | None:
        """The one earlier answer of a comparable question (else None)."""
        return self.values[0] if self.comparable and self.values else None

    @property
    def stored_text(self) -> str | None:
        """That answer as the database stores it, to compare with this year's."""
        if question_types.is_empty(self.value):
            return None
        return question_types.of(self.questions[0]).to_text(self.value)

    def copy_for(self, question: Question) -> AnswerValue | None:
        """The value to copy into this year's question, when it is one that question
        would store (a reworded question may have lost a choice)."""
        if question_types.is_empty(self.value):
            return None
        kind = question_types.of(question)
        try:
            copied = kind.coerce(question, list(question_types.as_tuple(self.value)))
        except question_types.InvalidAnswer:
            return None
        return copied if copied == self.value else None

    @property
    def answered(self) -> bool:
        return any(not question_types.is_empty(value) for value in self.values)


@dataclass(frozen=True)
class PreviousResponse:
    round: round_reads.Round
    response_id: int
    department_code: str
    questionnaire: Questionnaire
    answers: Mapping[str, PreviousAnswer]  # by this round's question id

    def get(self, question_id: str) -> PreviousAnswer | None:
        return self.answers.get(question_id)

    def copyable(self, question: Question) -> AnswerValue | None:
        found = self.answers.get(question.id)
        return found.copy_for(question) if found else None


def previous_response(db: Database, round_id: int, department_code: str,
                      questionnaire: Questionnaire, audience: str,
                      system_code: str | None = None) -> PreviousResponse | None:
    """The 所属's answers of the previous round, for this round's questions of
    `audience` (with `system_code`: that system's answers, whoever held them); None
    without a previous round or an answered response there."""
    earlier = followup_lists.previous_round(db, round_id)
    if earlier is None:
        return None
    response = (_answered_system_response(db, earlier.id, system_code) if system_code
                else _answered_response(db, earlier.id, department_code))
    if response is None:
        return None
    before = get_definition(db, earlier.questionnaire_id, earlier.version)
    answers, evidence = parse_rows(before, response_store.list_answers(db, response["id"]))
    mapped = {}
    for question in questionnaire.questions_for(audience):
        match = lineage.match_question(before, question)
        earlier_questions = tuple(q for q in (before.question(i) for i in match.from_ids) if q)
        if earlier_questions:
            mapped[question.id] = PreviousAnswer(
                question.id, match.relation, match.comparable, earlier_questions,
                tuple(answers.get(q.id) for q in earlier_questions),
                tuple(evidence.get(q.id) for q in earlier_questions))
    return PreviousResponse(earlier, response["id"], response["department_code"], before,
                            mapped)


def _answered_response(db: Database, round_id: int, code: str) -> dict | None:
    """The response of `code`, else of the first 所属 it replaced, that was submitted."""
    for candidate in followup_lists.department_scope(db, code):
        found = response_store.find_department_response(db, round_id, candidate)
        if found is not None and found["status"] in ANSWERED:
            return found
    return None


def _answered_system_response(db: Database, round_id: int, system_code: str) -> dict | None:
    found = response_store.find_system_response(db, round_id, system_code)
    return found if found is not None and found["status"] in ANSWERED else None
