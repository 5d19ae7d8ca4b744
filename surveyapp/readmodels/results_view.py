"""View models of the results pages: sorting, filtering, paging, band counts (the
questions page is question_view.py, the year-over-year page comparison_view.py, one
所属's page department_view.py).

Everything here works on what `aggregate` and `compare` computed once
per request, so a page never goes back to the database per 所属 (no N+1). Sort and
filter parameters arrive as untrusted text: they only ever select from whitelists built
from the round's own questionnaire, and anything else falls back to the default.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from surveyapp import audiences
from surveyapp.findings import ordered_findings
from surveyapp.memo import ObjectMemo
from surveyapp.model import (
    Band,
    Question,
    Questionnaire,
    RollupScores,
    Section,
)
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores

SortKey = Callable[[DepartmentResult], object]
VIEWS = ("sections", "findings")  # the column sets of the round table
# Rows per page of the round table: a view of 3,000 所属 renders what one of 300 does
# (bench/results.py); filters and sorting work on the whole round, on the server.
PAGE_SIZE = 100
NO_BAND = "none"  # the band filter's value for 所属 without an overall score
STATUSES: dict[str, Callable[[DepartmentResult], bool]] = {
    "submitted": lambda d: d.submitted,
    "not_submitted": lambda d: not d.submitted,
}


# --- display text (one decimal for display only, DESIGN.md §4) ---------------------------


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def delta_text(value: float | None) -> str:
    if value is None:
        return "—"
    shown = round(value, 1)
    return "±0.0" if shown == 0 else f"{shown:+.1f}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@dataclass(frozen=True)
class Cell:
    """One score cell, prepared here so a 300-row table renders without a macro per cell."""

    value: float | None
    band: str  # band id of the value, "" without one
    hidden: bool = False  # no value because staff answers are below the minimum
    n: int | None = None  # 所属 behind a 部局 / prefecture figure

    @property
    def text(self) -> str:
        return score_text(self.value)


def cells(questionnaire: Questionnaire, values: Iterable[float | None],
          hidden: Iterable[bool] | None = None,
          counts: Iterable[int] | None = None) -> tuple[Cell, ...]:
    values = list(values)
    hidden_flags = list(hidden) if hidden is not None else [False] * len(values)
    n_values = list(counts) if counts is not None else [None] * len(values)
    return tuple(
        Cell(value, band_id(questionnaire.band_for(value)), flag and value is None, n)
        for value, flag, n in zip(values, hidden_flags, n_values, strict=True))


def band_id(band: Band | None) -> str:
    return band.id if band else ""


# --- columns and sorting ---------------------------------------------------------------


def scored_sections(questionnaire: Questionnaire) -> tuple[Section, ...]:
    """Sections that can carry a score; a screening-only section (SCR) never does."""
    return tuple(s for s in questionnaire.sections if any(q.scored for q in s.questions))


def sort_keys(questionnaire: Questionnaire) -> dict[str, SortKey]:
    """The whitelist of the `sort` parameter: column key -> value of a 所属."""
    keys: dict[str, SortKey] = {
        "code": lambda d: d.code, "name": lambda d: d.name,
        "bureau": lambda d: d.parent_code or "", "submitted": lambda d: d.submitted,
        "staff": lambda d: d.staff_responses, "rate": lambda d: d.response_rate,
        "overall": lambda d: d.overall,
    }
    for section in scored_sections(questionnaire):
        keys[f"section-{section.id}"] = _section_key(section.id)
    for finding in questionnaire.findings:
        keys[f"finding-{finding}"] = _finding_key(finding)
    return keys


def _section_key(section_id: str) -> SortKey:
    return lambda d: d.sections.get(section_id)


def _finding_key(finding: str) -> SortKey:
    return lambda d: d.findings.get(finding)


def sort_departments(departments: Sequence[DepartmentResult], key: SortKey,
                     descending: bool) -> list[DepartmentResult]:
    """Sorted by `key`; 所属 without a value go last in both directions, ties by code."""
    by_code = sorted(departments, key=lambda d: d.code)
    present = [d for d in by_code if key(d) is not None]
    missing = [d for d in by_code if key(d) is None]
    return sorted(present, key=key, reverse=descending) + missing


# --- the round results table -----------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """Submission and staff figures of a group of 所属 (a 部局, the prefecture)."""

    members: int
    submitted: int
    staff_responses: int
    headcount: int

    @property
    def submitted_rate(self) -> float | None:
        return self.submitted / self.members if self.members else None

    @property
    def response_rate(self) -> float | None:
        return self.staff_responses / self.headcount if self.headcount else None


@dataclass(frozen=True)
class Column:
    """A score column of the round table: a section or an audit finding."""

    key: str  # its `sort` value: section-PWD, finding-指摘6
    id: str  # the section id or the finding
    section: Section | None  # None for a finding
    staff_only: bool  # scored only from staff answers (blank below the minimum)


@dataclass(frozen=True)
class DepartmentRow:
    result: DepartmentResult
    overall: Cell
    cells: tuple[Cell, ...]  # one per column


@dataclass(frozen=True)
class RollupRow:
    """A 部局 or the prefecture in the table: its scores and the 所属 behind them."""

    code: str | None
    name: str
    totals: Totals
    overall: Cell
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class BandCount:
    band: Band | None  # None: no overall score
    count: int
    share: float | None  # of the 所属 counted in the distribution
    unsubmitted: bool = False  # the row of 所属 left out because they did not submit


@dataclass(frozen=True)
class ResultsTable:
    columns: tuple[Column, ...]
    rows: tuple[DepartmentRow, ...]  # the 所属 of the page shown
    bureaus: tuple[RollupRow, ...]
    prefecture: RollupRow
    bands: tuple[BandCount, ...]
    totals: Totals  # over the 所属 of the 部局 chosen (all without one)
    view: str  # a VIEWS value
    sort: str | None  # the column sorted by, None for tree order
    descending: bool
    band: str | None = None  # a band id or NO_BAND: only 所属 with that band
    status: str | None = None  # a STATUSES key: only 所属 in that state
    page: int = 1
    pages: int = 1
    matching: int = 0  # 所属 that pass the filters, over every page
    first: int = 0  # position of the page's first row among them (1-based; 0: none)

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def totals(departments: Sequence[DepartmentResult]) -> Totals:
    return Totals(len(departments), sum(d.submitted for d in departments),
                  sum(d.staff_responses for d in departments),
                  sum(d.headcount for d in departments))


def band_counts(questionnaire: Questionnaire, departments: Sequence[DepartmentResult],
                with_unsubmitted: bool = False) -> tuple[BandCount, ...]:
    """How many 所属 fall in each band (best first), then those without a score.

    A 所属 that has not submitted its self-check is left out of the bands (its score,
    if any, rests on staff answers alone) and counted in a last row of its own, unless
    `with_unsubmitted` asks for every 所属 in the bands."""
    counted = [d for d in departments if with_unsubmitted or d.submitted]
    found = Counter(d.band.id if d.band else None for d in counted)
    total = len(counted)
    ordered: list[Band | None] = [*sorted(questionnaire.bands, key=lambda b: -b.min), None]
    rows = [BandCount(band, found[band.id if band else None],
                      found[band.id if band else None] / total if total else None)
            for band in ordered]
    left_out = len(departments) - total
    if left_out:
        rows.append(BandCount(None, left_out, None, unsubmitted=True))
    return tuple(rows)


def _staff_only(questions: Iterable[Question]) -> bool:
    scored = [q for q in questions if q.scored]
    return bool(scored) and all(audiences.lookup(q.audience).anonymous for q in scored)


def columns(questionnaire: Questionnaire, view: str) -> tuple[Column, ...]:
    if view == "findings":
        return tuple(
            Column(f"finding-{finding}", finding, None, _staff_only(
                q for q in questionnaire.questions if finding in q.findings))
            for finding in ordered_findings(questionnaire.findings))
    return tuple(Column(f"section-{s.id}", s.id, s, _staff_only(s.questions))
                 for s in scored_sections(questionnaire))


def _pick(column: Column, sections: Mapping, findings: Mapping):
    """A column's entry from the section or the finding mapping of a score object."""
    return (sections if column.section else findings).get(column.id)


