"""Round results: per 所属, per 部局 and prefecture-wide scores (DESIGN.md §4).

The database does the heavy part: `store.results` returns, per 所属 and question, the
`r` of the submitted department response, the mean `r` (with counts) over the
submitted staff responses and each system block's `r`, so no answer row is ever loaded
here. This module applies the rules on top: department questions only from a SUBMITTED
department response, staff questions only when at least `anonymity_min` staff answered
(else the 所属 is flagged "n < 5" and its staff items are left out), system questions
as the mean over the 所属's systems (DESIGN.md §12), then `scoring` turns the ratios
into section, overall and finding scores, and 部局 / prefecture figures are unweighted
means of their 所属 with the number of 所属 behind each figure.

A 所属 replaced in a reorganisation names its `successor_code`; the successor's
history includes its predecessors' rounds (`predecessor_codes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import audiences, config, question_types, scoring
from surveyapp.model import Band, Questionnaire, RollupScores, Scores
from surveyapp.readmodels import kept
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.store import departments as department_store
from surveyapp.store import results as result_store

DEFAULT_ANONYMITY_MIN = int(config.DEFAULTS["ANONYMITY_MIN_RESPONSES"])

Ratios = Mapping[str, float]
# Whose answers an overall score rests on; every page names it beside the score.
SCORE_BASES = ("department", "staff", "combined")


@dataclass(frozen=True)
class DepartmentResult:
    """One 所属 in one round; `ratios` are the per-question `r` behind its scores."""

    code: str
    name: str
    parent_code: str | None
    submitted: bool
    staff_responses: int
    headcount: int
    staff_hidden: bool  # fewer staff answers than the anonymity minimum ("n < 5")
    scores: Scores
    ratios: Ratios
    systems: int = 0  # systems whose blocks count in its scores (§12)

    @property
    def response_rate(self) -> float | None:
        """Submitted staff responses / headcount (a fraction); None without a headcount."""
        return self.staff_responses / self.headcount if self.headcount else None

    @property
    def overall(self) -> float | None:
        return self.scores.overall

    @property
    def basis(self) -> str | None:
        """Whose answers the overall score rests on (a `SCORE_BASES` key), None without
        one: the submitted self-check with the staff answers (combined), the self-check
        alone (fewer staff answers than the minimum) or the staff answers alone (the
        self-check not submitted)."""
        if self.overall is None:
            return None
        staff = self.staff_responses > 0 and not self.staff_hidden
        if self.submitted:
            return "combined" if staff else "department"
        return "staff"

    @property
    def band(self) -> Band | None:
        return self.scores.band

    @property
    def sections(self) -> Mapping[str, float | None]:
        return self.scores.sections

    @property
    def findings(self) -> Mapping[str, float | None]:
        return self.scores.findings


@dataclass(frozen=True)
class BureauResult:
    """A 部局: the unweighted mean of its 所属's scores."""

    code: str
    name: str
    scores: RollupScores
    band: Band | None
    n_members: int  # 所属 of the 部局 in the round, with or without a figure


@dataclass(frozen=True)
class RoundScores:
    round: round_reads.Round
    questionnaire: Questionnaire
    anonymity_min: int
    departments: tuple[DepartmentResult, ...]
    bureaus: tuple[BureauResult, ...]
    prefecture: RollupScores

    @property
    def prefecture_band(self) -> Band | None:
        return self.questionnaire.band_for(self.prefecture.overall)

    def department(self, code: str) -> DepartmentResult | None:
        return next((d for d in self.departments if d.code == code), None)


@dataclass(frozen=True)
class HistoryEntry:
    """A 所属's figures in one round; `codes` are the 所属 behind them (predecessors)."""

    round: round_reads.Round
    codes: tuple[str, ...]
    scores: Scores


# --- one round ---------------------------------------------------------------------


def load_round(db: Database, round_id: int) -> tuple[round_reads.Round, Questionnaire]:
    found = round_reads.require_round(db, round_id)
    return found, get_definition(db, found.questionnaire_id, found.version)


