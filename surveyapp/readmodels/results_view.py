"""View models of the results pages: sorting, filtering, band counts, question figures
(the year-over-year page is comparison_view.py, one 所属's page department_view.py).

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

from sqlite_utils import Database

from surveyapp import audiences, question_types
from surveyapp.findings import ordered_findings
from surveyapp.memo import ObjectMemo
from surveyapp.model import (
    Band,
    Choice,
    Question,
    Questionnaire,
    RollupScores,
    Section,
)
from surveyapp.readmodels import aggregate
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.store import question_stats

SortKey = Callable[[DepartmentResult], object]
MOST_MISSED_LIMIT = 10
VIEWS = ("sections", "findings")  # the column sets of the round table


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
    rows: tuple[DepartmentRow, ...]
    bureaus: tuple[RollupRow, ...]
    prefecture: RollupRow
    bands: tuple[BandCount, ...]
    totals: Totals  # over the 所属 shown (one 部局 when filtered)
    view: str  # a VIEWS value
    sort: str | None  # the column sorted by, None for tree order
    descending: bool


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


# Built tables of the memoised RoundScores objects (aggregate.round_scores gives the same
# object until the database changes, so an identical object means identical figures).
# Building the rows of 300 所属 was a quarter of the results page's CPU (bench/README.md).
_tables = ObjectMemo(16)


def results_table(scores: RoundScores, bureau_code: str | None, sort: str | None,
                  descending: bool, view: str = "sections",
                  prefecture_name: str = "全庁", with_unsubmitted: bool = False,
                  codes: frozenset[str] | None = None) -> ResultsTable:
    """The 所属 of one 部局 (or all; with `codes`, only those), sorted by a whitelisted
    column (None: tree order); `with_unsubmitted` counts unsubmitted 所属 in the band
    distribution too. Built once per `scores` object and arguments; the table is frozen."""
    arguments = (bureau_code, sort, descending, view, prefecture_name, with_unsubmitted, codes)
    return _tables.get(scores, arguments, lambda: _build_results_table(scores, *arguments))


def _build_results_table(scores: RoundScores, bureau_code: str | None, sort: str | None,
                         descending: bool, view: str, prefecture_name: str,
                         with_unsubmitted: bool = False,
                         codes: frozenset[str] | None = None) -> ResultsTable:
    questionnaire = scores.questionnaire
    view = view if view in VIEWS else VIEWS[0]
    shown = [d for d in scores.departments
             if (bureau_code is None or d.parent_code == bureau_code)
             and (codes is None or d.code in codes)]
    key = sort_keys(questionnaire).get(sort or "")
    if key is None:
        sort, descending = None, False
    else:
        shown = sort_departments(shown, key, descending)
    picked = columns(questionnaire, view)
    return ResultsTable(
        picked, tuple(department_row(questionnaire, picked, d) for d in shown),
        bureau_rows(scores, picked, bureau_code),
        rollup_row(questionnaire, picked, None, prefecture_name, scores.prefecture,
                   scores.departments),
        band_counts(questionnaire, shown, with_unsubmitted), totals(shown), view, sort,
        descending)


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


# --- questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceCount:
    choice: Choice
    count: int
    share: float | None  # of the answers to the question (multi_choice: of respondents)


@dataclass(frozen=True)
class QuestionSummary:
    question: Question
    answers: int
    choices: tuple[ChoiceCount, ...]
    mean_ratio: float | None  # mean `r` over the 所属 shown, each 所属 counted once
    n_departments: int  # 所属 behind `mean_ratio`
    correct_rate: float | None  # quiz only
    unknown_rate: float | None  # quiz only: share of わからない


def question_summaries(db: Database, scores: RoundScores,
                       code: str | None = None) -> list[QuestionSummary]:
    """Every choice question of the round, department and staff answers separately.

    Prefecture-wide (`code` None) all submitted answers count. For one 所属 its staff
    answers count only when at least the anonymity minimum answered: below that the
    question shows no counts at all (`aggregate.choice_distribution` returns nothing).
    """
    results = [d for d in scores.departments if code is None or d.code == code]
    summaries = []
    for audience in audiences.NAMES:
        counts = aggregate.choice_distribution(db, scores.round.id, scores.questionnaire,
                                               audience, scores.anonymity_min, code)
        respondents = _respondents(db, scores, audience, code, counts)
        summaries += [question_summary(q, counts.get(q.id, {}), respondents.get(q.id, 0),
                                       results)
                      for q in scores.questionnaire.questions_for(audience)
                      if question_types.of(q).has_choices]
    order = {q.id: i for i, q in enumerate(scores.questionnaire.questions)}
    return sorted(summaries, key=lambda s: order[s.question.id])


def _respondents(db: Database, scores: RoundScores, audience: str, code: str | None,
                 counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Answers per question; a multi_choice needs the database, the rest add up counts."""
    found = {qid: sum(values.values()) for qid, values in counts.items()}
    multi = [q.id for q in scores.questionnaire.questions_for(audience)
             if question_types.of(q).multiple and q.id in counts]
    if multi:
        found.update(question_stats.answer_counts(
            db, scores.round.id, audience, multi, None if code is None else [code]))
    return found


def question_summary(question: Question, counts: Mapping[str, int], answers: int,
                     results: Sequence[DepartmentResult]) -> QuestionSummary:
    choices = tuple(ChoiceCount(c, counts.get(c.value, 0),
                                counts.get(c.value, 0) / answers if answers else None)
                    for c in question.choices)
    ratios = [d.ratios[question.id] for d in results if question.id in d.ratios]
    mean = math.fsum(ratios) / len(ratios) if ratios and question.scored else None
    figures = question_types.of(question).summarise_counts(question, counts, answers)
    return QuestionSummary(question, answers, choices, mean, len(ratios),
                           figures.get("correct_rate"), figures.get("unknown_rate"))


def most_missed(summaries: Iterable[QuestionSummary],
                limit: int = MOST_MISSED_LIMIT) -> list[QuestionSummary]:
    """Scored questions with the lowest mean `r` first (a quiz's `r` is its correct
    rate): the topics for next year's training."""
    scored = [s for s in summaries if s.mean_ratio is not None]
    return sorted(scored, key=lambda s: (s.mean_ratio, s.question.id))[:limit]
