"""The question-type registry (surveyapp.question_types): each class owns its type."""

from __future__ import annotations

import json
import random
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import question_types
from surveyapp.model import N_, Choice, Message, Question, Text
from surveyapp.question_types import InvalidAnswer, lookup

T = Text("選択肢")
S4 = (
    Choice("done", Text("実施している", "Done"), 4),
    Choice("partial", Text("一部実施している", "Partly"), 2),
    Choice("none", Text("実施していない", "Not done"), 0),
    Choice("unknown", Text("わからない", "Don't know"), -1),
    Choice("na", Text("該当なし", "Not applicable"), None),
)
QUIZ = (
    Choice("a", Text("ア"), 0, correct=False),
    Choice("b", Text("イ"), 1, correct=True),
    Choice("unknown", Text("わからない"), 0),
)
MULTI = (Choice("x", Text("エックス"), 2), Choice("y", Text("ワイ"), 3),
         Choice("z", Text("ゼット"), 1), Choice("n", Text("なし"), None))
CHOICES = {"single_choice": S4, "quiz": QUIZ, "multi_choice": MULTI}


def question(qid="Q1", choices=S4, *, kind="single_choice", required=False):
    return Question(id=qid, type=kind, text=Text(qid), section_id="A",
                    audience="department", choices=choices, required=required)


def of_type(name: str) -> Question:
    return question(name.upper(), CHOICES.get(name, ()), kind=name)


def coerce(q, *raw):
    return question_types.of(q).coerce(q, list(raw))


def schema_enum(definition: str, key: str) -> list[str]:
    text = resources.files("surveyapp.questionnaires").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)["$defs"][definition]["properties"][key]["enum"]


class Recorder:
    """A Report that keeps what a type's checks said."""

    def __init__(self) -> None:
        self.errors: list[tuple] = []
        self.warnings: list[tuple] = []

    def add(self, location, message) -> None:
        self.errors.append((location, message))

    def warn(self, location, message) -> None:
        self.warnings.append((location, message))


class Draft:
    """A question as a definition file writes it (what questionnaires.views hands over)."""

    def __init__(self, kind: str, raw: dict, choices=()) -> None:
        self.location, self.id, self.type, self.raw = ("sections", 0), "Q1", kind, raw
        self.choices = tuple(choices)

    @property
    def weight(self) -> float:
        return self.raw.get("weight", lookup(self.type).default_weight)


class DraftChoice:
    def __init__(self, value, score=None, correct=False, has_score=True) -> None:
        self.location, self.value, self.score = ("choices", value), value, score
        self.has_score, self.correct = has_score, correct


# --- the registry ----------------------------------------------------------------------


def test_every_question_type_is_registered():
    assert set(question_types.REGISTRY) == {
        "single_choice", "multi_choice", "quiz", "number", "date", "text"}


def test_each_class_is_registered_under_its_own_name():
    assert all(kind.name == name for name, kind in question_types.REGISTRY.items())


def test_lookup_refuses_an_unknown_type():
    with pytest.raises(KeyError):
        lookup("likert")


def test_schema_type_enum_is_the_registry():
    assert schema_enum("question", "type") == list(question_types.NAMES)


def test_every_type_has_a_japanese_label():
    assert all(kind.label and not kind.label.isascii()
               for kind in question_types.REGISTRY.values())


def test_choice_types_are_weighted_by_default_and_free_input_is_not():
    for kind in question_types.REGISTRY.values():
        assert kind.default_weight == (1.0 if kind.has_choices else 0.0)


def test_only_the_quiz_has_correct_answers():
    assert [n for n, k in question_types.REGISTRY.items() if k.has_correct_answers] == ["quiz"]


# --- coercing form input ------------------------------------------------------------------


def test_unknown_choice_is_rejected_in_japanese():
    with pytest.raises(InvalidAnswer, match="選択肢にない値"):
        coerce(question("Q1"), "maybe")


def test_single_choice_accepts_one_value_only():
    assert coerce(question("Q1"), " done ") == "done"
    with pytest.raises(InvalidAnswer, match="1つだけ"):
        coerce(question("Q1"), "done", "none")