def round_scores(db: Database, round_id: int, anonymity_min: int) -> RoundScores:
    """Every 所属 valid in the round's fiscal year, its 部局 and the prefecture.

    Kept between calls; after a write only the 所属 it touched are scored again, and
    the means of their 部局 and of the prefecture (`refreshed_round_scores`). A 300-所属
    round costs seconds to score at two million answers, one 所属 milliseconds."""
    return kept.kept_round(
        db, round_id, ("round_scores", anonymity_min),
        lambda: compute_round_scores(db, round_id, anonymity_min),
        lambda scores, codes: refreshed_round_scores(db, scores, codes))


def compute_round_scores(db: Database, round_id: int, anonymity_min: int) -> RoundScores:
    round_, questionnaire = load_round(db, round_id)
    units = department_store.list_units(db, fiscal_year=round_.fiscal_year)
    results = score_departments(db, round_.id, questionnaire, units, anonymity_min)
    bureaus = bureau_results(db, questionnaire, results)
    prefecture = scoring.rollup(result.scores for result in results)
    return RoundScores(round_, questionnaire, anonymity_min, tuple(results), bureaus,
                       prefecture)


def refreshed_round_scores(db: Database, scores: RoundScores,
                           codes: Iterable[str]) -> RoundScores:
    """`scores` with the 所属 in `codes` scored again from the database, and the means
    of their 部局 and of the prefecture; every other figure is kept as it is.

    Only answers and statuses can have changed (a change of the departments, the
    systems or the round itself makes the whole round be computed again), so each
    所属's row is the one `scores` already holds."""
    changed = set(codes)
    units = [{"code": d.code, "name": d.name, "parent_code": d.parent_code,
              "headcount": d.headcount} for d in scores.departments if d.code in changed]
    if not units:
        return scores
    fresh = {result.code: result for result in score_departments(
        db, scores.round.id, scores.questionnaire, units, scores.anonymity_min)}
    results = tuple(fresh.get(d.code, d) for d in scores.departments)
    parents = {unit["parent_code"] for unit in units}
    bureaus = tuple(
        bureau_result(scores.questionnaire, bureau.code, bureau.name,
                      [r for r in results if r.parent_code == bureau.code])
        if bureau.code in parents else bureau for bureau in scores.bureaus)
    return dataclasses.replace(scores, departments=results, bureaus=bureaus,
                               prefecture=scoring.rollup(r.scores for r in results))


def score_departments(db: Database, round_id: int, questionnaire: Questionnaire,
                      units: Sequence[dict], anonymity_min: int) -> list[DepartmentResult]:
    """Scores of the given 所属 rows, from the round's SQL aggregates."""
    codes = [unit["code"] for unit in units]
    department = _ratios_by_code(result_store.department_answer_ratios(db, round_id, codes))
    staff = _ratios_by_code(result_store.staff_answer_ratios(db, round_id, codes))
    counts = result_store.staff_response_counts(db, round_id, codes)
    submitted = result_store.submitted_departments(db, round_id, codes)
    systems = system_ratio_sets(db, round_id, questionnaire, codes)
    return [
        department_result(questionnaire, unit, department.get(unit["code"], {}) if
                          unit["code"] in submitted else None,
                          staff.get(unit["code"], {}), counts.get(unit["code"], 0),
                          anonymity_min, systems.get(unit["code"], {}).values())
        for unit in units
    ]


def _ratios_by_code(found: Iterable[dict]) -> dict[str, dict[str, float]]:
    by_code: dict[str, dict[str, float]] = {}
    for row in found:
        by_code.setdefault(row["department_code"], {})[row["question_id"]] = row["ratio"]
    return by_code


def system_ratio_sets(db: Database, round_id: int, questionnaire: Questionnaire,
                      codes: Iterable[str] | None = None
                      ) -> dict[str, dict[str, dict[str, float]]]:
    """{所属 code: {system code: {question id: r}}} of the blocks of submitted 所属,
    every block listed (one answered only "not applicable" has no `r` but counts as a
    system of its 所属)."""
    if not questionnaire.questions_for(audiences.SYSTEM.name):
        return {}
    found: dict[str, dict[str, dict[str, float]]] = {}
    for block in result_store.system_responses(db, round_id, codes):
        if block["submitted"]:
            found.setdefault(block["department_code"], {})[block["system_code"]] = {}
    for department_code, system_code, question_id, ratio in (
            result_store.system_answer_ratios(db, round_id, codes)):
        found.setdefault(department_code, {}).setdefault(system_code, {})[question_id] = ratio
    return found


