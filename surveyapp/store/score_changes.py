"""Which scores changed since when: read what the triggers of migration
0043_score_changes record inside every write that can change a score.

`generation` goes up with each such write (and only then); `changed_since` names the
所属 of a round whose scores changed after a generation, '*' when the whole round did
(its departments, systems or the round itself changed), '' when a figure of the round
that is no 所属's changed (the audit verification's plan or draws).
"""

from __future__ import annotations

from sqlite_utils import Database

WHOLE_ROUND = "*"
NO_DEPARTMENT = ""


def generation(db: Database) -> int:
    return db.execute("SELECT seq FROM score_generation WHERE id = 1").fetchone()[0]


def changed_since(db: Database, round_id: int, seen: int) -> set[str]:
    """所属 codes of `round_id` changed after generation `seen` ('*': all of them)."""
    return {row[0] for row in db.execute(
        "SELECT department_code FROM score_changes WHERE round_id = ? AND seq > ?",
        (round_id, seen))}
