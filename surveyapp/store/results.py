"""Result aggregates of one round, computed in SQL (GROUP BY over answers x responses).

Only submitted responses count. `r = score / max_score` per answer (DESIGN.md §4); an
answer whose score is NULL (not applicable, not relevant, unanswered) is left out, and
so is one without a positive max (an unscored question). Every function takes an
optional list of 所属 codes so a history, a comparison or the scores kept per 所属
(readmodels/kept.py) read only what they need; the list travels as one JSON parameter
(`:codes`, NULL = every 所属), never spliced into the SQL text, which is why each
statement below is a plain literal. The codes form one list (NULL: every department's
code) rather than `:codes IS NULL OR ...`, so SQLite looks the 所属 up in
`responses_department` instead of reading every response of the round: one 所属 of a
round of two million answers in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import rows


def _params(round_id: int, audience: str, codes: Iterable[str] | None) -> dict:
    return {"round_id": round_id, "audience": audience,
            "codes": None if codes is None else json.dumps(list(codes))}


def department_answer_ratios(db: Database, round_id: int,
                             codes: Iterable[str] | None = None) -> list[dict]:
    """`{department_code, question_id, ratio}` of each 所属's submitted department response."""
    return rows(db, """
        SELECT responses.department_code, answers.question_id,
               answers.score / answers.max_score AS ratio
        FROM answers JOIN responses ON responses.id = answers.response_id
        WHERE responses.round_id = :round_id AND responses.audience = :audience
          AND responses.status = 'submitted'
          AND answers.score IS NOT NULL AND answers.max_score > 0
          AND responses.department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        ORDER BY responses.department_code, answers.question_id""",
        _params(round_id, "department", codes))


def staff_answer_ratios(db: Database, round_id: int,
                        codes: Iterable[str] | None = None) -> list[dict]:
    """`{department_code, question_id, ratio, n}`: mean `r` over submitted staff answers."""
    return rows(db, """
        SELECT responses.department_code, answers.question_id,
               AVG(answers.score / answers.max_score) AS ratio, COUNT(*) AS n
        FROM answers JOIN responses ON responses.id = answers.response_id
        WHERE responses.round_id = :round_id AND responses.audience = :audience
          AND responses.status = 'submitted'
          AND answers.score IS NOT NULL AND answers.max_score > 0
          AND responses.department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        GROUP BY responses.department_code, answers.question_id
        ORDER BY responses.department_code, answers.question_id""",
        _params(round_id, "staff", codes))


def system_answer_ratios(db: Database, round_id: int,
                         codes: Iterable[str] | None = None) -> list[tuple]:
    """`(department_code, system_code, question_id, ratio)`: each system's `r` per
    question, from the blocks of the 所属 whose department response is submitted (a
    block's status follows it; DESIGN.md §12). Tuples, not dicts: a round of 1,500
    systems has 30,000 of them (bench/systems.py)."""
    return db.execute("""
        SELECT systems.department_code, systems.system_code, answers.question_id,
               answers.score / answers.max_score AS ratio
        FROM responses AS systems
        JOIN responses AS owners ON owners.round_id = systems.round_id
             AND owners.department_code = systems.department_code
             AND owners.audience = 'department' AND owners.status = 'submitted'
        JOIN answers ON answers.response_id = systems.id
        WHERE systems.round_id = :round_id AND systems.audience = :audience
          AND answers.score IS NOT NULL AND answers.max_score > 0
          AND systems.department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        ORDER BY systems.department_code, systems.system_code, answers.question_id""",
        _params(round_id, "system", codes)).fetchall()


def system_responses(db: Database, round_id: int,
                     codes: Iterable[str] | None = None) -> list[dict]:
    """`{department_code, system_code, status, submitted}` of every system block of the
    round; `submitted` is whether its 所属's department response is."""
    return rows(db, """
        SELECT systems.department_code, systems.system_code, systems.status,
               owners.status = 'submitted' AS submitted
        FROM responses AS systems
        LEFT JOIN responses AS owners ON owners.round_id = systems.round_id
             AND owners.department_code = systems.department_code
             AND owners.audience = 'department'
        WHERE systems.round_id = :round_id AND systems.audience = :audience
          AND systems.department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        ORDER BY systems.system_code""",
        _params(round_id, "system", codes))


def staff_response_counts(db: Database, round_id: int,
                          codes: Iterable[str] | None = None) -> dict[str, int]:
    """Submitted staff responses per 所属 (the `n` of the anonymity rule)."""
    found = rows(db, """
        SELECT department_code, COUNT(*) AS n FROM responses
        WHERE round_id = :round_id AND audience = :audience AND status = 'submitted'
          AND department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        GROUP BY department_code""",
        _params(round_id, "staff", codes))
    return {row["department_code"]: row["n"] for row in found}


def submitted_departments(db: Database, round_id: int,
                          codes: Iterable[str] | None = None) -> set[str]:
    """所属 whose department response of the round is submitted."""
    found = rows(db, """
        SELECT department_code FROM responses
        WHERE round_id = :round_id AND audience = :audience AND status = 'submitted'
          AND department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)""",
        _params(round_id, "department", codes))
    return {row["department_code"] for row in found}


def choice_counts(db: Database, round_id: int, audience: str,
                  question_ids: Iterable[str], codes: Iterable[str] | None = None,
                  ) -> list[dict]:
    """`{question_id, value, n}`: how often each stored value was given.

    Counts raw stored values (a multi_choice answer is its values joined with `;`,
    so the caller splits them); only the listed questions, so free text never leaves.
    """
    params = _params(round_id, audience, codes)
    params["question_ids"] = json.dumps(list(question_ids))
    return rows(db, """
        SELECT answers.question_id, answers.value, COUNT(*) AS n
        FROM answers JOIN responses ON responses.id = answers.response_id
        WHERE responses.round_id = :round_id AND responses.audience = :audience
          AND responses.status = 'submitted' AND answers.value IS NOT NULL
          AND answers.question_id IN (SELECT value FROM json_each(:question_ids))
          AND responses.department_code IN (SELECT value FROM json_each(:codes)
               UNION ALL SELECT code FROM departments WHERE :codes IS NULL)
        GROUP BY answers.question_id, answers.value
        ORDER BY answers.question_id, answers.value""",
        params)