@pytest.mark.parametrize("name", question_types.NAMES)
def test_empty_input_is_unanswered(name):
    assert coerce(of_type(name), "", "  ") is None


def test_multi_choice_is_stored_in_definition_order_without_duplicates():
    multi = question("MC", MULTI, kind="multi_choice")
    assert coerce(multi, "z", "x", "z") == ("x", "z")


def test_number_accepts_full_width_digits_and_thousands_separators():
    number = question("N", (), kind="number")
    assert coerce(number, "１２") == "12"
    assert coerce(number, "1,200") == "1200"
    assert coerce(number, "2.5") == "2.5"


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", "1" * 50])
def test_non_numbers_are_rejected_in_japanese(raw):
    with pytest.raises(InvalidAnswer, match="数値"):
        coerce(question("N", (), kind="number"), raw)


@pytest.mark.parametrize("raw", ["2021/04/01", "20210401", "2021-02-30", "令和3年4月1日"])
def test_dates_must_be_iso_calendar_dates(raw):
    with pytest.raises(InvalidAnswer, match="yyyy-mm-dd"):
        coerce(question("D", (), kind="date"), raw)


def test_iso_date_is_stored_as_given():
    assert coerce(question("D", (), kind="date"), "2021-04-01") == "2021-04-01"


def test_text_is_limited_to_4000_characters():
    text = question("TX", (), kind="text")
    assert coerce(text, "あ" * 4000) == "あ" * 4000
    with pytest.raises(InvalidAnswer, match="4000文字以内"):
        coerce(text, "あ" * 4001)


def test_text_line_breaks_are_normalised():
    assert coerce(question("TX", (), kind="text"), "一行目\r\n二行目") == "一行目\n二行目"


def test_invalid_answer_names_the_question_and_keeps_its_msgid():
    with pytest.raises(InvalidAnswer) as caught:
        coerce(question("PWD-05"), "maybe")
    assert str(caught.value).startswith("PWD-05: ")
    assert caught.value.message == N_("選択肢にない値が送信されました。選択肢から選んでください。")


# --- the text round trips ---------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
RAW_INPUT = {
    "single_choice": st.sampled_from([c.value for c in S4]).map(lambda v: [v]),
    "quiz": st.sampled_from([c.value for c in QUIZ]).map(lambda v: [v]),
    "multi_choice": st.lists(st.sampled_from([c.value for c in MULTI]), min_size=1),
    "number": st.one_of(st.integers(-10**6, 10**6).map(str),
                        st.floats(allow_nan=False, allow_infinity=False).map(repr))
    .map(lambda v: [v]),
    "date": st.dates().map(lambda d: [d.isoformat()]),
    "text": _TEXT.map(lambda v: [v]),
}


def stored_values(name: str):
    """Values the form would store for a question of type `name`."""
    q = of_type(name)

    def stored(raw):
        try:
            return question_types.of(q).coerce(q, raw)
        except InvalidAnswer:
            return None

    return RAW_INPUT[name].map(stored).filter(lambda v: v is not None)


@pytest.mark.parametrize("name", question_types.NAMES)
@given(data=st.data())
def test_stored_text_reads_back_as_the_same_value(name, data):
    q, kind = of_type(name), lookup(name)
    value = data.draw(stored_values(name))
    assert kind.from_text(q, kind.to_text(value)) == value


@pytest.mark.parametrize("name", question_types.NAMES)
@pytest.mark.parametrize("lang", ["ja", "en"])
@given(data=st.data())
def test_excel_cell_text_reads_back_as_the_same_value(name, lang, data):
    q, kind = of_type(name), lookup(name)
    value = data.draw(stored_values(name))
    assert kind.from_cell(q, kind.to_cell(q, value, lang), lang) == value


def test_multi_choice_stored_text_joins_values_with_semicolons():
    multi = question("MC", MULTI, kind="multi_choice")
    assert lookup("multi_choice").to_text(("x", "z")) == "x;z"
    assert lookup("multi_choice").from_text(multi, "x;z") == ("x", "z")


