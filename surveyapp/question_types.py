"""Question types: one class per `type` of the definition format (DESIGN.md §3).

Each class owns everything about its type, so nothing else in the house asks which
type a question is:

- its label (a Japanese msgid the web layer translates) and whether it has choices;
- what a form or a spreadsheet cell may hold and the value stored for it (`coerce`,
  `from_cell`), the stored text of a value and back (`to_text` / `from_text`: the
  database and the `value` column of the CSV/XLSX exports, §7), how a person reads it
  (`shown`, `to_cell`), and how to fill the Excel answer cell (`input_hint`);
- its points (`choice_points` gives each choice its `s` when the definition is built,
  `points` scores one answer; `m`, the largest choice score, is
  `model.Question.max_score`) and the figures over many answers (`summarise`);
- the answer the demo gives (`demo_answer`) and its rules for a definition file
  (`check`, `check_choice_change`).

`REGISTRY` maps the type name to its class; `lookup(name)` and `of(question)` find it.
The web layer adds one WTForms builder per type (`web/question_widgets.py`) and one
Jinja macro per type (`templates/question_widgets.html`). README: "Adding a question
type".

Only `model` is imported: scoring, the questionnaire loader, services and the web all
build on this module.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import ClassVar, Protocol

from surveyapp.model import N_, PUNCTUATION, AnswerValue, Message, Question

MAX_TEXT_LENGTH = 4000
MAX_NUMBER_LENGTH = 40
MULTI_SEPARATOR = ";"  # between the values of a multi_choice in stored text (§7)
CELL_SEPARATORS = re.compile(r"[;；\n]")  # between choices typed in one Excel cell
UNKNOWN_CHOICE = "unknown"  # the quiz choice counted separately as わからない
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidAnswer(ValueError):
    """A raw form value that cannot be stored. `str()` is "<question id>: <Japanese
    message>"; `message` (a msgid, without the id) and `params` let the web layer show
    it in the chosen language, like a refusals.Refusal."""

    def __init__(self, question: Question, message: str, **params: object) -> None:
        super().__init__(f"{question.id}: {message % params if params else message}")
        self.message = message
        self.params = params


def as_tuple(value: AnswerValue | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def is_empty(value: AnswerValue | None) -> bool:
    return value in (None, "", ())


# --- what the definition checks hand over (questionnaires.views, duck-typed here) -----

Location = tuple[str | int, ...]


class ChoiceDraft(Protocol):
    """A choice as written in a definition file (questionnaires.views.ChoiceView)."""

    location: Location
    value: str
    score: float | None
    has_score: bool
    correct: bool


class QuestionDraft(Protocol):
    """A question as written in a definition file (questionnaires.views.QuestionView)."""

    location: Location
    id: str
    type: str | None
    raw: dict
    choices: tuple[ChoiceDraft, ...] | None

    @property
    def weight(self) -> float: ...


class Report(Protocol):
    """Where the checks report (questionnaires.problems.Collector)."""

    def add(self, location: Location, message: str) -> None: ...

    def warn(self, location: Location, message: str) -> None: ...


# --- the types ---------------------------------------------------------------------------


class QuestionType(ABC):
    """What every question type offers (the abstract methods each type writes; the
    others have defaults that suit most types)."""

    name: ClassVar[str]
    label: ClassVar[str]  # msgid, e.g. N_("数値")
    has_choices: ClassVar[bool] = False
    multiple: ClassVar[bool] = False  # several choices in one answer
    has_correct_answers: ClassVar[bool] = False  # shown with its explanation afterwards

    @property
    def default_weight(self) -> float:
        # Free input is informational in schema_version 1, so unweighted by default.
        return 1.0 if self.has_choices else 0.0

    # answers

    @abstractmethod
    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        """Raw form strings -> the value to store; None when left empty."""

    def to_text(self, value: AnswerValue) -> str:
        """The stored text of a value (the database, the exports' `value`)."""
        return MULTI_SEPARATOR.join(value) if isinstance(value, tuple) else value

    def from_text(self, question: Question, text: str) -> AnswerValue:
        return text

    def shown(self, question: Question, value: AnswerValue | None,
              lang: str = "ja") -> tuple[str, ...]:
        """How a person reads an answer: the choice labels, or the typed text."""
        return () if is_empty(value) else (self.to_text(value),)

    def to_cell(self, question: Question, value: AnswerValue | None, lang: str = "ja") -> str:
        """The Excel answer cell of a stored value (labels joined with ';')."""
        return ";".join(self.shown(question, value, lang))

    def from_cell(self, question: Question, text: str, lang: str = "ja") -> AnswerValue | None:
        """An Excel answer cell's text -> the value to store (raises InvalidAnswer)."""
        return self.coerce(question, [text])

    @abstractmethod
    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        """How to fill the Excel answer cell."""

    # scores

    def choice_points(self, score: float | None, correct: bool) -> float | None:
        """`s` of a choice from what the definition wrote for it."""
        return None if score is None else float(score)

    def points(self, question: Question, value: AnswerValue) -> float | None:
        """`s` of one given answer; None when it carries no score."""
        return None  # informational in schema_version 1 (DESIGN.md §3)

    def summarise(self, question: Question, values: list[AnswerValue | None]) -> dict:
        """Figures over many answers, e.g. counts per choice."""
        return {"n": len(_answered(values))}

    # the demo

    @abstractmethod
    def demo_answer(self, question: Question, maturity: float, fiscal_year: int,
                    rng: random.Random) -> AnswerValue | None:
        """A plausible answer of a 所属 at `maturity` (0 weak .. 1 strong), or None."""

    # definition files

    @abstractmethod
    def check(self, question: QuestionDraft, report: Report) -> None:
        """The type's rules for a question of a definition file (DESIGN.md §3 pass 2)."""

    def check_explanation(self, question: QuestionDraft, report: Report) -> None:
        if "explanation" in question.raw and not self.has_correct_answers:
            report.warn((*question.location, "explanation"),
                        Message(N_("explanation は quiz 型の設問だけで表示されます")))


class FreeInputType(QuestionType):
    """Typed input without choices, informational in schema_version 1."""

    def demo_answer(self, question: Question, maturity: float, fiscal_year: int,
                    rng: random.Random) -> AnswerValue | None:
        if not question.required and rng.random() >= 0.2:
            return None  # optional free input is mostly left empty
        return self.demo_value(fiscal_year, rng)

    @abstractmethod
    def demo_value(self, fiscal_year: int, rng: random.Random) -> str:
        """What the demo types in."""

    def check(self, question: QuestionDraft, report: Report) -> None:
        if "choices" in question.raw:
            report.add((*question.location, "choices"), Message(
                N_("%(type)s 型の設問に choices は書けません"), type=question.type))
        if question.weight > 0:
            report.add((*question.location, "weight"), Message(
                N_("%(type)s 型の設問は採点できません (schema_version 1)。"
                   "weight: 0 にするか省略してください"), type=question.type))
        self.check_explanation(question, report)


class SingleChoiceType(QuestionType):
    name = "single_choice"
    label = N_("単一選択")
    has_choices = True

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        value = _single(question, raw)
        return None if value is None else _known_choice(question, value)

    def shown(self, question: Question, value: AnswerValue | None,
              lang: str = "ja") -> tuple[str, ...]:
        return tuple(_label(question, item, lang) for item in as_tuple(value))

    def from_cell(self, question: Question, text: str, lang: str = "ja") -> AnswerValue | None:
        pieces = [piece.strip() for piece in CELL_SEPARATORS.split(text) if piece.strip()]
        return self.coerce(question, [choice_value(question, piece, lang) for piece in pieces])

    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        return Message("%(choices)s", choices=_listed_choices(question, lang))

    def points(self, question: Question, value: AnswerValue) -> float | None:
        choice = question.choice(value) if isinstance(value, str) else None
        return None if choice is None or choice.score is None else float(choice.score)

    def summarise(self, question: Question, values: list[AnswerValue | None]) -> dict:
        answered = _answered(values)
        return self.summarise_counts(question, _choice_counts(question, answered),
                                     len(answered))

    def summarise_counts(self, question: Question, counts: Mapping[str, int], n: int) -> dict:
        """The figures from counts per choice value over `n` answers (or respondents)."""
        return {"n": n, "counts": {c.value: counts.get(c.value, 0) for c in question.choices}}

    def demo_answer(self, question: Question, maturity: float, fiscal_year: int,
                    rng: random.Random) -> AnswerValue | None:
        """The choice whose points lie nearest to a noisy `maturity × max`.

        A 該当なし choice is taken now and then; わからない (−1) only by weak 所属.
        """
        not_applicable = [c for c in question.choices if c.score is None]
        if not_applicable and rng.random() < 0.07:
            return not_applicable[0].value
        scored = [c for c in question.choices if c.score is not None]
        target = (maturity + rng.gauss(0, 0.25)) * (question.max_score or 1)
        nearest = min(abs(c.score - target) for c in scored)
        return rng.choice([c.value for c in scored if abs(c.score - target) == nearest])

    def check(self, question: QuestionDraft, report: Report) -> None:
        if "choices" not in question.raw:
            report.add(question.location, Message(N_("%(type)s 型の設問には choices が必要です"),
                                                  type=question.type))
        else:
            _check_unique_values(question, report)
            self.check_choices(question, question.choices or (), report)
        self.check_explanation(question, report)

    def check_choices(self, question: QuestionDraft, choices: tuple[ChoiceDraft, ...],
                      report: Report) -> None:
        for choice in choices:
            if choice.correct:
                report.add((*choice.location, "correct"),
                           Message(N_("correct は quiz 型の設問だけで使えます")))
            if not choice.has_score:
                report.add(choice.location, Message(
                    N_("選択肢 '%(value)s' に score がありません (該当なしは score: null)"),
                    value=choice.value))
        positive = any((choice.score or 0) > 0 for choice in choices)
        if choices and question.weight > 0 and not positive:
            report.warn(question.location, Message(N_("weight が 0 より大きいのに、正の score の"
                                                      "選択肢がないため採点されません")))

    def check_choice_change(self, choice: ChoiceDraft, before_score: float | None,
                            before_correct: bool, where: dict, report: Report) -> None:
        """A choice kept under the same value from the previous version (pass 3): a
        changed score sign changes its meaning."""
        if _score_sign(before_score) != _score_sign(choice.score):
            report.add(choice.location, Message(
                N_("版 %(version)s の設問 %(id)s と選択肢 '%(value)s' の意味が違います "
                   "(score %(old)s → %(new)s)。新しい ID にしてください"),
                **where, value=choice.value, old=before_score, new=choice.score))
        elif before_score != choice.score:
            report.warn(choice.location, Message(
                N_("版 %(version)s の設問 %(id)s から選択肢 '%(value)s' の score が変わりました "
                   "(%(old)s → %(new)s)。スコアカードに注記されます"),
                **where, value=choice.value, old=f"{before_score:g}", new=f"{choice.score:g}"))


class QuizType(SingleChoiceType):
    """A single choice scored 1 when a `correct` choice is chosen, else 0 (max 1)."""

    name = "quiz"
    label = N_("理解度クイズ")
    has_correct_answers = True

    def choice_points(self, score: float | None, correct: bool) -> float | None:
        # Right or wrong (DESIGN.md §3), so scoring treats every choice question alike.
        return 1.0 if correct else 0.0

    def points(self, question: Question, value: AnswerValue) -> float | None:
        choice = question.choice(value) if isinstance(value, str) else None
        if choice is None:
            return None
        return 1.0 if choice.correct else 0.0

    def summarise_counts(self, question: Question, counts: Mapping[str, int], n: int) -> dict:
        summary = super().summarise_counts(question, counts, n)
        correct = sum(counts.get(c.value, 0) for c in question.choices if c.correct)
        summary["correct_rate"] = correct / n if n else None
        summary["unknown_rate"] = counts.get(UNKNOWN_CHOICE, 0) / n if n else None
        return summary

    def demo_answer(self, question: Question, maturity: float, fiscal_year: int,
                    rng: random.Random) -> AnswerValue | None:
        if rng.random() < 0.35 + 0.6 * maturity:
            return rng.choice([c.value for c in question.choices if c.correct])
        unknown = [c.value for c in question.choices if c.value == UNKNOWN_CHOICE]
        if unknown and rng.random() < 0.4:
            return unknown[0]
        return rng.choice([c.value for c in question.choices
                           if not c.correct and c.value != UNKNOWN_CHOICE])

    def check_choices(self, question: QuestionDraft, choices: tuple[ChoiceDraft, ...],
                      report: Report) -> None:
        if choices and not any(choice.correct for choice in choices):
            report.add((*question.location, "choices"),
                       Message(N_("quiz 型の設問には correct: true の選択肢が 1 つ以上必要です")))
        for choice in choices:
            if choice.has_score:
                report.warn((*choice.location, "score"), Message(
                    N_("quiz 型の選択肢の score は使われません (正解 1、それ以外 0)")))

    def check_choice_change(self, choice: ChoiceDraft, before_score: float | None,
                            before_correct: bool, where: dict, report: Report) -> None:
        if before_correct != choice.correct:
            report.add(choice.location, Message(
                N_("版 %(version)s の設問 %(id)s と選択肢 '%(value)s' の正誤が違います。"
                   "意味が変わるなら新しい ID にしてください"), **where, value=choice.value))


class MultiChoiceType(SingleChoiceType):
    """Several choices; points are the sum of the chosen scores, capped at the max."""

    name = "multi_choice"
    label = N_("複数選択")
    multiple = True

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        chosen = {_known_choice(question, value) for value in _filled(raw)}
        # Stored in the definition's choice order so equal answers store equal text.
        ordered = tuple(c.value for c in question.choices if c.value in chosen)
        return ordered or None

    def from_text(self, question: Question, text: str) -> AnswerValue:
        return tuple(v for v in text.split(MULTI_SEPARATOR) if v)

    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        return Message(N_("複数選ぶときは ; で区切る: %(choices)s"),
                       choices=_listed_choices(question, lang))

    def points(self, question: Question, value: AnswerValue) -> float | None:
        choices = [question.choice(v) for v in as_tuple(value)]
        scores = [c.score for c in choices if c is not None and c.score is not None]
        if not scores or question.max_score is None:
            return None
        return min(float(math.fsum(scores)), float(question.max_score))

    def demo_answer(self, question: Question, maturity: float, fiscal_year: int,
                    rng: random.Random) -> AnswerValue | None:
        chosen = tuple(c.value for c in question.choices
                       if c.score is not None and rng.random() < maturity)
        return chosen or None


class NumberType(FreeInputType):
    name = "number"
    label = N_("数値")

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = _single(question, [unicodedata.normalize("NFKC", r) for r in raw])
        if text is None:
            return None
        number = parse_number(text.replace(",", ""))
        if number is None:
            raise InvalidAnswer(question, N_("数値を半角数字で入力してください（例: 12）。"))
        return format_number(number)

    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        return Message(N_("数値（例: 12）"))

    def summarise(self, question: Question, values: list[AnswerValue | None]) -> dict:
        numbers = [n for n in (parse_number(v) for v in _answered(values)
                               if isinstance(v, str)) if n is not None]
        if not numbers:
            return {"n": 0, "min": None, "max": None, "mean": None}
        return {"n": len(numbers), "min": min(numbers), "max": max(numbers),
                "mean": math.fsum(numbers) / len(numbers)}

    def demo_value(self, fiscal_year: int, rng: random.Random) -> str:
        return str(rng.randint(0, 20))


def parse_number(text: str) -> float | None:
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


class DateType(FreeInputType):
    name = "date"
    label = N_("日付")

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = _single(question, [unicodedata.normalize("NFKC", r) for r in raw])
        if text is None:
            return None
        if parse_date(text) is None:
            raise InvalidAnswer(question, N_("日付を yyyy-mm-dd の形式で入力してください"
                                             "（例: 2021-04-01）。"))
        return text

    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        return Message(N_("日付 yyyy-mm-dd（例: 2021-04-01）"))

    def summarise(self, question: Question, values: list[AnswerValue | None]) -> dict:
        dates = sorted(v for v in _answered(values) if isinstance(v, str) and parse_date(v))
        return {"n": len(dates), "min": dates[0] if dates else None,
                "max": dates[-1] if dates else None}

    def demo_value(self, fiscal_year: int, rng: random.Random) -> str:
        """A day of the fiscal year (April to March)."""
        first, last = date(fiscal_year, 4, 1), date(fiscal_year + 1, 3, 31)
        return (first + timedelta(days=rng.randint(0, (last - first).days))).isoformat()


def parse_date(text: str) -> date | None:
    # fromisoformat alone would also accept "20210401" and week dates since 3.11.
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class TextType(FreeInputType):
    name = "text"
    label = N_("自由記述")
    # What the demo's staff and 所属 write into a comment box.
    demo_comments = (
        "特になし。",
        "USBメモリの持ち出し手順が分かりにくい。",
        "パスワードの文字数の基準を研修資料にも載せてほしい。",
        "テレワーク時の紙資料の扱いが分かりにくい。",
        "メールの誤送信が1件あり、送信前の宛先確認を徹底した。",
        "ポリシーの掲載場所が分からなかったので、ポータルのトップに案内がほしい。",
    )

    def coerce(self, question: Question, raw: list[str]) -> AnswerValue | None:
        text = "\n".join(r.replace("\r\n", "\n").replace("\r", "\n") for r in raw).strip()
        if "\x00" in text:
            raise InvalidAnswer(question, N_("使用できない文字が含まれています。"))
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidAnswer(question,
                                N_("%(n)d文字以内で入力してください（現在 %(count)d文字）。"),
                                n=MAX_TEXT_LENGTH, count=len(text))
        return text or None

    def input_hint(self, question: Question, lang: str = "ja") -> Message | str:
        return Message(N_("自由記述（%(n)d文字以内）"), n=MAX_TEXT_LENGTH)

    def demo_value(self, fiscal_year: int, rng: random.Random) -> str:
        return rng.choice(self.demo_comments)


# --- the registry ------------------------------------------------------------------------

REGISTRY: dict[str, QuestionType] = {
    kind.name: kind
    for kind in (SingleChoiceType(), MultiChoiceType(), QuizType(), NumberType(),
                 DateType(), TextType())
}
NAMES = tuple(REGISTRY)  # the `type` values a definition may use, in this order


def lookup(name: str) -> QuestionType:
    """The type called `name`; KeyError for a name no class registers."""
    return REGISTRY[name]


def of(question: Question) -> QuestionType:
    """The type of a built question (the loader accepts only registered names)."""
    return REGISTRY[question.type]


# --- helpers of the choice types ----------------------------------------------------------


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


def _answered(values: Iterable[AnswerValue | None]) -> list[AnswerValue]:
    return [value for value in values if not is_empty(value)]


def _choice_counts(question: Question, values: Iterable[AnswerValue]) -> dict[str, int]:
    """Counts per choice value, every choice listed (0 when nobody chose it)."""
    chosen = Counter(v for value in values for v in as_tuple(value))
    return {choice.value: chosen[choice.value] for choice in question.choices}


def _label(question: Question, value: str, lang: str) -> str:
    choice = question.choice(value)
    return choice.label.get(lang) if choice else value


def _listed_choices(question: Question, lang: str) -> str:
    """「実施している（done） / …」: each choice's label with the value to type."""
    marks = PUNCTUATION.get(lang, PUNCTUATION["ja"])
    return " / ".join(f"{c.label.get(lang)}{marks['open']}{c.value}{marks['close']}"
                      for c in question.choices)


def choice_value(question: Question, piece: str, lang: str = "ja") -> str:
    """A choice's value from its value or its label (Japanese or English)."""
    wanted = unicodedata.normalize("NFKC", piece).strip()
    for choice in question.choices:
        names = (choice.value, choice.label.ja, choice.label.en)
        if wanted in {unicodedata.normalize("NFKC", n) for n in names if n}:
            return choice.value
    raise InvalidAnswer(question, N_("「%(piece)s」は選択肢にありません。選べるもの: %(choices)s"),
                        piece=piece, choices=" / ".join(c.label.get(lang)
                                                        for c in question.choices))


def _check_unique_values(question: QuestionDraft, report: Report) -> None:
    seen: set[str] = set()
    for choice in question.choices or ():
        if choice.value.casefold() in seen:
            report.add((*choice.location, "value"), Message(
                N_("設問 %(id)s の選択肢の値 '%(value)s' が重複しています"),
                id=question.id, value=choice.value))
        seen.add(choice.value.casefold())


def _score_sign(score: float | None) -> str:
    if score is None:
        return "none"  # 該当なし
    return "+" if score > 0 else ("-" if score < 0 else "0")
