"""readmodels.aggregate against the hand-computed fixture of tests/fixtures/aggregate.

Questionnaire agg-test 2021.1 (weighted_mean; bands A>=90 B>=70 C>=50 D>=0):
  DEP (department): D-00 yes/no weight 0 (screening); D-01 S4 weight 3 [指摘21];
                    D-02 S4 weight 1 [指摘22], relevant only when D-00 == yes
  STF (staff):      S-01 yes 1/no 0 weight 2 [意見17]; S-02 quiz weight 1 [意見17];
                    S-03 multi_choice weight 0 (not scored)
S4: done 4, partial 2, none 0, unknown -1, na N/A; m = 4.

FY2021 answers and what they give (anonymity minimum 5):
  U1 (B1, headcount 10): department submitted D-00 yes, D-01 done r=1, D-02 partial r=0.5
     staff: 5 submitted (S-01 y y y n y -> 4/5 = 0.8; S-02 b b b a a -> 3/5 = 0.6)
            + 1 draft (ignored)
     DEP = 100 (3*1 + 1*0.5) / 4 = 87.5
     STF = 100 (2*0.8 + 1*0.6) / 3 = 220/3 = 73.333...
     overall = 100 (3 + 0.5 + 1.6 + 0.6) / 7 = 570/7 = 81.428571... -> band B
     指摘21 = 100, 指摘22 = 50, 意見17 = 220/3
  U2 (B1, headcount 8): department submitted D-00 no, D-01 unknown r=-0.25, D-02 done
     but not relevant (score NULL) -> left out; staff: 3 submitted < 5 -> left out
     DEP = max(0, 100 * 3*(-0.25) / 3) = max(0, -25) = 0; STF None
     overall = 0 -> band D; 指摘21 = 0, 指摘22 None, 意見17 None
  U3 (B2, headcount 0): department response only a draft -> no department questions
     staff: 6 submitted (S-01 y y y n n n -> 3/6 = 0.5; S-02 b b b b a - -> 4/5 = 0.8)
     STF = 100 (2*0.5 + 0.8) / 3 = 60; overall 60 -> band C; response_rate None
  U4 (B2, headcount 20, successor of U4OLD): department submitted D-00 yes, D-01 na
     (N/A, score NULL), D-02 done r=1; no staff
     DEP = 100; overall 100 -> band A; 指摘21 None, 指摘22 100
  U4OLD (valid to 2020) and U9 (valid to 2019) are not 所属 of FY2021.

Roll-ups (unweighted means of 所属 figures, None left out):
  B1 overall (570/7 + 0) / 2 = 285/7 (n 2); DEP (87.5 + 0)/2 = 43.75 (n 2);
     STF 220/3 (n 1, U2 hidden)
  B2 overall (60 + 100) / 2 = 80 (n 2); DEP 100 (n 1); STF 60 (n 1)
  prefecture overall (570/7 + 0 + 60 + 100) / 4 = (570/7 + 160) / 4 (n 4)
     DEP (87.5 + 0 + 100) / 3 = 62.5 (n 3); STF (220/3 + 60) / 2 = 200/3 (n 2)
"""

from __future__ import annotations

import pytest

from surveyapp.readmodels import aggregate
from surveyapp.refusals import NotFound
from tests.fixtures.aggregate import builder

MIN = 5


@pytest.fixture
def rounds(db):
    return builder.build(db)


@pytest.fixture
def fy2021(db, rounds):
    return aggregate.round_scores(db, rounds[2021], MIN)


def unit(result, code):
    found = result.department(code)
    assert found is not None, code
    return found


def test_round_lists_every_department_valid_in_its_fiscal_year(fy2021):
    assert [d.code for d in fy2021.departments] == ["U1", "U2", "U3", "U4"]


def test_department_scores_combine_department_and_staff_questions(fy2021):
    u1 = unit(fy2021, "U1")
    assert u1.scores.sections["DEP"] == pytest.approx(87.5)
    assert u1.scores.sections["STF"] == pytest.approx(220 / 3)
    assert u1.overall == pytest.approx(570 / 7)
    assert u1.band.id == "B"


def test_finding_scores_use_only_the_tagged_questions(fy2021):
    findings = unit(fy2021, "U1").scores.findings
    assert findings == pytest.approx({"指摘21": 100.0, "指摘22": 50.0, "意見17": 220 / 3})


def test_draft_staff_responses_do_not_count(fy2021):
    assert unit(fy2021, "U1").staff_responses == 5


def test_response_rate_is_staff_responses_over_headcount(fy2021):
    assert unit(fy2021, "U1").response_rate == pytest.approx(5 / 10)
    assert unit(fy2021, "U3").response_rate is None  # headcount 0


def test_staff_below_anonymity_minimum_are_left_out_and_flagged(fy2021):
    u2 = unit(fy2021, "U2")
    assert u2.staff_hidden and u2.staff_responses == 3
    assert u2.scores.sections["STF"] is None
    assert u2.scores.findings["意見17"] is None


def test_not_relevant_answer_is_left_out_and_score_floored_at_zero(fy2021):
    u2 = unit(fy2021, "U2")
    assert u2.scores.sections["DEP"] == 0.0  # -25 floored
    assert u2.scores.findings["指摘22"] is None  # D-02 answered but not relevant
    assert (u2.overall, u2.band.id) == (0.0, "D")


def test_unsubmitted_department_response_is_left_out(fy2021):
    u3 = unit(fy2021, "U3")
    assert not u3.submitted
    assert u3.scores.sections["DEP"] is None
    assert u3.overall == pytest.approx(60.0)


