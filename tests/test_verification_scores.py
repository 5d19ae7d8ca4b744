"""Reliability and the verified score (DESIGN.md §9) against hand-computed figures, and
their properties for any answers.

The agg-test definition (tests/fixtures/aggregate): D-00 yes/no (weight 0, the
screening question), D-01 S4 (weight 3), D-02 S4 (weight 1, shown only when D-00 is
yes); staff S-01 (weight 2), S-02 quiz (weight 1). S4 scores done 4, partial 2, none 0,
unknown −1, na not applicable, so r = 1, 0.5, 0, −0.25, left out.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import scoring
from tests.fixtures.aggregate import builder

DEFINITION = builder.definition("2021.1")
S4 = ("done", "partial", "none", "unknown", "na")
POINTS = {"done": 4, "partial": 2, "none": 0, "unknown": -1}
# U1 of the fixture: staff r of S-01 = 0.8 (4 of 5 yes), S-02 = 0.6 (3 of 5 right).
STAFF = {"S-01": 0.8, "S-02": 0.6}
U1 = {"D-00": "yes", "D-01": "done", "D-02": "partial"}


def unit_ratios(answers, staff=STAFF):
    return {**scoring.response_ratios(DEFINITION, answers), **staff}


def verified(answers, found, staff=STAFF):
    return scoring.verified_scores(DEFINITION, unit_ratios(answers, staff), answers, found)


# --- reliability -----------------------------------------------------------------------


@pytest.mark.parametrize(("confirmed", "discrepancies", "expected"), [
    (3, 1, 0.75), (1, 1, 0.5), (0, 2, 0.0), (5, 0, 1.0), (0, 0, None)])
def test_reliability_is_confirmed_over_confirmed_and_discrepancies(confirmed, discrepancies,
                                                                   expected):
    assert scoring.reliability(confirmed, discrepancies) == expected


# --- the verified score, worked by hand -------------------------------------------------


def test_self_score_of_u1_is_the_weighted_mean():
    # 100 · (3·1 + 1·0.5 + 2·0.8 + 1·0.6) / (3 + 1 + 2 + 1) = 570 / 7
    assert verified(U1, {}).overall == pytest.approx(570 / 7)


def test_a_discrepancy_counts_the_value_found():
    # D-01 found partial: 100 · (3·0.5 + 0.5 + 1.6 + 0.6) / 7 = 60
    scores = verified(U1, {"D-01": "partial"})
    assert scores.overall == pytest.approx(60.0)
    assert scores.sections["DEP"] == pytest.approx(100 * (1.5 + 0.5) / 4)
    assert scores.findings["指摘21"] == pytest.approx(50.0)
    assert scores.findings["意見17"] == pytest.approx(100 * (1.6 + 0.6) / 3)  # staff unchanged


def test_a_discrepancy_on_a_screening_question_follows_relevance():
    # D-00 found "no": D-02 is no longer shown, so it leaves the score:
    # 100 · (3·1 + 1.6 + 0.6) / (3 + 2 + 1) = 520 / 6
    assert verified(U1, {"D-00": "no"}).overall == pytest.approx(520 / 6)


def test_the_verified_score_is_floored_at_zero_like_the_self_score():
    # U2: D-00 no, D-01 unknown (−0.25), staff hidden: self 100 · −0.75 / 3 -> 0
    u2 = {"D-00": "no", "D-01": "unknown", "D-02": "done"}
    assert verified(u2, {}, staff={}).overall == 0.0
    assert verified(u2, {"D-01": "done"}, staff={}).overall == pytest.approx(100.0)


def test_a_value_found_not_applicable_leaves_the_question_out():
    # D-01 found na: 100 · (1·0.5 + 1.6 + 0.6) / (1 + 2 + 1) = 67.5
    assert verified(U1, {"D-01": "na"}).overall == pytest.approx(67.5)


# --- properties ---------------------------------------------------------------------------

department_answers = st.fixed_dictionaries({
    "D-00": st.sampled_from(("yes", "no")), "D-01": st.sampled_from(S4),
    "D-02": st.sampled_from(S4)})
staff_ratios = st.fixed_dictionaries({}, optional={
    "S-01": st.floats(0, 1), "S-02": st.floats(0, 1)})


@given(department_answers, staff_ratios)
def test_without_discrepancies_the_verified_score_is_the_self_score(answers, staff):
    ratios = unit_ratios(answers, staff)
    assert verified(answers, {}, staff) == scoring.scores_from_ratios(DEFINITION, ratios)


@given(department_answers, staff_ratios)
def test_finding_what_was_reported_changes_nothing(answers, staff):
    assert verified(answers, dict(answers), staff) == verified(answers, {}, staff)


def lower(value):
    """Values with no more points than `value` (na has none to compare)."""
    if value == "na":
        return st.just(value)
    return st.sampled_from([v for v, p in POINTS.items() if p <= POINTS[value]])


@given(department_answers.flatmap(lambda answers: st.tuples(
    st.just(answers), st.fixed_dictionaries({}, optional={
        "D-01": lower(answers["D-01"]), "D-02": lower(answers["D-02"])}))), staff_ratios)
def test_finding_less_than_reported_never_raises_the_score(case, staff):
    answers, found = case
    self_score = verified(answers, {}, staff).overall
    found_score = verified(answers, found, staff).overall
    if self_score is None or found_score is None:
        return
    assert found_score <= self_score + 1e-9


@given(st.integers(0, 500), st.integers(0, 500))
def test_reliability_is_a_fraction_or_none(confirmed, discrepancies):
    value = scoring.reliability(confirmed, discrepancies)
    if confirmed + discrepancies == 0:
        assert value is None
    else:
        assert 0 <= value <= 1
        assert value == confirmed / (confirmed + discrepancies)
