"""View model of the answers-per-question page of a round: choice counts, means and
quiz rates per question, and the most missed questions (the round table is
results_view.py).

Works on what `aggregate` computed for the round; counts come from
`aggregate.choice_distribution`, kept until a score changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import audiences, question_types
from surveyapp.model import Choice, Question
from surveyapp.readmodels import aggregate
from surveyapp.readmodels.aggregate import DepartmentResult, RoundScores
from surveyapp.store import question_stats

MOST_MISSED_LIMIT = 10


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