def test_unanswered_staff_question_counts_only_where_answered(fy2021):
    assert unit(fy2021, "U3").ratios["S-02"] == pytest.approx(4 / 5)


def test_not_applicable_answer_is_left_out(fy2021):
    u4 = unit(fy2021, "U4")
    assert u4.scores.findings["指摘21"] is None
    assert (u4.overall, u4.band.id) == (100.0, "A")


def test_bureau_is_unweighted_mean_of_its_departments(fy2021):
    b1 = next(b for b in fy2021.bureaus if b.code == "B1")
    assert b1.scores.overall == pytest.approx(285 / 7)
    assert b1.scores.sections == pytest.approx({"DEP": 43.75, "STF": 220 / 3})
    assert (b1.scores.n_overall, b1.scores.n_sections) == (2, {"DEP": 2, "STF": 1})


def test_bureau_counts_only_departments_with_a_figure(fy2021):
    b2 = next(b for b in fy2021.bureaus if b.code == "B2")
    assert b2.scores.overall == pytest.approx(80.0)
    assert b2.scores.sections == pytest.approx({"DEP": 100.0, "STF": 60.0})
    assert b2.scores.n_sections == {"DEP": 1, "STF": 1}


def test_prefecture_is_unweighted_mean_of_all_departments(fy2021):
    prefecture = fy2021.prefecture
    assert prefecture.overall == pytest.approx((570 / 7 + 160) / 4)
    assert prefecture.sections == pytest.approx({"DEP": 62.5, "STF": 200 / 3})
    assert (prefecture.n_overall, prefecture.n_sections) == (4, {"DEP": 3, "STF": 2})


def test_scores_keep_full_precision(fy2021):
    assert unit(fy2021, "U1").overall == 570 / 7


def test_unknown_round_raises_round_not_found(db, rounds):
    with pytest.raises(NotFound):
        aggregate.round_scores(db, 999, MIN)


def test_lower_anonymity_minimum_shows_small_staff_groups(db, rounds):
    # U2 staff: S-01 y y y -> 1, S-02 b b b -> 1; STF = 100.
    u2 = unit(aggregate.round_scores(db, rounds[2021], 3), "U2")
    assert not u2.staff_hidden
    assert u2.scores.sections["STF"] == pytest.approx(100.0)


# --- history across rounds and reorganisations -----------------------------------------


def test_history_follows_successor_code_to_predecessors(db, rounds):
    # FY2020 U4OLD: D-01 partial 0.5, D-02 partial 0.5 -> 100 (1.5 + 0.5) / 4 = 50 (C)
    history = aggregate.department_history(db, "U4", MIN)
    assert [(e.round.fiscal_year, e.codes) for e in history] == [
        (2020, ("U4OLD",)), (2021, ("U4",))]
    assert [(e.scores.overall, e.scores.band.id) for e in history] == [
        (50.0, "C"), (100.0, "A")]


def test_history_of_a_predecessor_does_not_include_its_successor(db, rounds):
    history = aggregate.department_history(db, "U4OLD", MIN)
    assert [e.round.fiscal_year for e in history] == [2020]


def test_history_of_unknown_or_bureau_code_is_none(db, rounds):
    assert aggregate.department_history(db, "NOPE", MIN) is None
    assert aggregate.department_history(db, "B1", MIN) is None


def test_history_skips_draft_rounds(db, rounds):
    builder.add_round(db, 2022, "2021.1", status="draft")
    assert [e.round.fiscal_year for e in aggregate.department_history(db, "U1", MIN)] == [
        2020, 2021]


def test_history_of_a_merger_is_the_mean_of_its_predecessors(db, rounds):
    # U1 FY2020: D-01 none 0, D-02 done 1 -> 100 * 1 / 4 = 25; U4OLD FY2020: 50.
    # Make U1 a predecessor of U4 too: FY2020 figure = (25 + 50) / 2 = 37.5.
    rows = [dict(row) for row in builder.DEPARTMENTS]
    for row in rows:
        if row["code"] == "U1":
            row.update(valid_to=2020, successor_code="U4")
    builder.add_departments(db, rows)
    first = aggregate.department_history(db, "U4", MIN)[0]
    assert set(first.codes) == {"U1", "U4OLD"}
    assert first.scores.overall == pytest.approx(37.5)


def test_predecessor_codes_walk_the_whole_chain():
    departments = {"A": {"successor_code": "B"}, "B": {"successor_code": "C"},
                   "C": {"successor_code": None}, "D": {"successor_code": None}}
    assert aggregate.predecessor_codes(departments, "C") == ("C", "B", "A")


# --- choice distributions ----------------------------------------------------------


def test_choice_distribution_counts_submitted_answers(db, rounds):
    definition = builder.definition("2021.1")
    counts = aggregate.choice_distribution(db, rounds[2021], definition, "staff", MIN)
    # Submitted staff S-01: U1 y y y n y, U2 y y y, U3 y y y n n n -> 10 yes, 4 no
    assert counts["S-01"] == {"yes": 10, "no": 4}


def test_choice_distribution_splits_multi_choice_values(db, rounds):
    definition = builder.definition("2021.1")
    builder.add_staff(db, rounds[2021], definition, "U4", [
        {"S-03": ("elearning", "classroom")}, {"S-03": ("elearning",)}])
    counts = aggregate.choice_distribution(db, rounds[2021], definition, "staff", MIN)
    assert counts["S-03"] == {"elearning": 2, "classroom": 1}


def test_choice_distribution_of_small_staff_group_is_empty(db, rounds):
    definition = builder.definition("2021.1")
    assert aggregate.choice_distribution(db, rounds[2021], definition, "staff", MIN,
                                         code="U2") == {}
