"""View models of the results pages: sorting, filtering, band counts, question figures.

Everything here works on what `services.aggregate` and `services.compare` computed once
per request, so a page never goes back to the database per 所属 (no N+1). Sort and
filter parameters arrive as untrusted text: they only ever select from whitelists built
from the round's own questionnaire, and anything else falls back to the default.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import lineage, scoring
from surveyapp.model import (
    CHOICE_TYPES,
    Band,
    Choice,
    Question,
    QuestionMatch,
    Questionnaire,
    RollupScores,
    Section,
)
from surveyapp.services import aggregate
from surveyapp.services import rounds as round_service
from surveyapp.services.aggregate import BureauResult, DepartmentResult, RoundScores
from surveyapp.services.compare import Comparison, DepartmentComparison
from surveyapp.store import departments as department_store
from surveyapp.store import question_stats

SortKey = Callable[[DepartmentResult], object]
FINDING_KINDS = ("指摘", "意見")  # findings (must fix) before opinions, as the report lists them
MOST_MISSED_LIMIT = 10


# --- columns and sorting ---------------------------------------------------------------


def scored_sections(questionnaire: Questionnaire) -> tuple[Section, ...]:
    """Sections that can carry a score; a screening-only section (SCR) never does."""
    return tuple(s for s in questionnaire.sections if any(q.scored for q in s.questions))


def ordered_findings(findings: Iterable[str]) -> list[str]:
    """指摘6, 指摘21, 指摘22, 意見17 …: kind as in the audit report, then by number."""
    def order(finding: str) -> tuple[int, int, str]:
        kind = next((i for i, k in enumerate(FINDING_KINDS) if finding.startswith(k)),
                    len(FINDING_KINDS))
        number = re.search(r"\d+", finding)
        return kind, int(number.group()) if number else 0, finding
    return sorted(findings, key=order)


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
class RollupRow:
    """A 部局 or the prefecture in the table: its scores and the 所属 behind them."""

    code: str | None
    name: str
    scores: RollupScores
    band: Band | None
    totals: Totals


@dataclass(frozen=True)
class BandCount:
    band: Band | None  # None: no overall score (not submitted, nothing scored)
    count: int
    share: float | None


@dataclass(frozen=True)
class ResultsTable:
    departments: tuple[DepartmentResult, ...]
    bureaus: tuple[RollupRow, ...]
    prefecture: RollupRow
    bands: tuple[BandCount, ...]
    totals: Totals  # over the 所属 shown (one 部局 when filtered)
    sections: tuple[Section, ...]
    findings: tuple[str, ...]
    sort: str | None  # the column sorted by, None for tree order
    descending: bool


def totals(departments: Sequence[DepartmentResult]) -> Totals:
    return Totals(len(departments), sum(d.submitted for d in departments),
                  sum(d.staff_responses for d in departments),
                  sum(d.headcount for d in departments))


def band_counts(questionnaire: Questionnaire,
                departments: Sequence[DepartmentResult]) -> tuple[BandCount, ...]:
    """How many 所属 fall in each band (best first), then those without a score."""
    found = Counter(d.band.id if d.band else None for d in departments)
    total = len(departments)
    ordered: list[Band | None] = [*sorted(questionnaire.bands, key=lambda b: -b.min), None]
    return tuple(
        BandCount(band, found[band.id if band else None],
                  found[band.id if band else None] / total if total else None)
        for band in ordered)


def bureau_rows(scores: RoundScores, bureau_code: str | None) -> tuple[RollupRow, ...]:
    grouped: dict[str, list[DepartmentResult]] = {}
    for result in scores.departments:
        grouped.setdefault(result.parent_code or "", []).append(result)
    return tuple(_bureau_row(bureau, grouped.get(bureau.code, []))
                 for bureau in scores.bureaus
                 if bureau_code is None or bureau.code == bureau_code)


def _bureau_row(bureau: BureauResult, members: Sequence[DepartmentResult]) -> RollupRow:
    return RollupRow(bureau.code, bureau.name, bureau.scores, bureau.band, totals(members))


def prefecture_row(scores: RoundScores, name: str) -> RollupRow:
    return RollupRow(None, name, scores.prefecture, scores.prefecture_band,
                     totals(scores.departments))


def results_table(scores: RoundScores, bureau_code: str | None, sort: str | None,
                  descending: bool, prefecture_name: str = "全庁") -> ResultsTable:
    """The 所属 of one 部局 (or all), sorted by a whitelisted column (None: tree order)."""
    shown = [d for d in scores.departments
             if bureau_code is None or d.parent_code == bureau_code]
    key = sort_keys(scores.questionnaire).get(sort or "")
    if key is None:
        sort, descending = None, False
    else:
        shown = sort_departments(shown, key, descending)
    return ResultsTable(
        tuple(shown), bureau_rows(scores, bureau_code), prefecture_row(scores, prefecture_name),
        band_counts(scores.questionnaire, shown), totals(shown),
        scored_sections(scores.questionnaire),
        tuple(ordered_findings(scores.questionnaire.findings)), sort, descending)


def staff_only_sections(questionnaire: Questionnaire) -> frozenset[str]:
    """Sections scored only from staff answers: blank for a 所属 below the minimum."""
    department = {s.id for s in questionnaire.sections_for("department")
                  if any(q.scored for q in s.questions)}
    return frozenset(s.id for s in scored_sections(questionnaire) if s.id not in department)


# --- round choice ----------------------------------------------------------------------


def latest_round(rounds: Sequence[round_service.Round]) -> round_service.Round | None:
    """The newest round that has opened (a draft has no answers yet), else the newest."""
    ordered = sorted(rounds, key=lambda r: (r.fiscal_year, r.id), reverse=True)
    started = [r for r in ordered if r.status != "draft"]
    return (started or ordered or [None])[0]


def default_pair(rounds: Sequence[round_service.Round]) -> tuple[int, int] | None:
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

    @property
    def missed_rate(self) -> float | None:
        """How far below full marks: 1 - mean r (the sort order of "most missed")."""
        return None if self.mean_ratio is None else 1 - self.mean_ratio


def question_summaries(db: Database, scores: RoundScores,
                       code: str | None = None) -> list[QuestionSummary]:
    """Every choice question of the round, department and staff answers separately.

    Prefecture-wide (`code` None) all submitted answers count. For one 所属 its staff
    answers count only when at least the anonymity minimum answered: below that the
    question shows no counts at all (`aggregate.choice_distribution` returns nothing).
    """
    results = [d for d in scores.departments if code is None or d.code == code]
    summaries = []
    for audience in ("department", "staff"):
        counts = aggregate.choice_distribution(db, scores.round.id, scores.questionnaire,
                                               audience, scores.anonymity_min, code)
        respondents = _respondents(db, scores, audience, code, counts)
        summaries += [question_summary(q, counts.get(q.id, {}), respondents.get(q.id, 0),
                                       results)
                      for q in scores.questionnaire.questions_for(audience)
                      if q.type in CHOICE_TYPES]
    order = {q.id: i for i, q in enumerate(scores.questionnaire.questions)}
    return sorted(summaries, key=lambda s: order[s.question.id])


def _respondents(db: Database, scores: RoundScores, audience: str, code: str | None,
                 counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Answers per question; a multi_choice needs the database, the rest add up counts."""
    found = {qid: sum(values.values()) for qid, values in counts.items()}
    multi = [q.id for q in scores.questionnaire.questions_for(audience)
             if q.type == "multi_choice" and q.id in counts]
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
    correct = unknown = None
    if question.type == "quiz" and answers:
        correct = sum(c.count for c in choices if c.choice.correct) / answers
        unknown = counts.get(scoring.UNKNOWN_CHOICE, 0) / answers
    return QuestionSummary(question, answers, choices, mean, len(ratios), correct, unknown)


