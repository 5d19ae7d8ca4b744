"""Scoring: answers + a questionnaire definition -> scores (DESIGN.md §4, a contract).

Pure functions over `surveyapp.model`; no database, no Flask. Terms follow §4: for one
answered question `s` is the chosen points, `m` the question's max, `r = s / m` (may be
negative: わからない −1 on a 4-point scale is −0.25), `w` the question's weight.
Everything is computed in full float precision; rounding is for display only.

What differs per question type (the points of one answer) comes from its class in
`question_types`; how a 所属's `r` comes from its responses, from its audience in
`audiences`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from surveyapp import audiences, question_types
from surveyapp.model import (
    AnswerValue,
    Question,
    Questionnaire,
    RollupScores,
    Scores,
)

Ratios = Mapping[str, float]


# --- one question, one response --------------------------------------------------


def answer_points(question: Question, value: AnswerValue | None) -> float | None:
    """`s`: the chosen points; None when not applicable (該当なし) or unanswered."""
    if question_types.is_empty(value):
        return None
    return question_types.of(question).points(question, value)


def ratio(question: Question, value: AnswerValue | None) -> float | None:
    """`r = s / m`; None when the answer or the question carries no score."""
    points, maximum = answer_points(question, value), question.max_score
    if points is None or maximum is None or maximum <= 0:
        return None
    return points / maximum


def stored_scores(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue],
    context: Mapping[str, AnswerValue] | None = None,
) -> dict[str, tuple[float | None, float | None]]:
    """(`s`, `m`) to store beside each given answer; `s` is None when not relevant.
    `context` holds other answers a `relevant` expression may read (a system's block
    reads its 所属's department answers, DESIGN.md §12)."""
    known = {**context, **answers} if context else answers
    result = {}
    for question_id, value in answers.items():
        question = questionnaire.question(question_id)
        if question is None:
            continue
        relevant = question.is_relevant(known)
        points = answer_points(question, value) if relevant else None
        result[question_id] = (points, question.max_score)
    return result


def response_ratios(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue],
    audience: str | None = None, context: Mapping[str, AnswerValue] | None = None,
) -> dict[str, float]:
    """`r` per scored, relevant, applicable and answered question of one response (of
    `audience`'s questions only, when given; `context` as for `stored_scores`)."""
    known = {**context, **answers} if context else answers
    questions = (questionnaire.questions if audience is None
                 else questionnaire.questions_for(audience))
    ratios = {}
    for question in questions:
        if question.scored and question.is_relevant(known):
            value = ratio(question, answers.get(question.id))
            if value is not None:
                ratios[question.id] = value
    return ratios


# --- scores from ratios -----------------------------------------------------------
# One pass over the answered questions adds each `w·r` to the totals of its section, of
# each of its findings and of the whole: a round of 1,500 systems is scored 1,800 times
# (bench/systems.py), and a pass per finding over every question took most of its time.

OVERALL = ("overall",)
Totals = dict[tuple, tuple[list[float], list[float]]]


def weighted_totals(questionnaire: Questionnaire, ratios: Ratios) -> Totals:
    """{key: (the terms `100·w·r`, the weights `w`)} for the keys ("section", id),
    ("finding", finding) and OVERALL, over the scored questions that have an `r`."""
    totals: Totals = {}
    for question_id, value in ratios.items():
        question = questionnaire.scored_questions.get(question_id)
        if question is None:
            continue
        term, weight = 100 * question.weight * value, question.weight
        for key in (("section", question.section_id), OVERALL,
                    *(("finding", finding) for finding in question.findings)):
            terms, weights = totals.setdefault(key, ([], []))
            terms.append(term)
            weights.append(weight)
    return totals


def total_score(parts: tuple[list[float], list[float]] | None) -> float | None:
    """`100 · Σ w·r / Σ w` of one total, floored at 0; None when nothing is scored."""
    if not parts:
        return None
    total = math.fsum(parts[0]) / math.fsum(parts[1])
    # The floor is the contract's; the cap only absorbs float noise above 100.
    return min(100.0, max(0.0, total))


def weighted_mean(scores: Iterable[tuple[float, float | None]]) -> float | None:
    """Mean of (weight, score) pairs, skipping None scores and zero weights."""
    pairs = [(w, s) for w, s in scores if s is not None and w > 0]
    if not pairs:
        return None
    return min(100.0, math.fsum(w * s for w, s in pairs) / math.fsum(w for w, _ in pairs))


def scores_from_ratios(questionnaire: Questionnaire, ratios: Ratios) -> Scores:
    """Section, overall and finding scores (§4) from `r` per question."""
    totals = weighted_totals(questionnaire, ratios)
    sections = {s.id: total_score(totals.get(("section", s.id)))
                for s in questionnaire.sections}
    if questionnaire.method == "section_mean":
        overall = weighted_mean((s.weight, sections[s.id]) for s in questionnaire.sections)
    else:
        overall = total_score(totals.get(OVERALL))
    findings = {finding: total_score(totals.get(("finding", finding)))
                for finding in questionnaire.findings}
    return Scores(overall=overall, band=questionnaire.band_for(overall),
                  sections=sections, findings=findings)


