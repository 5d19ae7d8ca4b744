"""Last year's answers on this year's form: the sections a 所属 confirmed "前年どおり確認
した", and the answers' carry-over marks read per round (DESIGN.md §13)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import rows


def confirmed_sections(db: Database, response_id: int) -> list[str]:
    return [row["section_id"] for row in rows(
        db, "SELECT section_id FROM section_confirmations WHERE response_id = ? "
        "ORDER BY section_id", (response_id,))]


def confirm_sections(db: Database, response_id: int, section_ids: Iterable[str],
                     user_id: int | None, at: str) -> None:
    db.conn.executemany(
        "INSERT INTO section_confirmations (response_id, section_id, confirmed_at, "
        "confirmed_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(response_id, section, at, user_id) for section in section_ids])


def unconfirm_sections(db: Database, response_id: int, section_ids: Iterable[str]) -> None:
    db.conn.executemany("DELETE FROM section_confirmations WHERE response_id = ? "
                        "AND section_id = ?", [(response_id, s) for s in section_ids])


def round_answers(db: Database, round_id: int, audience: str,
                  codes: Iterable[str] | None = None) -> list[dict]:
    """Every answer of the round's responses of `audience` (of the 所属 `codes` only,
    when given): 所属, question, value and the carry-over marks, for the re-confirmed
    versus changed figures."""
    return rows(db, "SELECT responses.id AS response_id, responses.department_code, "
                "responses.status, answers.question_id, answers.value, answers.copied, "
                "answers.reconfirmed FROM answers "
                "JOIN responses ON responses.id = answers.response_id "
                "WHERE responses.round_id = :round_id AND responses.audience = :audience "
                "AND (:codes IS NULL OR responses.department_code IN "
                "(SELECT value FROM json_each(:codes))) "
                "ORDER BY responses.department_code, answers.question_id",
                {"round_id": round_id, "audience": audience,
                 "codes": None if codes is None else json.dumps(list(codes))})


def answer_marks(db: Database, response_id: int) -> dict[str, dict]:
    """{question id: {copied, reconfirmed}} of the response's marked answers."""
    return {row["question_id"]: row for row in rows(
        db, "SELECT question_id, copied, reconfirmed FROM answers WHERE response_id = ? "
        "AND (copied = 1 OR reconfirmed = 1)", (response_id,))}


def set_marks(db: Database, response_id: int, question_ids: Iterable[str], copied: bool,
              reconfirmed: bool) -> None:
    """Mark answers as copied from last year and/or re-confirmed (the demo's loader;
    a save works the marks out itself, services/carry_over.py)."""
    db.conn.executemany(
        "UPDATE answers SET copied = ?, reconfirmed = ? WHERE response_id = ? "
        "AND question_id = ?",
        [(int(copied), int(reconfirmed), response_id, q) for q in question_ids])