def department_result(questionnaire: Questionnaire, unit: Mapping, department: Ratios | None,
                      staff: Ratios, staff_responses: int, anonymity_min: int,
                      systems: Iterable[Ratios] = ()) -> DepartmentResult:
    """One 所属; `department` is None unless its department response is submitted;
    `systems` holds one `r` mapping per system block."""
    hidden = not audiences.STAFF.counts(staff_responses, anonymity_min)
    systems = list(systems)
    ratios = unit_ratios(questionnaire, department, {} if hidden else staff, systems)
    return DepartmentResult(
        code=unit["code"], name=unit["name"], parent_code=unit["parent_code"],
        submitted=department is not None, staff_responses=staff_responses,
        headcount=unit["headcount"] or 0, staff_hidden=hidden,
        scores=scoring.scores_from_ratios(questionnaire, ratios), ratios=ratios,
        systems=len(systems))


def unit_ratios(questionnaire: Questionnaire, department: Ratios | None, staff: Ratios,
                systems: Sequence[Ratios] = ()) -> dict[str, float]:
    """`r` per question, each audience by its own rule (`audiences.Audience`).

    `department` is the submitted response's `r` (None when not submitted); `staff` the
    mean over its staff responses, averaged in SQL and empty below the anonymity
    minimum (so it counts as one ready-made set here); `systems` one set per system.
    Each audience only supplies questions of its own, so a stray answer stored under
    the wrong audience can never leak into a score.
    """
    sources = {audiences.DEPARTMENT.name: [] if department is None else [department],
               audiences.STAFF.name: [staff] if staff else [],
               audiences.SYSTEM.name: list(systems)}
    ratios: dict[str, float] = {}
    for audience in audiences.REGISTRY.values():
        ratios.update(audience.mean_ratios(questionnaire.questions_for(audience.name),
                                           sources.get(audience.name, []), 1))
    return ratios


def bureau_results(db: Database, questionnaire: Questionnaire,
                   results: Sequence[DepartmentResult]) -> tuple[BureauResult, ...]:
    """One row per 部局 that has 所属 in the round, in 部局 code order."""
    grouped: dict[str | None, list[DepartmentResult]] = {}
    for result in results:
        grouped.setdefault(result.parent_code, []).append(result)
    return tuple(bureau_result(questionnaire, bureau["code"], bureau["name"],
                               grouped[bureau["code"]])
                 for bureau in department_store.list_bureaus(db)
                 if grouped.get(bureau["code"]))


def bureau_result(questionnaire: Questionnaire, code: str, name: str,
                  members: Sequence[DepartmentResult]) -> BureauResult:
    rolled = scoring.rollup(member.scores for member in members)
    return BureauResult(code, name, rolled, questionnaire.band_for(rolled.overall),
                        len(members))


# --- choice distributions ------------------------------------------------------------


def choice_distribution(db: Database, round_id: int, questionnaire: Questionnaire,
                        audience: str, anonymity_min: int,
                        code: str | None = None) -> dict[str, dict[str, int]]:
    """{question id: {choice value: answers}} over submitted responses (memoised: the
    prefecture-wide counts read every staff answer of the round).

    For one 所属's staff answers the counts exist only when at least `anonymity_min`
    staff answered; below that the result is empty, as with the scores. Prefecture-wide
    (`code` None) every submitted answer counts: pooled over all 所属, no group is small.
    """
    key = ("choices", round_id, questionnaire.id, questionnaire.version, audience,
           anonymity_min, code)
    return kept.memoised(db, key, lambda: _choice_distribution(
        db, round_id, questionnaire, audience, anonymity_min, code))


def _choice_distribution(db: Database, round_id: int, questionnaire: Questionnaire,
                         audience: str, anonymity_min: int,
                         code: str | None) -> dict[str, dict[str, int]]:
    codes = None if code is None else [code]
    rule = audiences.lookup(audience)
    if rule.anonymous and code is not None:  # one 所属's anonymous answers: only from n
        counts = result_store.staff_response_counts(db, round_id, codes)
        if not rule.counts(counts.get(code, 0), anonymity_min):
            return {}
    questions = [q for q in questionnaire.questions_for(audience)
                 if question_types.of(q).has_choices]
    found = result_store.choice_counts(db, round_id, audience, [q.id for q in questions],
                                       codes)
    return _count_values(questionnaire, questions, found)