def test_choices_are_shown_by_their_labels_in_the_chosen_language():
    kind = lookup("single_choice")
    assert kind.shown(question(), "done", "en") == ("Done",)
    assert kind.to_cell(question(), "done") == "実施している"


def test_an_excel_cell_may_name_a_choice_by_value_or_label():
    kind = lookup("multi_choice")
    assert kind.from_cell(question("MC", MULTI, kind="multi_choice"), "ワイ；x") == ("x", "y")


def test_an_excel_cell_with_an_unknown_choice_lists_the_choices():
    with pytest.raises(InvalidAnswer, match="選べるもの: 実施している / "):
        lookup("single_choice").from_cell(question(), "たぶん")


def test_an_empty_answer_is_an_empty_cell():
    assert all(lookup(name).to_cell(of_type(name), None) == "" for name in question_types.NAMES)


# --- points --------------------------------------------------------------------------------


def test_a_quiz_choice_scores_one_when_correct_and_zero_otherwise():
    quiz = lookup("quiz")
    assert (quiz.choice_points(None, True), quiz.choice_points(4, False)) == (1.0, 0.0)


def test_other_choices_keep_their_written_score():
    assert lookup("single_choice").choice_points(4, False) == 4.0
    assert lookup("single_choice").choice_points(None, False) is None


def test_a_quiz_max_is_one():
    assert question("QZ", QUIZ, kind="quiz").max_score == 1.0


def test_multi_choice_points_are_capped_at_the_max():
    multi = question("MC", MULTI, kind="multi_choice")
    assert lookup("multi_choice").points(multi, ("x", "y")) == 3


@pytest.mark.parametrize("name", ["number", "date", "text"])
def test_free_input_has_no_points_and_no_max(name):
    assert lookup(name).points(of_type(name), "12") is None
    assert of_type(name).max_score is None and not of_type(name).scored


# --- summaries -----------------------------------------------------------------------------


def test_choice_summary_counts_every_choice():
    summary = lookup("single_choice").summarise(question("Q1"), ["done", "done", "na", None])
    assert summary == {"n": 3, "counts": {"done": 2, "partial": 0, "none": 0,
                                          "unknown": 0, "na": 1}}


def test_quiz_summary_reports_correct_and_unknown_rates():
    quiz = question("QZ", QUIZ, kind="quiz")
    summary = lookup("quiz").summarise(quiz, ["b", "b", "a", "unknown"])
    assert (summary["correct_rate"], summary["unknown_rate"]) == (0.5, 0.25)


def test_quiz_summary_without_answers_has_no_rates():
    summary = lookup("quiz").summarise(question("QZ", QUIZ, kind="quiz"), [])
    assert (summary["n"], summary["correct_rate"], summary["unknown_rate"]) == (0, None, None)


def test_quiz_summary_from_counts_equals_summary_from_answers():
    quiz = question("QZ", QUIZ, kind="quiz")
    assert (lookup("quiz").summarise_counts(quiz, {"b": 2, "a": 1, "unknown": 1}, 4)
            == lookup("quiz").summarise(quiz, ["b", "b", "a", "unknown"]))


def test_multi_choice_summary_counts_each_chosen_value():
    multi = question("MC", MULTI, kind="multi_choice")
    counts = lookup("multi_choice").summarise(multi, [("x", "y"), ("x",)])["counts"]
    assert counts == {"x": 2, "y": 1, "z": 0, "n": 0}


def test_number_summary_has_count_min_max_mean():
    summary = lookup("number").summarise(of_type("number"), ["3", "12", "1.5", None])
    assert summary == {"n": 3, "min": 1.5, "max": 12.0, "mean": 5.5}


def test_date_summary_has_first_and_last_day():
    summary = lookup("date").summarise(of_type("date"), ["2021-05-01", "2021-04-02", ""])
    assert summary == {"n": 2, "min": "2021-04-02", "max": "2021-05-01"}


def test_text_summary_counts_answers():
    assert lookup("text").summarise(of_type("text"), ["a", "", None, "b"]) == {"n": 2}


# --- Excel hints -----------------------------------------------------------------------------


