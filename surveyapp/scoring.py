"""Scoring: answers + a questionnaire definition -> scores (DESIGN.md §4, a contract).

Pure functions over `surveyapp.model`; no database, no Flask. Terms follow §4: for one
answered question `s` is the chosen points, `m` the question's max, `r = s / m` (may be
negative: わからない −1 on a 4-point scale is −0.25), `w` the question's weight.
Everything is computed in full float precision; rounding is for display only.

The question-type registry (`QUESTION_TYPES`) keeps per-type behaviour in one place:
turning raw form strings into a stored value, points, and per-question summaries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Protocol

from surveyapp.model import (
    N_,
    AnswerValue,
    Question,
    Questionnaire,
    RollupScores,
    Scores,
)

MAX_TEXT_LENGTH = 4000
MULTI_SEPARATOR = ";"
UNKNOWN_CHOICE = "unknown"  # the quiz choice counted separately as わからない
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_NUMBER_LENGTH = 40

Ratios = Mapping[str, float]


class InvalidAnswer(ValueError):
    """A raw form value that cannot be stored. `str()` is "<question id>: <Japanese
    message>"; `message` (a msgid, without the id) and `params` let the web layer show
    it in the chosen language, like a refusals.Refusal."""

    def __init__(self, question: Question, message: str, **params: object) -> None:
        super().__init__(f"{question.id}: {message % params if params else message}")
        self.message = message
        self.params = params


# --- question types ---------------------------------------------------------------


def _filled(raw: Iterable[str]) -> list[str]:
    return [text.strip() for text in raw if text and text.strip()]


def _single(question: Question, raw: Iterable[str]) -> str | None:
    filled = _filled(raw)
    if len(filled) > 1:
        raise InvalidAnswer(question, N_("回答は1つだけ入力してください。"))
    return filled[0] if filled else None


def _known_choice(question: Question, value: str) -> str:
    if question.choice(value) is None:
        raise InvalidAnswer(question, N_("選択肢にない値が送信されました。"
                                         "選択肢から選んでください。"))
    return value


def _choice_counts(question: Question, values: Iterable[AnswerValue]) -> dict[str, int]:
    """Counts per choice value, every choice listed (0 when nobody chose it)."""
    chosen = Counter(v for value in values for v in as_tuple(value))
    return {choice.value: chosen[choice.value] for choice in question.choices}


def as_tuple(value: AnswerValue | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _answered(values: Iterable[AnswerValue | None]) -> list[AnswerValue]:
    return [value for value in values if value not in (None, "", ())]


class SingleChoiceType:
    name = "single_choice"

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        value = _single(question, raw)
        return None if value is None else _known_choice(question, value)

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        choice = question.choice(value) if isinstance(value, str) else None
        return None if choice is None or choice.score is None else float(choice.score)

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        answered = _answered(values)
        return {"n": len(answered), "counts": _choice_counts(question, answered)}


class QuizType(SingleChoiceType):
    """A single choice scored 1 when a `correct` choice is chosen, else 0 (max 1)."""

    name = "quiz"

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        choice = question.choice(value) if isinstance(value, str) else None
        if choice is None:
            return None
        return 1.0 if choice.correct else 0.0

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        summary = super().summarise(question, values)
        n, counts = summary["n"], summary["counts"]
        correct = sum(counts[c.value] for c in question.choices if c.correct)
        summary["correct_rate"] = correct / n if n else None
        summary["unknown_rate"] = counts.get(UNKNOWN_CHOICE, 0) / n if n else None
        return summary


class MultiChoiceType(SingleChoiceType):
    """Several choices; points are the sum of the chosen scores, capped at the max."""

    name = "multi_choice"

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        chosen = {_known_choice(question, value) for value in _filled(raw)}
        # Stored in the definition's choice order so equal answers store equal text.
        ordered = tuple(c.value for c in question.choices if c.value in chosen)
        return ordered or None

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        choices = [question.choice(v) for v in as_tuple(value)]
        scores = [c.score for c in choices if c is not None and c.score is not None]
        if not scores or question.max_score is None:
            return None
        return min(float(math.fsum(scores)), float(question.max_score))


class NumberType:
    name = "number"

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = _single(question, [unicodedata.normalize("NFKC", r) for r in raw])
        if text is None:
            return None
        number = _parse_number(text.replace(",", ""))
        if number is None:
            raise InvalidAnswer(question, N_("数値を半角数字で入力してください（例: 12）。"))
        return format_number(number)

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        return None  # informational in schema_version 1 (DESIGN.md §3)

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        numbers = [n for n in (_parse_number(v) for v in _answered(values)
                               if isinstance(v, str)) if n is not None]
        if not numbers:
            return {"n": 0, "min": None, "max": None, "mean": None}
        return {"n": len(numbers), "min": min(numbers), "max": max(numbers),
                "mean": math.fsum(numbers) / len(numbers)}


def _parse_number(text: str) -> float | None:
    if len(text) > MAX_NUMBER_LENGTH:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def format_number(number: float) -> str:
    """Integral numbers store without a trailing '.0' ("12", not "12.0")."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


