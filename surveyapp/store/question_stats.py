"""Per-question answer counts for the results pages (readmodels/results_view.py).

`store.results.choice_counts` counts each stored value; a multi_choice answer holds
several values, so the number of people who answered it needs a count of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import rows


def answer_counts(db: Database, round_id: int, audience: str, question_ids: Iterable[str],
                  codes: Iterable[str] | None = None) -> dict[str, int]:
    """{question id: submitted answers with a value} over the listed questions."""
    found = rows(db, """
        SELECT answers.question_id, COUNT(*) AS n
        FROM answers JOIN responses ON responses.id = answers.response_id
        WHERE responses.round_id = :round_id AND responses.audience = :audience
          AND responses.status = 'submitted' AND answers.value IS NOT NULL
          AND answers.question_id IN (SELECT value FROM json_each(:question_ids))
          AND (:codes IS NULL OR responses.department_code IN
               (SELECT value FROM json_each(:codes)))
        GROUP BY answers.question_id""",
        {"round_id": round_id, "audience": audience,
         "question_ids": json.dumps(list(question_ids)),
         "codes": None if codes is None else json.dumps(list(codes))})
    return {row["question_id"]: row["n"] for row in found}
