"""Results pages on small instances: empty states, reorganisations, rounds of different
questionnaires, and the view-model rules of readmodels/results_view.py."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.model import Scores
from surveyapp.readmodels import aggregate, results_view
from surveyapp.readmodels.aggregate import DepartmentResult
from surveyapp.readmodels.rounds import Round
from tests.fixtures.aggregate import builder

# --- empty states ---------------------------------------------------------------------


def test_admin_without_rounds_sees_what_to_do_next(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    html = client.get("/results/").text
    assert "まだ調査回がありません" in html
    assert 'href="/rounds/new"' in html


def test_auditor_without_rounds_is_told_who_creates_them(client, make_user, login_as):
    make_user("kansa", "auditor")
    login_as(client, "kansa")
    html = client.get("/results/").text
    assert "まだ調査回がありません" in html and "情報企画課" in html
    assert 'href="/rounds/new"' not in html


def test_comparison_without_two_rounds_explains_itself(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    response = client.get("/results/compare")
    assert response.status_code == 200
    assert "比較できる調査回がまだありません" in response.text


def test_department_without_results_sees_an_empty_state(client, make_user, login_as):
    make_user("tanto", "department", "U77")
    login_as(client, "tanto")
    response = client.get("/results/", follow_redirects=True)
    assert response.status_code == 200
    assert "まだ結果がありません" in response.text


# --- the hand-computed fixture: reorganisation, a second questionnaire --------------------


@pytest.fixture
def rounds(db):
    return builder.build(db)


def test_department_history_follows_the_predecessor(client, db, rounds, make_user, login_as):
    """U4 replaced U4OLD in FY2021: U4's page shows U4OLD's FY2020 figures."""
    make_user("u4", "department", "U4")
    login_as(client, "u4")
    html = client.get(f"/results/departments/U4/?round={rounds[2020]}").text
    assert "U4OLD" in html
    entry = aggregate.department_history(db, "U4")[0]
    assert f"{entry.scores.overall:.1f}" in html


def test_department_user_of_u4_gets_404_for_its_predecessors_page(client, rounds, make_user,
                                                                     login_as):
    make_user("u4", "department", "U4")
    login_as(client, "u4")
    assert client.get("/results/departments/U4OLD/").status_code == 404


def test_rounds_of_different_questionnaires_are_refused_with_a_message(
        client, db, rounds, make_user, login_as):
    other = builder.publish_shipped(db, "2021.1")
    make_user("kikaku")
    login_as(client, "kikaku")
    response = client.get(f"/results/compare?from={rounds[2021]}&to={other}")
    assert response.status_code == 400
    assert "異なる調査票の調査回は比較できません" in response.text


def test_a_round_without_submissions_renders(client, db, rounds, make_user, login_as):
    draft = builder.publish_shipped(db, "2021.1")
    make_user("kikaku")
    login_as(client, "kikaku")
    response = client.get(f"/results/rounds/{draft}/")
    assert response.status_code == 200
    assert "0 / 4 所属" in response.text


def test_question_page_of_a_round_without_answers_renders(client, db, rounds, make_user,
                                                          login_as):
    draft = builder.publish_shipped(db, "2021.1")
    make_user("kansa", "auditor")
    login_as(client, "kansa")
    response = client.get(f"/results/rounds/{draft}/questions")
    assert response.status_code == 200
    assert "まだ得点のある回答がありません" in response.text


# --- round choice -------------------------------------------------------------------------


def round_(round_id, year, status="closed", questionnaire="q"):
    return Round(round_id, year, questionnaire, f"{year}.1", status, None, None, "")


def test_latest_round_prefers_a_round_that_has_opened():
    rounds = [round_(1, 2020), round_(2, 2021, "open"), round_(3, 2022, "draft")]
    assert results_view.latest_round(rounds).id == 2


def test_latest_round_falls_back_to_a_draft():
    assert results_view.latest_round([round_(3, 2022, "draft")]).id == 3


def test_latest_round_of_nothing_is_none():
    assert results_view.latest_round([]) is None


def test_default_pair_is_the_latest_round_and_the_one_before():
    rounds = [round_(1, 2019), round_(2, 2020), round_(3, 2021, "open")]
    assert results_view.default_pair(rounds) == (2, 3)


def test_default_pair_stays_within_one_questionnaire():
    rounds = [round_(1, 2020, questionnaire="other"), round_(2, 2021, "open")]
    assert results_view.default_pair(rounds) is None


# --- ordering and sorting -----------------------------------------------------------------


def result(code: str, overall: float | None) -> DepartmentResult:
    return DepartmentResult(code, code, "B", True, 0, 0, False,
                            Scores(overall, None, {}, {}), {})


@given(st.lists(st.one_of(st.none(), st.floats(0, 100)), max_size=20), st.booleans())
def test_sorting_keeps_every_row_and_puts_missing_scores_last(overalls, descending):
    rows = [result(f"U{i:02d}", value) for i, value in enumerate(overalls)]
    ordered = results_view.sort_departments(rows, lambda d: d.overall, descending)
    assert sorted(d.code for d in ordered) == sorted(d.code for d in rows)
    present = [d.overall for d in ordered if d.overall is not None]
    assert present == sorted(present, reverse=descending)
    assert all(d.overall is None for d in ordered[len(present):])


def test_equal_scores_sort_by_code():
    rows = [result("U3", 50.0), result("U1", 50.0), result("U2", 50.0)]
    ordered = results_view.sort_departments(rows, lambda d: d.overall, True)
    assert [d.code for d in ordered] == ["U1", "U2", "U3"]


def test_band_counts_add_up_to_the_departments(db, rounds):
    scores = aggregate.round_scores(db, rounds[2021], 5)
    counts = results_view.band_counts(scores.questionnaire, scores.departments)
    assert sum(item.count for item in counts) == len(scores.departments)
    assert counts[-1].band is None


def test_a_department_without_a_score_is_counted_as_no_band(db, rounds):
    scores = aggregate.round_scores(db, rounds[2021], 5)
    empty = replace(scores.departments[0], scores=Scores(None, None, {}, {}))
    counts = results_view.band_counts(scores.questionnaire, [empty])
    assert counts[-1].count == 1 and counts[-1].share == 1.0


# --- cost: the expensive aggregation runs once per page ------------------------------------


@pytest.fixture
def counted_round_scores(monkeypatch):
    calls = []
    original = aggregate.round_scores

    def counting(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(aggregate, "round_scores", counting)
    return calls


@pytest.mark.parametrize("url", ["/results/rounds/{r2021}/",
                                 "/results/rounds/{r2021}/questions",
                                 "/results/departments/U1/"])
def test_a_results_page_aggregates_its_round_once(client, rounds, make_user, login_as,
                                                  counted_round_scores, url):
    make_user("kikaku")
    login_as(client, "kikaku")
    assert client.get(url.format(r2021=rounds[2021])).status_code == 200
    assert counted_round_scores == [rounds[2021]]


# --- what a number is: its basis, and who is in the band distribution ----------------------


def unit(code: str, overall: float | None, submitted: bool, staff: int = 9,
         hidden: bool = False) -> DepartmentResult:
    band = None if overall is None else builder_band(overall)
    return DepartmentResult(code, code, "B", submitted, staff, 10, hidden,
                            Scores(overall, band, {}, {}), {})


def builder_band(overall: float):
    from surveyapp.model import Band, Text

    return Band("A" if overall >= 90 else "C", 90 if overall >= 90 else 50, Text("x"))


@pytest.mark.parametrize(("submitted", "staff", "hidden", "basis"), [
    (True, 9, False, "combined"), (True, 3, True, "department"), (True, 0, False, "department"),
    (False, 9, False, "staff")])
def test_an_overall_score_names_whose_answers_it_rests_on(submitted, staff, hidden, basis):
    assert unit("U1", 70.0, submitted, staff, hidden).basis == basis


def test_a_department_without_an_overall_score_has_no_basis():
    assert unit("U1", None, True).basis is None


def test_band_distribution_leaves_out_unsubmitted_departments_unless_asked(db, rounds):
    scores = aggregate.round_scores(db, rounds[2021], 5)
    rows = [unit("U1", 95.0, True), unit("U2", 95.0, False), unit("U3", None, False)]
    counted = results_view.band_counts(scores.questionnaire, rows)
    assert [(c.band.id if c.band else None, c.count, c.unsubmitted) for c in counted
            if c.count] == [("A", 1, False), (None, 2, True)]
    assert next(c for c in counted if c.count and not c.unsubmitted).share == 1.0
    everyone = results_view.band_counts(scores.questionnaire, rows, with_unsubmitted=True)
    assert [(c.count, c.unsubmitted) for c in everyone if c.count] == [(2, False), (1, False)]


def test_results_page_offers_to_count_unsubmitted_departments_too(client, make_user,
                                                                   login_as, db, rounds):
    make_user("kikaku")
    login_as(client, "kikaku")
    plain = client.get(f"/results/rounds/{rounds[2021]}/").text
    assert "unsubmitted=1" in plain
    asked = client.get(f"/results/rounds/{rounds[2021]}/?unsubmitted=1").text
    distribution = asked.split("band-distribution")[1].split("</table>")[0]
    assert "未提出（区分に含めない）" not in distribution


def test_column_tabs_and_filters_keep_counting_unsubmitted_departments(client, make_user,
                                                                       login_as, db, rounds):
    make_user("kikaku")
    login_as(client, "kikaku")
    html = client.get(f"/results/rounds/{rounds[2021]}/?unsubmitted=1").text
    tabs = re.findall(r'<a href="([^"]+)"[^>]*>(?:分野別|監査項目別)</a>', html)
    assert len(tabs) == 2 and all("unsubmitted=1" in href for href in tabs)
    form = html.split('class="filter"')[1].split("</form>")[0]
    assert '<input type="hidden" name="unsubmitted" value="1">' in form