def score_response(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue],
                   audience: str | None = None,
                   context: Mapping[str, AnswerValue] | None = None) -> Scores:
    """One response's scores; a system's block is scored over its own answers only
    (`audience` "system"), its relevance read with its 所属's answers (`context`)."""
    return scores_from_ratios(questionnaire,
                              response_ratios(questionnaire, answers, audience, context))


def self_check_scores(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue],
                      system_answer_sets: Sequence[Mapping[str, AnswerValue]] = ()) -> Scores:
    """A self-check's own scores: its department answers, and each system question as
    the mean over the 所属's system blocks (`system_answer_sets`, §12); staff answers
    are not part of it."""
    system = audiences.SYSTEM.name
    system_sets = [response_ratios(questionnaire, block, system, answers)
                   for block in system_answer_sets]
    ratios = department_ratios(questionnaire, response_ratios(
        questionnaire, answers, audiences.form_audience(audiences.SELF_CHECK)), [], 1,
        system_sets)
    return scores_from_ratios(questionnaire, ratios)


# --- a 所属, and roll-ups to 部局 and prefecture ------------------------------------


def department_ratios(
    questionnaire: Questionnaire,
    department_ratios: Ratios | None,
    staff_ratio_sets: Sequence[Ratios],
    anonymity_min: int,
    system_ratio_sets: Sequence[Ratios] = (),
) -> dict[str, float]:
    """`r` per question for one 所属 (§4, §12), each audience by its own rule
    (`audiences.Audience.mean_ratios`).

    Department questions come from its one department response (None when it has not
    submitted). Staff questions are the mean `r` over its staff responses, and only when
    at least `anonymity_min` staff answered: below that they are left out entirely, so
    too few answers never show up, not even inside a score. System questions are the
    mean `r` over its systems' responses (`system_ratio_sets`, one per system); a 所属
    without systems leaves them out.
    """
    ratio_sets = {audiences.DEPARTMENT.name: [] if department_ratios is None
                  else [department_ratios],
                  audiences.STAFF.name: list(staff_ratio_sets),
                  audiences.SYSTEM.name: list(system_ratio_sets)}
    ratios: dict[str, float] = {}
    for audience in audiences.REGISTRY.values():
        ratios.update(audience.mean_ratios(questionnaire.questions_for(audience.name),
                                           ratio_sets.get(audience.name, []), anonymity_min))
    return ratios


def rollup(scores: Iterable[Scores]) -> RollupScores:
    """部局 / prefecture: unweighted mean of the 所属 scores, each 所属 counted once.

    A 所属 with None for a figure is left out of that figure only; the counts say how
    many 所属 stand behind each number.
    """
    scores = list(scores)
    overall, n_overall = _mean_with_count(s.overall for s in scores)
    sections, n_sections = _mean_per_key(s.sections for s in scores)
    findings, n_findings = _mean_per_key(s.findings for s in scores)
    return RollupScores(overall=overall, sections=sections, findings=findings,
                        n_overall=n_overall, n_sections=n_sections, n_findings=n_findings)


def _mean_with_count(values: Iterable[float | None]) -> tuple[float | None, int]:
    present = [v for v in values if v is not None]
    if not present:
        return None, 0
    return min(100.0, math.fsum(present) / len(present)), len(present)


def _mean_per_key(
    mappings: Iterable[Mapping[str, float | None]],
) -> tuple[dict[str, float | None], dict[str, int]]:
    collected: dict[str, list[float | None]] = {}
    for mapping in mappings:
        for key, value in mapping.items():
            collected.setdefault(key, []).append(value)
    means = {key: _mean_with_count(values) for key, values in collected.items()}
    return ({k: m for k, (m, _) in means.items()}, {k: n for k, (_, n) in means.items()})


# --- audit verification (DESIGN.md §9) -------------------------------------------------


def reliability(confirmed: int, discrepancies: int) -> float | None:
    """confirmed / (confirmed + discrepancies): how much of what the auditors could
    check held true (unverifiable answers count on neither side); None when both are 0."""
    checked = confirmed + discrepancies
    return confirmed / checked if checked else None


def verified_ratios(questionnaire: Questionnaire, unit_ratios: Ratios,
                    answers: Mapping[str, AnswerValue],
                    found: Mapping[str, AnswerValue | None],
                    audience: str = audiences.DEPARTMENT.name) -> dict[str, float]:
    """A 所属's `r` per question with what the auditors found in place of what it
    reported: its `audience` response (`answers`) scored again with `found` (question
    id -> the value found on site) over it, so relevance follows the found values too;
    every other audience's `r` is `unit_ratios`' (staff answers stay as they are)."""
    own = {question.id for question in questionnaire.questions_for(audience)}
    kept = {question_id: r for question_id, r in unit_ratios.items() if question_id not in own}
    rescored = response_ratios(questionnaire, {**answers, **found})
    return {**kept, **{question_id: r for question_id, r in rescored.items()
                       if question_id in own}}


def verified_scores(questionnaire: Questionnaire, unit_ratios: Ratios,
                    answers: Mapping[str, AnswerValue],
                    found: Mapping[str, AnswerValue | None]) -> Scores:
    """The verified score of §9: §4's scores over `verified_ratios`."""
    return scores_from_ratios(questionnaire,
                              verified_ratios(questionnaire, unit_ratios, answers, found))