def _count_values(questionnaire: Questionnaire, questions: Sequence,
                  found: Iterable[dict]) -> dict[str, dict[str, int]]:
    distribution = {q.id: {choice.value: 0 for choice in q.choices} for q in questions}
    for row in found:
        question = questionnaire.question(row["question_id"])
        kind = question_types.of(question)
        for value in question_types.as_tuple(kind.from_text(question, row["value"])):
            counts = distribution[question.id]
            counts[value] = counts.get(value, 0) + row["n"]
    return distribution


# --- history across rounds and reorganisations -------------------------------------------


def predecessor_codes(departments: Mapping[str, Mapping], code: str) -> tuple[str, ...]:
    """`code` and every 所属 whose chain of `successor_code` leads to it."""
    # One walk, not the whole index: the department form asks this on every submission
    # (bench/README.md).
    return _walk_back(_replaced_by(departments), code)


def predecessor_index(departments: Mapping[str, Mapping]) -> dict[str, tuple[str, ...]]:
    """{code: (code, its predecessors...)} for every department, built in one pass."""
    replaced = _replaced_by(departments)
    return {code: _walk_back(replaced, code) for code in departments}


def _replaced_by(departments: Mapping[str, Mapping]) -> dict[str, list[str]]:
    """{successor code: the codes it replaced}, in code order."""
    replaced: dict[str, list[str]] = {}
    for code in sorted(departments):
        successor = departments[code]["successor_code"]
        if successor is not None:
            replaced.setdefault(successor, []).append(code)
    return replaced


def _walk_back(replaced: Mapping[str, list[str]], code: str) -> tuple[str, ...]:
    chain, pending = [code], [code]
    while pending:
        for earlier in replaced.get(pending.pop(0), ()):
            if earlier not in chain:  # the import refuses cycles; never loop anyway
                chain.append(earlier)
                pending.append(earlier)
    return tuple(chain)


def valid_in(unit: Mapping, fiscal_year: int) -> bool:
    """A department row's validity: NULL bounds are open."""
    starts, ends = unit["valid_from"], unit["valid_to"]
    return (starts is None or starts <= fiscal_year) and (ends is None or ends >= fiscal_year)


def department_history(db: Database, code: str,
                       anonymity_min: int = DEFAULT_ANONYMITY_MIN) -> list[HistoryEntry] | None:
    """A 所属's scores in every non-draft round, oldest first, through reorganisations.

    In a round where several of its predecessors existed (a merger) the figures are
    their unweighted mean, as for a 部局. None when `code` is no 所属.
    """
    departments = department_store.departments_by_code(db)
    if code not in departments or departments[code]["parent_code"] is None:
        return None
    chain = [departments[c] for c in predecessor_codes(departments, code)]
    rounds = sorted((r for r in round_reads.list_rounds(db) if r.status != "draft"),
                    key=lambda r: (r.fiscal_year, r.id))
    entries = [history_entry(db, round_, chain, anonymity_min) for round_ in rounds]
    return [entry for entry in entries if entry is not None]


def history_entry(db: Database, round_: round_reads.Round, chain: Sequence[Mapping],
                  anonymity_min: int) -> HistoryEntry | None:
    units = [unit for unit in chain if valid_in(unit, round_.fiscal_year)]
    if not units:
        return None
    questionnaire = get_definition(db, round_.questionnaire_id, round_.version)
    results = score_departments(db, round_.id, questionnaire, units, anonymity_min)
    return HistoryEntry(round_, tuple(unit["code"] for unit in units),
                        combined_scores(questionnaire, [r.scores for r in results]))


def combined_scores(questionnaire: Questionnaire, scores: Sequence[Scores]) -> Scores:
    """One 所属's scores as they are; several (a merger) as their unweighted mean."""
    if len(scores) == 1:
        return scores[0]
    rolled = scoring.rollup(scores)
    return Scores(rolled.overall, questionnaire.band_for(rolled.overall), rolled.sections,
                  rolled.findings)