def most_missed(summaries: Iterable[QuestionSummary],
                limit: int = MOST_MISSED_LIMIT) -> list[QuestionSummary]:
    """Scored questions with the lowest mean `r` first (a quiz's `r` is its correct
    rate): the topics for next year's training."""
    scored = [s for s in summaries if s.mean_ratio is not None]
    return sorted(scored, key=lambda s: (s.mean_ratio, s.question.id))[:limit]


# --- year-over-year --------------------------------------------------------------------


RETIRED = "retired"


@dataclass(frozen=True)
class QuestionChange:
    """One question that is not `same` between the two versions (a mark on the page)."""

    question_id: str
    relation: str  # reworded, split, merged, approximate, new, retired
    from_ids: tuple[str, ...]
    replaced_by: tuple[str, ...] = ()


def section_changes(comparison: Comparison) -> dict[str, list[QuestionChange]]:
    """{section id: its questions that changed}, the later version's sections first;
    a retired question is listed under its section of the earlier version."""
    before, after = comparison.before.questionnaire, comparison.after.questionnaire
    changes: dict[str, list[QuestionChange]] = {}
    for match in comparison.questions:
        if match.relation != lineage.SAME:
            section_id = after.question(match.to_id).section_id
            changes.setdefault(section_id, []).append(_question_change(match))
    for retired in retired_questions(comparison):
        changes.setdefault(before.question(retired.question_id).section_id, []).append(
            retired)
    return changes


