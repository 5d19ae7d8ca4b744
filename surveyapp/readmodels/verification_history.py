"""Audit verification year over year (DESIGN.md §9): a 所属's reliability history, and
the reliability of each 所属's last finalised verification, which the next round's
sample favours. Nothing here writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.readmodels import aggregate
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.verification import Counts, mean, round_verification
from surveyapp.store import departments as department_store
from surveyapp.store import verification as verification_store

# --- year over year -------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPoint:
    """A 所属's finalised verification in one round (its predecessors' when it was
    reorganised since; several of them are summed)."""

    round: round_reads.Round
    codes: tuple[str, ...]
    counts: Counts
    self_score: float | None
    verified_score: float | None

    @property
    def reliability(self) -> float | None:
        return self.counts.reliability


def reliability_history(db: Database, code: str, anonymity_min: int) -> list[HistoryPoint]:
    """The 所属's finalised verifications, oldest round first, through reorganisations."""
    departments = department_store.departments_by_code(db)
    if code not in departments:
        return []
    chain = aggregate.predecessor_codes(departments, code)
    rounds = {r.id: r for r in round_reads.list_rounds(db)}
    by_round: dict[int, list[str]] = {}
    for row in verification_store.finalised_counts(db, codes=chain):
        by_round.setdefault(row["round_id"], []).append(row["department_code"])
    points = [history_point(db, rounds[round_id], codes, anonymity_min)
              for round_id, codes in by_round.items()]
    return sorted(points, key=lambda point: (point.round.fiscal_year, point.round.id))


def history_point(db: Database, round_: round_reads.Round, codes: Sequence[str],
                  anonymity_min: int) -> HistoryPoint:
    found = [d for d in round_verification(db, round_.id, anonymity_min).finalised
             if d.code in codes]
    return HistoryPoint(round_, tuple(d.code for d in found),
                        sum((d.counts for d in found), Counts()),
                        mean(d.self_score for d in found),
                        mean(d.verified_score for d in found))


def last_reliabilities(db: Database, fiscal_year: int,
                       chains: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """{所属: reliability of its latest finalised verification before `fiscal_year`}
    for the 所属 of `chains` (each with its predecessors) that have one."""
    latest: dict[str, tuple[int, Counts]] = {}
    owners = {earlier: code for code, chain in chains.items() for earlier in chain}
    for row in verification_store.finalised_counts(db, before_fiscal_year=fiscal_year,
                                                   codes=owners):
        code = owners[row["department_code"]]
        counts = Counts(row["confirmed"], row["discrepancies"], row["unverifiable"])
        year, known = latest.get(code, (row["fiscal_year"], Counts()))
        if row["fiscal_year"] > year:
            known = Counts()
        latest[code] = (max(year, row["fiscal_year"]), known + counts)
    return {code: counts.reliability for code, (_, counts) in latest.items()
            if counts.reliability is not None}