def department_row(questionnaire: Questionnaire, shown: Sequence[Column],
                   result: DepartmentResult) -> DepartmentRow:
    return DepartmentRow(
        result, cells(questionnaire, [result.overall])[0],
        cells(questionnaire, [_pick(c, result.sections, result.findings) for c in shown],
              [result.staff_hidden and c.staff_only for c in shown]))


def rollup_row(questionnaire: Questionnaire, shown: Sequence[Column], code: str | None,
               name: str, rolled: RollupScores,
               members: Sequence[DepartmentResult]) -> RollupRow:
    return RollupRow(
        code, name, totals(members),
        cells(questionnaire, [rolled.overall], counts=[rolled.n_overall])[0],
        cells(questionnaire, [_pick(c, rolled.sections, rolled.findings) for c in shown],
              counts=[_pick(c, rolled.n_sections, rolled.n_findings) or 0 for c in shown]))


def bureau_rows(scores: RoundScores, shown: Sequence[Column],
                bureau_code: str | None) -> tuple[RollupRow, ...]:
    grouped: dict[str, list[DepartmentResult]] = {}
    for result in scores.departments:
        grouped.setdefault(result.parent_code or "", []).append(result)
    return tuple(rollup_row(scores.questionnaire, shown, bureau.code, bureau.name,
                            bureau.scores, grouped.get(bureau.code, []))
                 for bureau in scores.bureaus
                 if bureau_code is None or bureau.code == bureau_code)