def _question_change(match: QuestionMatch) -> QuestionChange:
    return QuestionChange(match.to_id, match.relation, match.from_ids)


def retired_questions(comparison: Comparison) -> list[QuestionChange]:
    before, after = comparison.before.questionnaire, comparison.after.questionnaire
    return [QuestionChange(entry.id, RETIRED, (entry.id,), entry.replaced_by)
            for entry in lineage.retired_between(before, after)]


def compared_departments(comparison: Comparison, visible: Callable[[str], bool],
                         bureau_code: str | None) -> list[DepartmentComparison]:
    """The 所属 rows a user may see, optionally of one 部局, in tree order."""
    return [d for d in comparison.departments
            if visible(d.code) and (bureau_code is None or d.parent_code == bureau_code)]


def compared_sections(comparison: Comparison) -> list[Section]:
    """Sections with a score on either side, the later version's first."""
    later = list(scored_sections(comparison.after.questionnaire))
    ids = {s.id for s in later}
    return later + [s for s in scored_sections(comparison.before.questionnaire)
                    if s.id not in ids]


# --- one 所属 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One line of a 所属's page: its score beside its 部局's and the prefecture's."""

    kind: str  # overall | section | finding
    key: str
    own: float | None
    own_band: Band | None
    bureau: float | None
    prefecture: float | None
    n_prefecture: int  # 所属 behind the prefecture figure


@dataclass(frozen=True)
class DepartmentPage:
    unit: Mapping
    history: tuple[aggregate.HistoryEntry, ...]
    entry: aggregate.HistoryEntry | None  # the round shown in detail
    scores: RoundScores | None  # that round, for the 部局 and prefecture figures
    figures: tuple[Figure, ...]

    @property
    def result(self) -> DepartmentResult | None:
        """The 所属's own row in the shown round (None when a predecessor answered)."""
        return None if self.scores is None else self.scores.department(self.unit["code"])

    @property
    def bureau(self) -> BureauResult | None:
        if self.scores is None:
            return None
        return next((b for b in self.scores.bureaus if b.code == self.unit["parent_code"]),
                    None)


def department_page(db: Database, code: str, round_id: int | None,
                    anonymity_min: int) -> DepartmentPage | None:
    """A 所属's history and one round in detail (`round_id`, default the latest).

    Round scores are computed once, for the round shown, because the prefecture and
    部局 figures need every 所属; the history needs only this 所属 (and predecessors).
    None when `code` is not a 所属.
    """
    unit = department_store.get_department(db, code)
    history = aggregate.department_history(db, code, anonymity_min)
    if unit is None or history is None:
        return None
    entry = next((e for e in history if e.round.id == round_id), None)
    entry = entry or (history[-1] if history else None)
    if entry is None:
        return DepartmentPage(unit, (), None, None, ())
    scores = aggregate.round_scores(db, entry.round.id, anonymity_min)
    return DepartmentPage(unit, tuple(history), entry, scores,
                          tuple(department_figures(scores, entry, unit["parent_code"])))


def department_figures(scores: RoundScores, entry: aggregate.HistoryEntry,
                       bureau_code: str | None) -> list[Figure]:
    questionnaire, own, prefecture = scores.questionnaire, entry.scores, scores.prefecture
    bureau = next((b.scores for b in scores.bureaus if b.code == bureau_code), None)
    figures = [Figure("overall", "overall", own.overall, own.band,
                      bureau.overall if bureau else None, prefecture.overall,
                      prefecture.n_overall)]
    for kind, keys, own_values, attribute in (
            ("section", [s.id for s in scored_sections(questionnaire)], own.sections,
             "sections"),
            ("finding", ordered_findings(questionnaire.findings), own.findings, "findings")):
        figures += [_figure(kind, key, own_values.get(key), questionnaire, bureau,
                            prefecture, attribute) for key in keys]
    return figures


def _figure(kind: str, key: str, own: float | None, questionnaire: Questionnaire,
            bureau: RollupScores | None, prefecture: RollupScores, attribute: str) -> Figure:
    bureau_value = getattr(bureau, attribute).get(key) if bureau else None
    counts = getattr(prefecture, f"n_{attribute}")
    return Figure(kind, key, own, questionnaire.band_for(own), bureau_value,
                  getattr(prefecture, attribute).get(key), counts.get(key, 0))


def history_sections(history: Sequence[aggregate.HistoryEntry]) -> list[str]:
    """Section ids scored in any round of a history, in the order first seen."""
    seen: dict[str, None] = {}
    for entry in history:
        seen.update((key, None) for key, value in entry.scores.sections.items()
                    if value is not None)
    return list(seen)
