"""Frozen domain objects shared by every layer.

Nothing here imports another module of ours: the questionnaire loader builds these
objects, scoring and lineage compute on them, services store and aggregate them, and
the web layer renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

COMPARABLE_RELATIONS = ("same", "reworded")
RELATIONS = ("same", "reworded", "split", "merged", "approximate")
ROLES = ("admin", "auditor", "department")

# An answer value as stored: one choice value, several (a multiple-choice question), or
# free input. The question types (`type`) and audiences (`audience`) a definition may
# use, and every rule that depends on them, live in `question_types` and `audiences`.
AnswerValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Text:
    """A translatable text; Japanese is the source language and always present."""

    ja: str
    en: str | None = None

    def get(self, lang: str = "ja") -> str:
        return (self.en if lang == "en" else None) or self.ja

    def __str__(self) -> str:
        return self.ja


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text
    score: float | None = None  # None = not applicable (該当なし)
    correct: bool = False  # quiz only


# --- `relevant` expressions ------------------------------------------------------
# The loader parses the expression text into these nodes; evaluation needs only the
# answers given so far, so scoring and the web layer can decide relevance without eval.


@dataclass(frozen=True)
class Compare:
    ref: str
    op: str  # "==", "!=", "in"
    values: tuple[str, ...]

    def evaluate(self, answers: Mapping[str, AnswerValue]) -> bool:
        given = answers.get(self.ref)
        chosen = set(given) if isinstance(given, tuple) else {given}
        hit = bool(chosen & set(self.values))
        return not hit if self.op == "!=" else hit

    def refs(self) -> tuple[str, ...]:
        return (self.ref,)


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]

    def evaluate(self, answers: Mapping[str, AnswerValue]) -> bool:
        results = (operand.evaluate(answers) for operand in self.operands)
        return all(results) if self.op == "and" else any(results)

    def refs(self) -> tuple[str, ...]:
        return tuple(ref for operand in self.operands for ref in operand.refs())


@dataclass(frozen=True)
class Not:
    operand: Expr

    def evaluate(self, answers: Mapping[str, AnswerValue]) -> bool:
        return not self.operand.evaluate(answers)

    def refs(self) -> tuple[str, ...]:
        return self.operand.refs()


Expr = Compare | BoolOp | Not


@dataclass(frozen=True)
class LineageLink:
    from_version: str
    id: str
    relation: str

    @property
    def comparable(self) -> bool:
        return self.relation in COMPARABLE_RELATIONS


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Text
    section_id: str
    audience: str
    choices: tuple[Choice, ...] = ()
    weight: float = 1
    required: bool = False
    help: Text | None = None
    relevant: Expr | None = None
    relevant_source: str | None = None
    findings: tuple[str, ...] = ()
    evidence: str = "none"  # none | optional | required
    lineage: tuple[LineageLink, ...] = ()
    explanation: Text | None = None
    criterion_ref: str | None = None
    evidence_label: Text | None = None  # what the evidence note asks for (確認日 …)

    # Cached: immutable, and asked for per question and 所属 when a round is scored
    # (over a million times for one scorecard of 300 所属, bench/README.md).
    @cached_property
    def max_score(self) -> float | None:
        """`m` of DESIGN.md §4: the largest choice score. Choices that mark a correct
        answer are right (1) or wrong (0), so such a question's max is 1; a question
        without choices has none."""
        if any(c.correct for c in self.choices):
            return 1.0
        scores = [c.score for c in self.choices if c.score is not None]
        return max(scores) if scores else None

    @cached_property
    def scored(self) -> bool:
        """Counted in scores: weighted, with choices worth points (free input is
        informational in schema_version 1, DESIGN.md §3)."""
        return self.weight > 0 and (self.max_score or 0) > 0

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)

    def is_relevant(self, answers: Mapping[str, AnswerValue]) -> bool:
        return self.relevant is None or self.relevant.evaluate(answers)


@dataclass(frozen=True)
class Section:
    id: str
    title: Text
    audience: str
    questions: tuple[Question, ...]
    weight: float = 1
    help: Text | None = None


@dataclass(frozen=True)
class Band:
    id: str
    min: float
    label: Text


@dataclass(frozen=True)
class Retired:
    id: str
    reason: Text
    replaced_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    fiscal_year: int
    title: Text
    method: str  # weighted_mean | section_mean
    bands: tuple[Band, ...]
    sections: tuple[Section, ...]
    previous_version: str | None = None
    retired: tuple[Retired, ...] = ()
    _by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for s in self.sections for q in s.questions})

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(self._by_id.values())

    def question(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    @cached_property
    def scored_questions(self) -> dict[str, Question]:
        """The questions counted in scores (`Question.scored`), by id."""
        return {q.id: q for q in self.questions if q.scored}

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def questions_for(self, audience: str) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.audience == audience)

    def sections_for(self, audience: str) -> tuple[Section, ...]:
        """Sections with at least one question for `audience`, holding only those."""
        result = []
        for section in self.sections:
            mine = tuple(q for q in section.questions if q.audience == audience)
            if mine:
                result.append(replace_questions(section, mine))
        return tuple(result)

    @cached_property
    def findings(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for question in self.questions:
            if question.scored:
                seen.update(dict.fromkeys(question.findings))
        return tuple(seen)

    def band_for(self, score: float | None) -> Band | None:
        if score is None:
            return None
        eligible = [b for b in self.bands if b.min <= score]
        return max(eligible, key=lambda b: b.min) if eligible else None


def replace_questions(section: Section, questions: tuple[Question, ...]) -> Section:
    return Section(section.id, section.title, section.audience, questions,
                   section.weight, section.help)


@dataclass(frozen=True)
class Scores:
    """Scores of one response, one 所属 or a roll-up; numbers are 0-100 or None."""

    overall: float | None
    band: Band | None
    sections: Mapping[str, float | None]
    findings: Mapping[str, float | None]


@dataclass(frozen=True)
class RollupScores:
    """A 部局 or prefecture figure: the unweighted mean of its 所属's scores.

    Each `n_*` counts the 所属 behind the figure beside it (DESIGN.md §4), because a
    section may be scored in fewer 所属 than the overall score.
    """

    overall: float | None
    sections: Mapping[str, float | None]
    findings: Mapping[str, float | None]
    n_overall: int
    n_sections: Mapping[str, int]
    n_findings: Mapping[str, int]


@dataclass(frozen=True)
class QuestionMatch:
    """How one question of a later version relates to an earlier version."""

    to_id: str
    from_ids: tuple[str, ...]
    relation: str  # a RELATIONS value, or "new"
    comparable: bool


@dataclass(frozen=True)
class SplitProxy:
    """An earlier question split into several: compared as "all parts answered well".

    Shown as a proxy, never as the same question (QUESTIONNAIRE_NOTES §3.1, IDM-02).
    """

    from_id: str
    to_ids: tuple[str, ...]


# --- messages in the chosen language --------------------------------------------------
# Layers below the web one never translate: they hand over the Japanese msgid with its
# parameters, and the web layer translates (surveyapp.web.i18n.refusal_text).


def N_(message: str) -> str:  # the conventional gettext_noop name
    """Mark a message for translation without translating it here."""
    return message


class Message(str):
    """A filled Japanese message that remembers its msgid and `params`: the Japanese
    text wherever a str is expected (the CLI prints it), translated by the web layer.
    A parameter may itself be a Message; it is translated too."""

    message: str
    params: dict

    def __new__(cls, message: str, **params: object) -> Message:
        filled = super().__new__(cls, message % params if params else message)
        filled.message = message
        filled.params = params
        return filled

    @classmethod
    def of(cls, error: object) -> str:
        """A caught refusal (anything with a msgid `message` and `params`) as a
        collected message; any other error as its text."""
        message, params = getattr(error, "message", None), getattr(error, "params", None)
        if isinstance(message, str) and isinstance(params, dict):
            return cls(message, **params)
        return str(error)


# How a caller that builds text for a file or a chart (an Excel form, chart labels) gets
# it in the chosen language: the web layer passes its translation of a Message; the
# default `str` keeps the Japanese.
Translate = Callable[[Message], str]


# Punctuation that differs between the languages: the full-width marks of Japanese,
# ASCII with spaces in English (the web layer's `punct` global; exports use it too).
PUNCTUATION = {
    "ja": {"open": "（", "close": "）", "comma": "、", "stop": "。", "range": "〜",
           "dot": "・"},
    "en": {"open": " (", "close": ")", "comma": ", ", "stop": ". ", "range": " – ",
           "dot": " · "},
}


# --- fiscal years (年度) -----------------------------------------------------------
# One rule for every place a fiscal year is written (pages, charts, PDFs, exports).


def era_year(year: int) -> tuple[str, str, int]:
    """(Japanese era, its romanised name, year of the era). The 年度 starts in April,
    after the era changed on 1 May 2019, so FY2019 already counts as 令和元年度."""
    if year >= 2019:
        return "令和", "Reiwa", year - 2018
    return "平成", "Heisei", year - 1988


def fiscal_year_label(year: int | None, lang: str = "ja") -> str:
    """令和3年度 (2021) in Japanese, FY2021 (Reiwa 3) in English."""
    if year is None:
        return ""
    era, romanised, number = era_year(int(year))
    if lang == "en":
        return f"FY{year} ({romanised} {number})"
    return f"{era}{'元' if number == 1 else number}年度 ({year})"


def size_text(size: int) -> str:
    """A file size as people read it: 1.5 MB, 820 KB, 12 bytes (binary units, as
    Windows Explorer counts them)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"