class DateType:
    name = "date"

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = _single(question, [unicodedata.normalize("NFKC", r) for r in raw])
        if text is None:
            return None
        if _parse_date(text) is None:
            raise InvalidAnswer(question, N_("日付を yyyy-mm-dd の形式で入力してください"
                                             "（例: 2021-04-01）。"))
        return text

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        return None

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        dates = sorted(v for v in _answered(values) if isinstance(v, str) and _parse_date(v))
        return {"n": len(dates), "min": dates[0] if dates else None,
                "max": dates[-1] if dates else None}


def _parse_date(text: str) -> date | None:
    # fromisoformat alone would also accept "20210401" and week dates since 3.11.
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class TextType:
    name = "text"

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = "\n".join(r.replace("\r\n", "\n").replace("\r", "\n") for r in raw).strip()
        if "\x00" in text:
            raise InvalidAnswer(question, N_("使用できない文字が含まれています。"))
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidAnswer(question,
                                N_("%(n)d文字以内で入力してください（現在 %(count)d文字）。"),
                                n=MAX_TEXT_LENGTH, count=len(text))
        return text or None

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        return None

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        return {"n": len(_answered(values))}


class QuestionType(Protocol):
    """What every question type offers (Indico-style registry, keyed by `name`)."""

    name: str

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        """Raw form strings -> the value to store; None when left empty."""

    def points(self, question: Question, value: AnswerValue | None) -> float | None:
        """`s` of one answer; None when it carries no score."""

    def summarise(self, question: Question, values: list[AnswerValue]) -> dict:
        """Figures over many answers, e.g. counts per choice."""


QUESTION_TYPES: dict[str, QuestionType] = {
    kind.name: kind
    for kind in (SingleChoiceType(), MultiChoiceType(), QuizType(), NumberType(),
                 DateType(), TextType())
}


def value_to_text(value: AnswerValue) -> str:
    """The stored text of a value: a multi_choice joins its values with ';' (§7)."""
    return MULTI_SEPARATOR.join(value) if isinstance(value, tuple) else value


def value_from_text(question: Question, text: str) -> AnswerValue:
    if question.type == "multi_choice":
        return tuple(v for v in text.split(MULTI_SEPARATOR) if v)
    return text


# --- one question, one response --------------------------------------------------


def answer_points(question: Question, value: AnswerValue | None) -> float | None:
    """`s`: the chosen points; None when not applicable (該当なし) or unanswered."""
    if value in (None, "", ()):
        return None
    return QUESTION_TYPES[question.type].points(question, value)


def ratio(question: Question, value: AnswerValue | None) -> float | None:
    """`r = s / m`; None when the answer or the question carries no score."""
    points, maximum = answer_points(question, value), question.max_score
    if points is None or maximum is None or maximum <= 0:
        return None
    return points / maximum


