"""Answers and their evidence read per round (DESIGN.md §13)."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import rows

# Every submitted answer of one round and audience at full points (実施している) with
# nothing that says what or where its proof is: no note, no location, no attachment
# (evidence.py `documented`; a date alone does not count).
UNDOCUMENTED_FULL_MARKS = """
    SELECT responses.department_code, answers.question_id FROM answers
    JOIN responses ON responses.id = answers.response_id
    WHERE responses.round_id = :round_id AND responses.audience = :audience
      AND responses.status = 'submitted'
      AND answers.max_score > 0 AND answers.score = answers.max_score
      AND TRIM(COALESCE(answers.evidence, '')) = ''
      AND TRIM(COALESCE(answers.evidence_location, '')) = ''
      AND NOT EXISTS (SELECT 1 FROM answer_attachments
                      WHERE answer_attachments.response_id = answers.response_id
                        AND answer_attachments.question_id = answers.question_id
                        AND answer_attachments.removed_at IS NULL)"""


def undocumented_full_marks(db: Database, round_id: int, audience: str) -> list[dict]:
    """(所属, question) of the round's submitted `audience` answers at full points
    without evidence."""
    return rows(db, UNDOCUMENTED_FULL_MARKS, {"round_id": round_id, "audience": audience})
