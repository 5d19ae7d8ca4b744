"""DESIGN.md §4 scoring, on questionnaires built directly from model objects."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp import scoring
from surveyapp.model import (
    Band,
    Choice,
    Compare,
    Question,
    Questionnaire,
    Scores,
    Section,
    Text,
)

T = Text("選択肢")
S4 = (
    Choice("done", Text("実施している"), 4),
    Choice("partial", Text("一部実施している"), 2),
    Choice("none", Text("実施していない"), 0),
    Choice("unknown", Text("わからない"), -1),
    Choice("na", Text("該当なし"), None),
)
YN = (Choice("yes", Text("はい"), 1), Choice("no", Text("いいえ"), 0))
AW4 = tuple(Choice(v, T, s) for v, s in (("full", 3), ("outline", 2), ("name", 1), ("no", 0)))
QUIZ = (
    Choice("a", Text("ア"), correct=False),
    Choice("b", Text("イ"), correct=True),
    Choice("unknown", Text("わからない")),
)
MULTI = (Choice("x", T, 2), Choice("y", T, 3), Choice("z", T, 1), Choice("n", T, None))
BANDS = (
    Band("A", 90, Text("良好")),
    Band("B", 70, Text("おおむね良好")),
    Band("C", 50, Text("要改善")),
    Band("D", 0, Text("重点フォロー")),
)
HAS_SYSTEM = Compare("SYS-00", "==", ("yes",))


def question(qid, choices=S4, *, weight=1, section="A", audience="department",
             kind="single_choice", findings=(), relevant=None):
    return Question(id=qid, type=kind, text=Text(qid), section_id=section,
                    audience=audience, choices=choices, weight=weight,
                    findings=findings, relevant=relevant)


def questionnaire(*questions, method="weighted_mean", section_weights=None):
    section_ids = list(dict.fromkeys(q.section_id for q in questions))
    weights = section_weights or {}
    sections = tuple(
        Section(sid, Text(sid), "department",
                tuple(q for q in questions if q.section_id == sid), weights.get(sid, 1))
        for sid in section_ids)
    return Questionnaire(id="infosec-selfcheck", version="2021.1", fiscal_year=2021,
                         title=Text("自己点検"), method=method, bands=BANDS,
                         sections=sections)


# --- one answer -------------------------------------------------------------------


def test_answer_points_are_the_chosen_choice_score():
    assert scoring.answer_points(question("Q1"), "partial") == 2


def test_not_applicable_choice_has_no_points():
    assert scoring.answer_points(question("Q1"), "na") is None
    assert scoring.ratio(question("Q1"), "na") is None


def test_unanswered_question_has_no_points():
    assert scoring.answer_points(question("Q1"), None) is None
    assert scoring.answer_points(question("Q1"), "") is None


def test_unknown_on_four_point_scale_gives_negative_quarter():
    assert scoring.ratio(question("Q1"), "unknown") == -0.25


def test_quiz_scores_one_for_a_correct_choice_and_zero_otherwise():
    quiz = question("QZ", QUIZ, kind="quiz")
    assert [scoring.answer_points(quiz, v) for v in ("b", "a", "unknown")] == [1, 0, 0]
    assert scoring.ratio(quiz, "b") == 1


def test_multi_choice_sums_chosen_scores_capped_at_the_max():
    multi = question("MC", MULTI, kind="multi_choice")
    assert scoring.answer_points(multi, ("x", "z")) == 3
    assert scoring.answer_points(multi, ("x", "y")) == 3  # 5 capped at max 3
    assert scoring.answer_points(multi, ("n",)) is None


def test_informational_types_have_no_points():
    for kind in ("number", "date", "text"):
        assert scoring.answer_points(question("I", (), kind=kind), "12") is None


# --- one response -----------------------------------------------------------------


def test_response_ratios_leave_out_na_unanswered_irrelevant_and_unscored():
    form = questionnaire(
        question("SYS-00", YN, weight=0),
        question("PWD-05", relevant=HAS_SYSTEM),
        question("SCI-01", YN), question("SCI-02"), question("AUD-02"))
    answers = {"SYS-00": "no", "PWD-05": "done", "SCI-01": "yes", "SCI-02": "na"}
    assert scoring.response_ratios(form, answers) == {"SCI-01": 1.0}


def test_section_score_is_weighted_mean_of_ratios():
    form = questionnaire(question("Q1", weight=3), question("Q2", weight=1))
    scores = scoring.score_response(form, {"Q1": "done", "Q2": "partial"})
    assert scores.sections["A"] == 100 * (3 * 1 + 1 * 0.5) / 4  # 87.5


def test_negative_scores_are_floored_at_zero():
    form = questionnaire(question("Q1"), question("Q2"))
    scores = scoring.score_response(form, {"Q1": "unknown", "Q2": "none"})
    assert scores.sections["A"] == 0
    assert scores.overall == 0
    assert scores.band.id == "D"


def test_section_with_nothing_scored_is_none():
    form = questionnaire(question("Q1", section="A"), question("Q2", section="B"))
    scores = scoring.score_response(form, {"Q1": "done", "Q2": "na"})
    assert scores.sections == {"A": 100.0, "B": None}


def test_nothing_scored_gives_no_overall_and_no_band():
    scores = scoring.score_response(questionnaire(question("Q1")), {})
    assert scores == Scores(overall=None, band=None, sections={"A": None}, findings={})


def _two_sections(method, section_weights=None):
    form = questionnaire(question("A1"), question("A2"), question("A3"),
                         question("B1", section="B"),
                         method=method, section_weights=section_weights)
    answers = {"A1": "done", "A2": "done", "A3": "done", "B1": "none"}
    return scoring.score_response(form, answers).overall


def test_weighted_mean_counts_every_question_once():
    assert _two_sections("weighted_mean") == 75.0


def test_section_mean_averages_section_scores():
    assert _two_sections("section_mean") == 50.0


def test_section_mean_uses_section_weights():
    assert _two_sections("section_mean", {"A": 1, "B": 3}) == 25.0


def test_section_mean_skips_sections_without_score():
    form = questionnaire(question("A1"), question("B1", section="B"), method="section_mean")
    assert scoring.score_response(form, {"A1": "partial", "B1": "na"}).overall == 50.0


@pytest.mark.parametrize(("yes_count", "band"), [
    (10, "A"), (9, "A"), (8, "B"), (7, "B"), (6, "C"), (5, "C"), (4, "D"), (0, "D")])
def test_band_is_the_highest_minimum_not_above_the_score(yes_count, band):
    form = questionnaire(*(question(f"Q{i}", YN) for i in range(10)))
    answers = {f"Q{i}": "yes" if i < yes_count else "no" for i in range(10)}
    scores = scoring.score_response(form, answers)
    assert scores.overall == yes_count * 10
    assert scores.band.id == band


def test_finding_score_uses_only_questions_tagged_with_it():
    form = questionnaire(
        question("PWD-05", weight=3, findings=("指摘22",)),
        question("IDM-01", weight=3, findings=("指摘21",)),
        question("IDM-04", YN, weight=2, findings=("指摘21",)),
        question("SCI-01", YN, weight=3))
    answers = {"PWD-05": "partial", "IDM-01": "done", "IDM-04": "no", "SCI-01": "yes"}
    findings = scoring.score_response(form, answers).findings
    assert findings == {"指摘22": 50.0, "指摘21": 100 * 3 / 5}


def test_stored_scores_keep_max_but_drop_points_when_not_relevant():
    form = questionnaire(question("SYS-00", YN, weight=0),
                         question("PWD-05", relevant=HAS_SYSTEM))
    stored = scoring.stored_scores(form, {"SYS-00": "no", "PWD-05": "done"})
    assert stored == {"SYS-00": (0.0, 1), "PWD-05": (None, 4)}


# --- the IPA 自社診断 worked example --------------------------------------------------

IPA = questionnaire(*(question(f"IPA-{i:02d}", S4[:4]) for i in range(25)))


@given(st.lists(st.sampled_from(["done", "partial", "none", "unknown"]),
                min_size=25, max_size=25))
def test_ipa_selfcheck_overall_is_the_sum_of_points(choices):
    answers = {f"IPA-{i:02d}": value for i, value in enumerate(choices)}
    points = sum({"done": 4, "partial": 2, "none": 0, "unknown": -1}[c] for c in choices)
    assert scoring.score_response(IPA, answers).overall == max(0, points)


# --- a 所属 -----------------------------------------------------------------------

AWARENESS = questionnaire(
    question("SCI-01", YN, weight=3),
    question("POL-01", AW4, weight=2, section="P", audience="staff"),
    question("POL-02", YN, weight=1, section="P", audience="staff"))
STAFF = [{"POL-01": r, "POL-02": 1.0} for r in (1, 2 / 3, 2 / 3, 1 / 3, 0)]


def test_department_staff_ratio_is_the_mean_over_staff_responses():
    ratios = scoring.department_ratios(AWARENESS, {"SCI-01": 1.0}, STAFF, 5)
    assert ratios["POL-01"] == pytest.approx(8 / 15)
    assert ratios == {"SCI-01": 1.0, "POL-01": ratios["POL-01"], "POL-02": 1.0}


def test_staff_questions_left_out_below_anonymity_minimum():
    ratios = scoring.department_ratios(AWARENESS, {"SCI-01": 0.0}, STAFF[:4], 5)
    assert ratios == {"SCI-01": 0.0}


def test_department_without_submission_keeps_only_staff_questions():
    ratios = scoring.department_ratios(AWARENESS, None, STAFF, 5)
    assert set(ratios) == {"POL-01", "POL-02"}


def test_department_ratios_ignore_staff_questions_in_the_department_response():
    ratios = scoring.department_ratios(AWARENESS, {"POL-01": 1.0}, [], 5)
    assert ratios == {}


def test_department_scores_from_aggregated_ratios():
    ratios = scoring.department_ratios(AWARENESS, {"SCI-01": 1.0}, STAFF, 5)
    scores = scoring.scores_from_ratios(AWARENESS, ratios)
    assert scores.sections["P"] == pytest.approx(100 * (2 * 8 / 15 + 1) / 3)
    assert scores.overall == pytest.approx(100 * (3 + 2 * 8 / 15 + 1) / 6)


def test_staff_answers_count_only_where_answered():
    sets = [{"POL-01": 1.0}, {"POL-01": 0.0, "POL-02": 1.0}]
    ratios = scoring.department_ratios(AWARENESS, None, sets, 2)
    assert ratios == {"POL-01": 0.5, "POL-02": 1.0}


# --- roll-ups ---------------------------------------------------------------------


def _scores(overall, sections, findings=None):
    return Scores(overall, None, sections, findings or {})


def test_rollup_is_unweighted_mean_with_count_of_departments():
    rolled = scoring.rollup([
        _scores(80.0, {"A": 60.0, "B": None}, {"指摘6": 50.0}),
        _scores(None, {"A": None, "B": None}, {"指摘6": None}),
        _scores(40.0, {"A": 20.0, "B": 90.0}, {"指摘6": 100.0}),
    ])
    assert (rolled.overall, rolled.n_overall) == (60.0, 2)
    assert rolled.sections == {"A": 40.0, "B": 90.0}
    assert rolled.n_sections == {"A": 2, "B": 1}
    assert (rolled.findings, rolled.n_findings) == ({"指摘6": 75.0}, {"指摘6": 2})


def test_rollup_of_nothing_is_none_with_zero_count():
    rolled = scoring.rollup([])
    assert (rolled.overall, rolled.n_overall, rolled.sections) == (None, 0, {})


# --- fuzzing: scores always within [0, 100] or None --------------------------------

choice_scores = st.one_of(st.none(), st.floats(-5, 10, allow_nan=False))


@st.composite
def questionnaires_with_answers(draw):
    questions = []
    for index in range(draw(st.integers(1, 8))):
        scores = draw(st.lists(choice_scores, min_size=1, max_size=5))
        choices = tuple(Choice(f"c{i}", T, s) for i, s in enumerate(scores))
        kind = draw(st.sampled_from(["single_choice", "multi_choice"]))
        questions.append(question(
            f"Q{index}", choices, kind=kind, section=draw(st.sampled_from("ABC")),
            weight=draw(st.floats(0, 5, allow_nan=False)),
            findings=tuple(draw(st.sets(st.sampled_from(["指摘6", "意見17"]))))))
    method = draw(st.sampled_from(["weighted_mean", "section_mean"]))
    weights = {s: draw(st.floats(0, 3, allow_nan=False)) for s in "ABC"}
    form = questionnaire(*questions, method=method, section_weights=weights)
    answers = {}
    for q in questions:
        values = [c.value for c in q.choices]
        if q.type == "multi_choice":
            chosen = draw(st.lists(st.sampled_from(values), unique=True))
            if chosen:
                answers[q.id] = tuple(chosen)
        elif draw(st.booleans()):
            answers[q.id] = draw(st.sampled_from(values))
    return form, answers


def _in_range(score):
    return score is None or (0 <= score <= 100 and math.isfinite(score))


@settings(deadline=None)  # building a questionnaire per example can be slow on a busy box
@given(questionnaires_with_answers())
def test_scores_are_always_within_zero_and_hundred_or_none(case):
    form, answers = case
    scores = scoring.score_response(form, answers)
    figures = [scores.overall, *scores.sections.values(), *scores.findings.values()]
    assert all(_in_range(score) for score in figures)


@given(st.lists(st.one_of(st.none(), st.floats(0, 100)), max_size=12))
def test_rollup_is_within_zero_and_hundred_or_none(overalls):
    rolled = scoring.rollup(_scores(o, {"A": o}) for o in overalls)
    assert _in_range(rolled.overall)
    assert rolled.n_overall == sum(o is not None for o in overalls)
