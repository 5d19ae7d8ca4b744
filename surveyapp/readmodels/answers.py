"""Stored answers read back as model values (what the form, the confirmation page and the
department's home show); saving them is services/responses.py."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp import question_types
from surveyapp.model import AnswerValue, Questionnaire
from surveyapp.store import responses as response_store

Answers = dict[str, AnswerValue | None]
Evidence = dict[str, str | None]


def stored_answers(db: Database, response_id: int,
                   questionnaire: Questionnaire) -> tuple[Answers, Evidence]:
    """The stored answers and evidence notes of a response, as model values."""
    return parse_rows(questionnaire, response_store.list_answers(db, response_id))


def parse_rows(questionnaire: Questionnaire, rows: list[dict]) -> tuple[Answers, Evidence]:
    answers: Answers = {}
    evidence: Evidence = {}
    for row in rows:
        answers[row["question_id"]] = parse_value(questionnaire, row)
        if row["evidence"]:
            evidence[row["question_id"]] = row["evidence"]
    return answers, evidence


def parse_value(questionnaire: Questionnaire, row: dict) -> AnswerValue | None:
    question = questionnaire.question(row["question_id"])
    if row["value"] is None or question is None:
        return row["value"]
    return question_types.of(question).from_text(question, row["value"]) or None
