"""Year-over-year comparison of two rounds of one questionnaire.

Per 所属: overall and section scores of both rounds with their difference. A section is
`comparable` only when its scored question set is the same in both versions through
lineage (every scored question `same` or `reworded`, nothing split, merged, approximate,
new or retired in it); the "common items only" figure (`common`) recomputes both sides
over the comparable question pairs alone, so a real change can be told from a change of
the questionnaire. 所属 are matched by code, following `successor_code`: a 所属's
figure in the earlier round is its own, or its predecessors' (their mean after a
merger).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import lineage, scoring
from surveyapp.model import N_, QuestionMatch, Questionnaire, RollupScores, Scores
from surveyapp.readmodels import aggregate
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.refusals import Invalid
from surveyapp.store import departments as department_store

NOT_COMPARABLE = N_("異なる調査票の調査回は比較できません")


@dataclass(frozen=True)
class Change:
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class SectionChange:
    change: Change
    comparable: bool
    common: Change  # both sides over the comparable question pairs only


@dataclass(frozen=True)
class FigureChanges:
    """Overall and per-section changes of one 所属 (or the prefecture)."""

    overall: Change
    overall_common: Change
    sections: Mapping[str, SectionChange]


@dataclass(frozen=True)
class DepartmentComparison:
    code: str
    name: str
    parent_code: str | None
    from_codes: tuple[str, ...]  # the 所属 behind the earlier figures
    changes: FigureChanges


@dataclass(frozen=True)
class Comparison:
    before: RoundScores
    after: RoundScores
    questions: tuple[QuestionMatch, ...]
    section_comparable: Mapping[str, bool]
    departments: tuple[DepartmentComparison, ...]
    prefecture: FigureChanges


@dataclass(frozen=True)
class _Figures:
    """Scores of one side: as defined, and over the common questions only."""

    scores: Scores | RollupScores
    common: Scores | RollupScores


def compare_rounds(db: Database, from_round_id: int, to_round_id: int,
                   anonymity_min: int) -> Comparison:
    """Memoised like `aggregate.round_scores`, which it calls for both rounds."""
    return aggregate.memoised(
        db, ("compare_rounds", from_round_id, to_round_id, anonymity_min),
        lambda: _compare_rounds(db, from_round_id, to_round_id, anonymity_min))


def _compare_rounds(db: Database, from_round_id: int, to_round_id: int,
                    anonymity_min: int) -> Comparison:
    before = aggregate.round_scores(db, from_round_id, anonymity_min)
    after = aggregate.round_scores(db, to_round_id, anonymity_min)
    if before.round.questionnaire_id != after.round.questionnaire_id:
        raise Invalid(NOT_COMPARABLE)
    matches = tuple(lineage.match_questions(before.questionnaire, after.questionnaire))
    comparable = section_comparability(before.questionnaire, after.questionnaire, matches)
    common = lineage.common_question_ids(before.questionnaire, after.questionnaire)
    departments = compare_departments(db, before, after, comparable, common)
    prefecture = _changes(_side_rollup(before, before.departments, set(common.values())),
                          _side_rollup(after, after.departments, set(common)), comparable)
    return Comparison(before, after, matches, comparable, tuple(departments), prefecture)


def section_comparability(before: Questionnaire, after: Questionnaire,
                          matches: Sequence[QuestionMatch]) -> dict[str, bool]:
    """{section id: comparable} over the sections of both versions.

    Only scored questions count: a new free-text or weight-0 question does not move a
    section score, so it does not make the section incomparable.
    """
    by_to = {match.to_id: match for match in matches}
    result = {}
    for section_id in _section_ids(before, after):
        earlier, later = before.section(section_id), after.section(section_id)
        if earlier is None or later is None:
            result[section_id] = False
            continue
        later_scored = [q.id for q in later.questions if q.scored]
        pairs = [by_to[qid] for qid in later_scored]
        same_set = {m.from_ids[0] for m in pairs if m.comparable} == {
            q.id for q in earlier.questions if q.scored}
        result[section_id] = same_set and all(m.comparable for m in pairs)
    return result


def _section_ids(before: Questionnaire, after: Questionnaire) -> list[str]:
    ids = [s.id for s in after.sections]
    return ids + [s.id for s in before.sections if s.id not in ids]


def compare_departments(db: Database, before: RoundScores, after: RoundScores,
                        comparable: Mapping[str, bool],
                        common: Mapping[str, str]) -> list[DepartmentComparison]:
    chains = aggregate.predecessor_index(department_store.departments_by_code(db))
    earlier = {result.code: result for result in before.departments}
    compared = []
    for result in after.departments:
        chain = chains.get(result.code, (result.code,))
        sources = [earlier[code] for code in chain if code in earlier]
        changes = _changes(_side_rollup(before, sources, set(common.values())),
                           _side_figures(after, result, set(common)), comparable)
        compared.append(DepartmentComparison(
            result.code, result.name, result.parent_code,
            tuple(source.code for source in sources), changes))
    return compared


def _common_scores(side: RoundScores, result: DepartmentResult,
                   question_ids: set[str]) -> Scores:
    ratios = {qid: r for qid, r in result.ratios.items() if qid in question_ids}
    return scoring.scores_from_ratios(side.questionnaire, ratios)


def _side_figures(side: RoundScores, result: DepartmentResult,
                  question_ids: set[str]) -> _Figures:
    return _Figures(result.scores, _common_scores(side, result, question_ids))


def _side_rollup(side: RoundScores, results: Sequence[DepartmentResult],
                 question_ids: set[str]) -> _Figures:
    """Several 所属 (predecessors, or the whole prefecture) as unweighted means."""
    if len(results) == 1:
        return _side_figures(side, results[0], question_ids)
    return _Figures(scoring.rollup(r.scores for r in results),
                    scoring.rollup(_common_scores(side, r, question_ids) for r in results))


def _changes(before: _Figures, after: _Figures,
             comparable: Mapping[str, bool]) -> FigureChanges:
    sections = {
        section_id: SectionChange(
            Change(before.scores.sections.get(section_id),
                   after.scores.sections.get(section_id)),
            ok,
            Change(before.common.sections.get(section_id),
                   after.common.sections.get(section_id)))
        for section_id, ok in comparable.items()
    }
    return FigureChanges(Change(before.scores.overall, after.scores.overall),
                         Change(before.common.overall, after.common.overall), sections)
