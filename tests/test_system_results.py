"""Scores per information system (DESIGN.md §12) and the systems table of a round."""

from datetime import date

import pytest

from surveyapp.readmodels import system_results
from surveyapp.services import self_check
from tests import systems_world

DEPARTMENT = {"DEP-00": "yes", "DEP-01": "done"}
S1 = ({"SPW-00": "yes", "SPW-01": "partial", "SCT-01": "done", "SCT-02": "none"},
      {"SPW-01": systems_world.proof("記録あり")})
OTHER = ({"SPW-00": "no", "SCT-01": "na", "SCT-02": "done"}, {})
TODAY = date(2026, 12, 1)


@pytest.fixture
def world(db):
    return systems_world.build(db)


def submit(db, world, code, systems):
    response = systems_world.department_response(db, world, code)
    self_check.submit_form(db, response["id"], response["version"], DEPARTMENT, {}, systems,
                           None, world.questionnaire)


def results(db, world):
    return system_results.compute_round_systems(db, world.round_id, TODAY)


def test_every_system_owned_that_year_is_listed_answered_or_not(db, world):
    found = results(db, world)
    assert [system.code for system in found.systems] == ["S1", "S2", "S3", "S4"]
    assert not any(system.answered for system in found.systems)
    assert found.system("S4").owner_code == "K1"  # K4's system, after K4 became K1


def test_a_system_is_scored_over_its_own_answers(db, world):
    submit(db, world, "K1", {"S1": S1, "S2": OTHER, "S4": OTHER})
    s1 = results(db, world).system("S1")
    # SPW-01 r .5 (w3), SCT-01 r 1 (w2), SCT-02 r 0 (w1)
    assert s1.overall == pytest.approx(100 * 3.5 / 6)
    assert s1.scores.sections["SPW"] == pytest.approx(50)
    assert s1.scores.sections["SCT"] == pytest.approx(100 * 2 / 3)
    assert s1.scores.findings["指摘22"] == pytest.approx(50)
    assert s1.scores.sections["DEP"] is None


def test_a_system_of_an_unsubmitted_department_has_no_score(db, world):
    response = systems_world.department_response(db, world, "K1")
    self_check.save_form(db, response["id"], response["version"], DEPARTMENT, {},
                         {"S1": S1}, None, world.questionnaire)
    s1 = results(db, world).system("S1")
    assert s1.answered and not s1.submitted and s1.overall is None


def test_the_table_filters_by_hosting_criticality_ismap_and_band(db, world):
    submit(db, world, "K1", {"S1": S1, "S2": OTHER, "S4": OTHER})
    found = results(db, world).systems
    by = lambda **f: [s.code for s in system_results.filtered(found, system_results.Filters(**f))]  # noqa: E731
    assert by(hosting="cloud") == ["S1"]
    assert by(criticality="high") == ["S1", "S3"]
    assert by(ismap="valid") == ["S1"]
    assert by(band="none") == ["S3"]
    assert by(band="A") == ["S2", "S4"]


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def pages(db, world, make_user, client, login_as):
    submit(db, world, "K1", {"S1": S1, "S2": OTHER, "S4": OTHER})
    make_user("admin1", "admin")
    make_user("k2", "department", "K2")
    return client


def test_the_systems_table_lists_each_system_with_its_score(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/systems/rounds/{world.round_id}/").text
    assert all(name in html for name in ("電子申請システム", "人事給与システム", "旧文書システム"))
    assert f"{100 * 3.5 / 6:.1f}" in html and "未回答" in html


def test_the_systems_table_filters_by_band_and_hosting(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/systems/rounds/{world.round_id}/?band=A&hosting=onprem").text
    assert "文書管理システム" in html and "電子申請システム" not in html
    assert "旧文書システム" not in html  # LGWAN-ASP


def test_the_results_index_opens_the_latest_round_that_asks_per_system(pages, world,
                                                                      login_as):
    login_as(pages, "admin1")
    response = pages.get("/systems/results")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/systems/rounds/{world.round_id}/")


def test_a_systems_scorecard_shows_its_sections_and_answers(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/systems/rounds/{world.round_id}/S1").text
    assert "パスワード（システムごと）" in html and "50.0" in html
    assert "一部実施している" in html and "記録あり" in html


def test_a_systems_scorecard_shows_the_evidence_as_text(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/systems/rounds/{world.round_id}/S1").text
    assert "AnswerEvidence" not in html and "2026-09-01" in html


def test_a_department_sees_only_its_own_systems_results(pages, world, login_as):
    login_as(pages, "k2")
    html = pages.get(f"/systems/rounds/{world.round_id}/").text
    assert "人事給与システム" in html and "電子申請システム" not in html
    assert pages.get(f"/systems/rounds/{world.round_id}/S1").status_code == 404
    assert pages.get(f"/systems/rounds/{world.round_id}/S3").status_code == 200


def test_an_unknown_round_or_system_is_404(pages, world, login_as):
    login_as(pages, "admin1")
    assert pages.get("/systems/rounds/999/").status_code == 404
    assert pages.get(f"/systems/rounds/{world.round_id}/NOPE").status_code == 404


# --- the 所属's scorecard -------------------------------------------------------------------


def test_the_departments_scorecard_lists_its_systems(db, world, pages, login_as):
    from surveyapp.readmodels import scorecards
    card = scorecards.build_scorecard(db, world.round_id, "K1", 5)
    assert [system.code for system in card.systems] == ["S1", "S2", "S4"]
    table = next(table for table in scorecards.pdf_page(card, 5)["tables"]
                 if table["heading"] == "情報システム別得点")
    assert table["rows"][0][:2] == ["S1 電子申請システム", f"{100 * 3.5 / 6:.1f}"]
    assert scorecards.build_scorecard(db, world.round_id, "K3", 5).systems == ()
    login_as(pages, "admin1")
    html = pages.get(f"/scorecards/rounds/{world.round_id}/departments/K1/").text
    assert "情報システム別得点" in html
    assert f'href="/systems/rounds/{world.round_id}/S2"' in html
    pdf = pages.get(f"/scorecards/rounds/{world.round_id}/departments/K1/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_results_pages_link_the_systems_table(pages, world, login_as):
    login_as(pages, "admin1")
    html = pages.get(f"/results/rounds/{world.round_id}/").text
    assert f'href="/systems/rounds/{world.round_id}/"' in html
    html = pages.get(f"/systems/rounds/{world.round_id}/").text
    assert f'href="/results/rounds/{world.round_id}/"' in html