def test_choice_hint_lists_labels_with_their_values():
    assert lookup("single_choice").input_hint(question()).startswith("実施している（done） / ")


def test_multi_choice_hint_says_how_to_choose_several():
    hint = lookup("multi_choice").input_hint(question("MC", MULTI, kind="multi_choice"))
    assert hint.message == N_("複数選ぶときは ; で区切る: %(choices)s")


@pytest.mark.parametrize("name", ["number", "date", "text"])
def test_free_input_hint_is_a_translatable_message(name):
    hint = lookup(name).input_hint(of_type(name))
    assert isinstance(hint, Message) and hint.message != "%(choices)s"


# --- demo answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", question_types.NAMES)
@given(seed=st.integers(0, 2**32), maturity=st.floats(0, 1))
def test_demo_answer_is_a_value_the_form_would_store(name, seed, maturity):
    q = question(name.upper(), CHOICES.get(name, ()), kind=name, required=True)
    value = lookup(name).demo_answer(q, maturity, 2021, random.Random(seed))
    if value is not None:
        assert coerce(q, *question_types.as_tuple(value)) == value


@given(seed=st.integers(0, 2**32))
def test_demo_date_lies_in_the_fiscal_year(seed):
    day = lookup("date").demo_answer(question("D", (), kind="date", required=True), 0.5,
                                     2021, random.Random(seed))
    assert "2021-04-01" <= day <= "2022-03-31"


# --- definition checks ---------------------------------------------------------------------


def test_free_input_may_not_have_choices_or_weight():
    report = Recorder()
    lookup("number").check(Draft("number", {"choices": "S4", "weight": 1}), report)
    assert [loc[-1] for loc, _ in report.errors] == ["choices", "weight"]


def test_a_choice_question_needs_choices():
    report = Recorder()
    lookup("single_choice").check(Draft("single_choice", {}), report)
    assert report.errors and "choices が必要" in report.errors[0][1]


def test_a_choice_needs_a_score_outside_a_quiz():
    report = Recorder()
    draft = Draft("single_choice", {"choices": []},
                  [DraftChoice("yes", 1), DraftChoice("no", has_score=False)])
    lookup("single_choice").check(draft, report)
    assert [loc for loc, _ in report.errors] == [("choices", "no")]


def test_a_quiz_needs_a_correct_choice():
    report = Recorder()
    draft = Draft("quiz", {"choices": []}, [DraftChoice("a", has_score=False),
                                            DraftChoice("b", has_score=False)])
    lookup("quiz").check(draft, report)
    assert "correct: true" in report.errors[0][1]


def test_correct_outside_a_quiz_is_an_error():
    report = Recorder()
    draft = Draft("single_choice", {"choices": []},
                  [DraftChoice("a", 1, correct=True), DraftChoice("b", 0)])
    lookup("single_choice").check(draft, report)
    assert report.errors[0][0] == ("choices", "a", "correct")


def test_duplicate_choice_values_are_an_error_regardless_of_case():
    report = Recorder()
    draft = Draft("single_choice", {"choices": []}, [DraftChoice("Yes", 1), DraftChoice("yes", 0)])
    lookup("single_choice").check(draft, report)
    assert report.errors[0][0] == ("choices", "yes", "value")


def test_an_explanation_outside_a_quiz_is_a_warning():
    report = Recorder()
    lookup("text").check(Draft("text", {"explanation": {"ja": "解説"}}), report)
    assert report.errors == [] and report.warnings[0][0][-1] == "explanation"


def test_a_quiz_choice_changing_correctness_is_an_error():
    report = Recorder()
    lookup("quiz").check_choice_change(DraftChoice("a", correct=True), 0.0, False,
                                       {"version": "2020.1", "id": "Q1"}, report)
    assert "正誤" in report.errors[0][1]


def test_a_choice_keeping_its_score_sign_only_warns():
    report = Recorder()
    lookup("single_choice").check_choice_change(DraftChoice("done", 3), 4, False,
                                                {"version": "2020.1", "id": "Q1"}, report)
    assert report.errors == [] and len(report.warnings) == 1