def stored_scores(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> dict[str, tuple[float | None, float | None]]:
    """(`s`, `m`) to store beside each given answer; `s` is None when not relevant."""
    result = {}
    for question_id, value in answers.items():
        question = questionnaire.question(question_id)
        if question is None:
            continue
        relevant = question.is_relevant(answers)
        points = answer_points(question, value) if relevant else None
        result[question_id] = (points, question.max_score)
    return result


def response_ratios(
    questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]
) -> dict[str, float]:
    """`r` per scored, relevant, applicable and answered question of one response."""
    ratios = {}
    for question in questionnaire.questions:
        if question.scored and question.is_relevant(answers):
            value = ratio(question, answers.get(question.id))
            if value is not None:
                ratios[question.id] = value
    return ratios


# --- scores from ratios -----------------------------------------------------------


def weighted_score(questions: Iterable[Question], ratios: Ratios) -> float | None:
    """`100 · Σ w·r / Σ w` over the scored questions that have an `r`, floored at 0."""
    pairs = [(q.weight, ratios[q.id]) for q in questions if q.scored and q.id in ratios]
    if not pairs:
        return None
    total = math.fsum(100 * w * r for w, r in pairs) / math.fsum(w for w, _ in pairs)
    # The floor is the contract's; the cap only absorbs float noise above 100.
    return min(100.0, max(0.0, total))


def weighted_mean(scores: Iterable[tuple[float, float | None]]) -> float | None:
    """Mean of (weight, score) pairs, skipping None scores and zero weights."""
    pairs = [(w, s) for w, s in scores if s is not None and w > 0]
    if not pairs:
        return None
    return min(100.0, math.fsum(w * s for w, s in pairs) / math.fsum(w for w, _ in pairs))


def section_scores(questionnaire: Questionnaire, ratios: Ratios) -> dict[str, float | None]:
    return {s.id: weighted_score(s.questions, ratios) for s in questionnaire.sections}


def finding_scores(questionnaire: Questionnaire, ratios: Ratios) -> dict[str, float | None]:
    return {
        finding: weighted_score(
            (q for q in questionnaire.questions if finding in q.findings), ratios)
        for finding in questionnaire.findings
    }


def overall_score(
    questionnaire: Questionnaire, ratios: Ratios, sections: Mapping[str, float | None]
) -> float | None:
    if questionnaire.method == "section_mean":
        return weighted_mean((s.weight, sections[s.id]) for s in questionnaire.sections)
    return weighted_score(questionnaire.questions, ratios)


def scores_from_ratios(questionnaire: Questionnaire, ratios: Ratios) -> Scores:
    sections = section_scores(questionnaire, ratios)
    overall = overall_score(questionnaire, ratios, sections)
    return Scores(overall=overall, band=questionnaire.band_for(overall),
                  sections=sections, findings=finding_scores(questionnaire, ratios))


def score_response(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]) -> Scores:
    return scores_from_ratios(questionnaire, response_ratios(questionnaire, answers))


# --- a 所属, and roll-ups to 部局 and prefecture ------------------------------------


def department_ratios(
    questionnaire: Questionnaire,
    department_ratios: Ratios | None,
    staff_ratio_sets: Sequence[Ratios],
    anonymity_min: int,
) -> dict[str, float]:
    """`r` per question for one 所属 (§4).

    Department questions come from its one department response (None when it has not
    submitted). Staff questions are the mean `r` over its staff responses, and only when
    at least `anonymity_min` staff answered: below that they are left out entirely, so
    too few answers never show up, not even inside a score.
    """
    ratios: dict[str, float] = {}
    for question in questionnaire.questions_for("department"):
        if department_ratios and question.id in department_ratios:
            ratios[question.id] = department_ratios[question.id]
    if len(staff_ratio_sets) >= anonymity_min:
        ratios.update(staff_mean_ratios(questionnaire, staff_ratio_sets))
    return ratios


def staff_mean_ratios(
    questionnaire: Questionnaire, staff_ratio_sets: Sequence[Ratios]
) -> dict[str, float]:
    means = {}
    for question in questionnaire.questions_for("staff"):
        values = [rs[question.id] for rs in staff_ratio_sets if question.id in rs]
        if values:
            means[question.id] = math.fsum(values) / len(values)
    return means


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
