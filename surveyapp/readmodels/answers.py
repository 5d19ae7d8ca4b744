"""A response's stored answers as model values: what the self-check form, its Excel
download, the answer exports' checks and the audit verification read (both sides)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp import question_types
from surveyapp.model import AnswerValue, Questionnaire
from surveyapp.store import responses as response_store

Answers = dict[str, AnswerValue | None]
Evidence = dict[str, str]


def stored_answers(db: Database, response_id: int,
                   questionnaire: Questionnaire) -> tuple[Answers, Evidence]:
    """The response's answers (parsed by their question's type) and evidence notes."""
    return parse_rows(questionnaire, response_store.list_answers(db, response_id))


def parse_rows(questionnaire: Questionnaire, rows: Iterable[dict]) -> tuple[Answers, Evidence]:
    """Stored answer rows as (answers, evidence notes)."""
    answers: Answers = {}
    evidence: Evidence = {}
    for row in rows:
        answers[row["question_id"]] = _parsed(questionnaire, row)
        if row["evidence"]:
            evidence[row["question_id"]] = row["evidence"]
    return answers, evidence


def _parsed(questionnaire: Questionnaire, row: dict) -> AnswerValue | None:
    question = questionnaire.question(row["question_id"])
    if row["value"] is None or question is None:
        return row["value"]
    return question_types.of(question).from_text(question, row["value"]) or None
