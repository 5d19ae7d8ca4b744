"""View model of one 所属's results page: its figures in the chosen round beside the
prefecture and its 部局, and its history across rounds (through a reorganisation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.findings import ordered_findings
from surveyapp.readmodels import aggregate
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.readmodels.compare import Change
from surveyapp.readmodels.results_view import (
    Cell,
    band_id,
    cells,
    scored_sections,
)
from surveyapp.store import departments as department_store


@dataclass(frozen=True)
class Figure:
    """One line of a 所属's page: its score beside its 部局's and the prefecture's."""

    kind: str  # overall | section | finding
    key: str
    own: Cell
    bureau: Cell
    prefecture: Cell  # with the number of 所属 behind it

    @property
    def difference(self) -> float | None:
        """This 所属 minus the prefecture average."""
        return Change(self.prefecture.value, self.own.value).delta


@dataclass(frozen=True)
class DepartmentPage:
    unit: Mapping
    history: tuple[aggregate.HistoryEntry, ...]
    entry: aggregate.HistoryEntry | None  # the round shown in detail
    scores: RoundScores | None  # that round, for the 部局 and prefecture figures
    figures: tuple[Figure, ...]
    with_bureau: bool  # the 部局 average is part of the figures

    @property
    def result(self) -> DepartmentResult | None:
        """The 所属's own row in the shown round (None when a predecessor answered)."""
        return None if self.scores is None else self.scores.department(self.unit["code"])


def department_page(db: Database, code: str, round_id: int | None, anonymity_min: int,
                    with_bureau: bool = True) -> DepartmentPage | None:
    """A 所属's history and one round in detail (`round_id`, default the latest).

    Round scores are computed once, for the round shown, because the prefecture and
    部局 figures need every 所属; the history needs only this 所属 (and predecessors).
    `with_bureau=False` leaves the 部局 average out: in a 部局 of two 所属 it would give
    a department user the other 所属's score (the API leaves it out for them too).
    None when `code` is not a 所属.
    """
    unit = department_store.get_department(db, code)
    history = aggregate.department_history(db, code, anonymity_min)
    if unit is None or history is None:
        return None
    entry = next((e for e in history if e.round.id == round_id), None)
    entry = entry or (history[-1] if history else None)
    if entry is None:
        return DepartmentPage(unit, (), None, None, (), with_bureau)
    scores = aggregate.round_scores(db, entry.round.id, anonymity_min)
    bureau_code = unit["parent_code"] if with_bureau else None
    return DepartmentPage(unit, tuple(history), entry, scores,
                          tuple(department_figures(scores, entry, bureau_code)), with_bureau)


def department_figures(scores: RoundScores, entry: aggregate.HistoryEntry,
                       bureau_code: str | None) -> list[Figure]:
    """Overall, every scored section and every finding: own, 部局 and prefecture.

    `bureau_code` None leaves the 部局 cells empty.
    """
    questionnaire, own, prefecture = scores.questionnaire, entry.scores, scores.prefecture
    bureau = next((b.scores for b in scores.bureaus if b.code == bureau_code), None)
    lines = [("overall", "overall", own.overall, bureau and bureau.overall,
              prefecture.overall, prefecture.n_overall)]
    lines += [("section", key, own.sections.get(key), bureau and bureau.sections.get(key),
               prefecture.sections.get(key), prefecture.n_sections.get(key, 0))
              for key in (s.id for s in scored_sections(questionnaire))]
    lines += [("finding", key, own.findings.get(key), bureau and bureau.findings.get(key),
               prefecture.findings.get(key), prefecture.n_findings.get(key, 0))
              for key in ordered_findings(questionnaire.findings)]
    return [Figure(kind, key, *cells(questionnaire, [mine, theirs]),
                   cells(questionnaire, [everyone], counts=[n])[0])
            for kind, key, mine, theirs, everyone, n in lines]


@dataclass(frozen=True)
class HistoryRow:
    entry: aggregate.HistoryEntry
    overall: Cell  # banded by its own round's questionnaire
    sections: tuple[Cell, ...]  # one per `history_sections`, banded by the shown round


def history_rows(page: DepartmentPage) -> tuple[tuple[str, ...], list[HistoryRow]]:
    """(section ids, one row per round) of a 所属's history table."""
    section_ids = tuple(history_sections(page.history))
    if page.scores is None:
        return section_ids, []
    questionnaire = page.scores.questionnaire
    return section_ids, [
        HistoryRow(entry, Cell(entry.scores.overall, band_id(entry.scores.band)),
                   cells(questionnaire, [entry.scores.sections.get(s) for s in section_ids]))
        for entry in page.history]


def history_sections(history: Sequence[aggregate.HistoryEntry]) -> list[str]:
    """Section ids scored in any round of a history, in the order first seen."""
    seen: dict[str, None] = {}
    for entry in history:
        seen.update((key, None) for key, value in entry.scores.sections.items()
                    if value is not None)
    return list(seen)
