"""Streaming reads for exports: rows come straight off the cursor, one at a time, so an
export of millions of answers never holds them all in memory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from sqlite_utils import Database

# Staff responses are always submitted; the check keeps an unfinished one out anyway.
# Rows without a value and without any evidence are cleared answers, not answers. The
# named audiences (a 所属's own answers and its systems', `:named`) are always in; the
# anonymous staff rows only `:with_staff`.
# `attachments`: the answer's current attachments, sha256 values in the order added.
ANSWERS_SQL = """
    SELECT rounds.fiscal_year, rounds.id AS round_id, rounds.questionnaire_id,
           rounds.version, responses.department_code, departments.name AS department_name,
           responses.audience, responses.id AS response_id, responses.status,
           responses.submitted_at, answers.question_id, answers.value, answers.score,
           answers.max_score, answers.evidence, responses.system_code,
           answers.evidence_location, answers.evidence_date,
           (SELECT group_concat(sha256, ';') FROM (
                SELECT sha256 FROM answer_attachments
                WHERE answer_attachments.response_id = answers.response_id
                  AND answer_attachments.question_id = answers.question_id
                  AND answer_attachments.removed_at IS NULL
                ORDER BY answer_attachments.id)) AS attachments
    FROM answers
    JOIN responses ON responses.id = answers.response_id
    JOIN rounds ON rounds.id = responses.round_id
    JOIN departments ON departments.code = responses.department_code
    WHERE (:round_id IS NULL OR responses.round_id = :round_id)
      AND (:department_code IS NULL OR responses.department_code = :department_code)
      AND (responses.audience IN (SELECT value FROM json_each(:named))
           OR (:with_staff AND responses.status = 'submitted'))
      AND (answers.value IS NOT NULL OR answers.evidence IS NOT NULL
           OR answers.evidence_location IS NOT NULL OR answers.evidence_date IS NOT NULL
           OR EXISTS (SELECT 1 FROM answer_attachments
                      WHERE answer_attachments.response_id = answers.response_id
                        AND answer_attachments.question_id = answers.question_id
                        AND answer_attachments.removed_at IS NULL))
    ORDER BY rounds.fiscal_year, rounds.id, responses.audience, responses.department_code,
             responses.system_code, responses.id, answers.question_id"""


def iter_answers(db: Database, round_id: int | None, department_code: str | None,
                 with_staff: bool, named: Iterable[str]) -> Iterator[dict]:
    """Answer rows of one round (None: every round), by audience.

    `department_code` limits them to one 所属; `named` are the audiences always
    included; `with_staff` False leaves the others (staff) out.
    """
    yield from db.query(ANSWERS_SQL, {"round_id": round_id,
                                      "department_code": department_code,
                                      "with_staff": int(with_staff),
                                      "named": json.dumps(list(named))})