# Built tables of the kept RoundScores objects (aggregate.round_scores gives the same
# object until a score changes, so an identical object means identical figures).
# Building the rows of 300 所属 was a quarter of the results page's CPU (bench/README.md).
_tables = ObjectMemo(16)
_orders = ObjectMemo(16)


def results_table(scores: RoundScores, bureau_code: str | None, sort: str | None,
                  descending: bool, view: str = "sections",
                  prefecture_name: str = "全庁", *, band: str | None = None,
                  status: str | None = None, page: int | None = None,
                  page_size: int = PAGE_SIZE, with_unsubmitted: bool = False,
                  codes: frozenset[str] | None = None) -> ResultsTable:
    """The 所属 of one 部局 (or all; with `codes`, only those), with one band and one
    status (or any), sorted by a whitelisted column (None: tree order); `page` (1-based,
    clamped) shows `page_size` of them, None all. Unknown filter values filter nothing.
    The progress and band counts cover the 部局 and `codes` whatever the band and status
    filters; `with_unsubmitted` counts unsubmitted 所属 in the bands too. Built once per
    `scores` object and arguments; the table is frozen."""
    band = band if band in {b.id for b in scores.questionnaire.bands} | {NO_BAND} else None
    status = status if status in STATUSES else None
    key = (bureau_code, sort, descending, view, prefecture_name, band, status, page,
           page_size, with_unsubmitted, codes)
    return _tables.get(scores, key, lambda: _build_results_table(scores, *key))


def ordered_departments(scores: RoundScores, bureau_code: str | None, band: str | None,
                        status: str | None, sort: str | None, descending: bool,
                        codes: frozenset[str] | None = None) -> tuple[DepartmentResult, ...]:
    """Every 所属 that passes the filters, in the table's order (kept per `scores`
    object, so turning the pages sorts once)."""
    def build() -> tuple[DepartmentResult, ...]:
        chosen = [d for d in in_scope(scores, bureau_code, codes)
                  if (band is None or (band_id(d.band) or NO_BAND) == band)
                  and (status is None or STATUSES[status](d))]
        key = sort_keys(scores.questionnaire).get(sort or "")
        return tuple(chosen if key is None else sort_departments(chosen, key, descending))
    return _orders.get(scores, (bureau_code, band, status, sort, descending, codes), build)


def in_scope(scores: RoundScores, bureau_code: str | None,
             codes: frozenset[str] | None) -> list[DepartmentResult]:
    """The 所属 of one 部局 (or all), only those in `codes` when given."""
    return [d for d in scores.departments
            if (bureau_code is None or d.parent_code == bureau_code)
            and (codes is None or d.code in codes)]


def _build_results_table(scores: RoundScores, bureau_code: str | None, sort: str | None,
                         descending: bool, view: str, prefecture_name: str,
                         band: str | None, status: str | None,
                         page: int | None, page_size: int, with_unsubmitted: bool,
                         codes: frozenset[str] | None) -> ResultsTable:
    questionnaire = scores.questionnaire
    view = view if view in VIEWS else VIEWS[0]
    if sort_keys(questionnaire).get(sort or "") is None:
        sort, descending = None, False
    matching = ordered_departments(scores, bureau_code, band, status, sort, descending,
                                   codes)
    pages = max(1, math.ceil(len(matching) / page_size))
    number = min(max(page or 1, 1), pages)
    shown = matching if page is None else matching[(number - 1) * page_size:number * page_size]
    scope = in_scope(scores, bureau_code, codes)
    picked = columns(questionnaire, view)
    return ResultsTable(
        picked, tuple(department_row(questionnaire, picked, d) for d in shown),
        bureau_rows(scores, picked, bureau_code),
        rollup_row(questionnaire, picked, None, prefecture_name, scores.prefecture,
                   scores.departments),
        band_counts(questionnaire, scope, with_unsubmitted), totals(scope), view, sort,
        descending, band, status, number, pages if page is not None else 1, len(matching),
        (number - 1) * page_size + 1 if shown else 0)


# --- round choice ----------------------------------------------------------------------


def latest_round(rounds: Sequence[round_reads.Round]) -> round_reads.Round | None:
    """The newest round that has opened (a draft has no answers yet), else the newest."""
    ordered = sorted(rounds, key=lambda r: (r.fiscal_year, r.id), reverse=True)
    started = [r for r in ordered if r.status != "draft"]
    return (started or ordered or [None])[0]


def default_pair(rounds: Sequence[round_reads.Round]) -> tuple[int, int] | None:
    """(earlier, later) round ids for the comparison: the latest round and the one
    before it of the same questionnaire; None when there is no such pair."""
    later = latest_round(rounds)
    if later is None:
        return None
    earlier = [r for r in rounds if r.questionnaire_id == later.questionnaire_id
               and (r.fiscal_year, r.id) < (later.fiscal_year, later.id)]
    if not earlier:
        return None
    return max(earlier, key=lambda r: (r.fiscal_year, r.id)).id, later.id
