"""Re-confirmed versus changed (DESIGN.md §13): per 所属, how its answers of a round
relate to its answers of the previous round of the same questionnaire.

Only answers with a comparable answer last year count (a question linked `same` or
`reworded` to one earlier question that the 所属, or the 所属 it replaced, answered in a
submitted response). Each such answer is
- re-confirmed: the 所属 confirmed its section "前年どおり確認した" and it equals last
  year's (the mark stored with the answer, services/carry_over.py);
- changed: it differs from last year's;
- unchanged, not confirmed: the same as last year without a confirmation.
Copied answers (the copy button) are counted too, whatever else they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import lineage
from surveyapp.model import Questionnaire
from surveyapp.readmodels import followup_lists
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import predecessor_index
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.previous_answers import ANSWERED
from surveyapp.store import carry_over as carry_store
from surveyapp.store import departments as department_store

AUDIENCE = "department"


@dataclass(frozen=True)
class CarryFigures:
    code: str
    name: str
    status: str  # of this round's response
    compared: int  # answers with a comparable answer last year
    reconfirmed: int
    changed: int
    unconfirmed_same: int
    copied: int

    def share(self, count: int) -> float | None:
        return count / self.compared if self.compared else None

    @property
    def reconfirmed_share(self) -> float | None:
        return self.share(self.reconfirmed)

    @property
    def changed_share(self) -> float | None:
        return self.share(self.changed)

    @property
    def unconfirmed_share(self) -> float | None:
        return self.share(self.unconfirmed_same)


@dataclass(frozen=True)
class RoundCarry:
    round: round_reads.Round
    previous: round_reads.Round | None
    departments: tuple[CarryFigures, ...]

    def department(self, code: str) -> CarryFigures | None:
        return next((d for d in self.departments if d.code == code), None)

    @property
    def totals(self) -> CarryFigures:
        return CarryFigures("", "", "", *(sum(getattr(d, name) for d in self.departments)
                                          for name in ("compared", "reconfirmed", "changed",
                                                       "unconfirmed_same", "copied")))


def round_carry_over(db: Database, round_id: int, department_code: str | None = None
                     ) -> RoundCarry:
    """Every 所属 with a department response in the round (only `department_code`'s,
    when given: its page reads no other 所属's answers); raises NotFound for an unknown
    round."""
    current = round_reads.require_round(db, round_id)
    earlier = followup_lists.previous_round(db, round_id)
    if earlier is None:
        return RoundCarry(current, None, ())
    links = comparable_links(get_definition(db, earlier.questionnaire_id, earlier.version),
                             get_definition(db, current.questionnaire_id, current.version))
    departments = department_store.departments_by_code(db)
    predecessors = predecessor_index(departments)
    mine = None if department_code is None else (department_code,)
    earlier_codes = None if mine is None else predecessors.get(department_code, mine)
    before = answers_by_department(carry_store.round_answers(db, earlier.id, AUDIENCE,
                                                             earlier_codes))
    figures = []
    for code, rows in grouped(carry_store.round_answers(db, round_id, AUDIENCE,
                                                        mine)).items():
        last_year = next((before[c] for c in predecessors.get(code, (code,)) if c in before),
                         {})
        name = departments[code]["name"] if code in departments else code
        figures.append(count(code, name, rows, last_year, links))
    return RoundCarry(current, earlier, tuple(figures))


def comparable_links(before: Questionnaire, after: Questionnaire) -> dict[str, str]:
    """{this round's question: last year's} for the comparable department questions."""
    return {match.to_id: match.from_ids[0]
            for match in (lineage.match_question(before, q) for q in
                          after.questions_for(AUDIENCE))
            if match.comparable}


def grouped(rows: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["department_code"], []).append(row)
    return found


def answers_by_department(rows: list[dict]) -> dict[str, dict[str, str]]:
    """{所属: {question: stored value}} of the answered responses."""
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["status"] in ANSWERED and row["value"] is not None:
            found.setdefault(row["department_code"], {})[row["question_id"]] = row["value"]
    return found


def count(code: str, name: str, rows: list[dict], last_year: Mapping[str, str],
          links: Mapping[str, str]) -> CarryFigures:
    compared = reconfirmed = changed = same = 0
    for row in rows:
        previous = last_year.get(links.get(row["question_id"], ""))
        if row["value"] is None or previous is None:
            continue
        compared += 1
        if row["reconfirmed"]:
            reconfirmed += 1
        elif row["value"] != previous:
            changed += 1
        else:
            same += 1
    return CarryFigures(code, name, rows[0]["status"], compared, reconfirmed, changed, same,
                        sum(1 for row in rows if row["copied"]))
