"""Scorecards on the demo data: the card's figures, its pages, PDF, charts and access."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from surveyapp import charts, create_app, migrations, store
from surveyapp.demo import loader as demo
from surveyapp.readmodels import (
    aggregate,
    followup_lists,
    prefecture_overview,
    results_view,
    scorecard_files,
    scorecards,
)
from surveyapp.refusals import Invalid, NotFound
from surveyapp.services import accounts, followups
from surveyapp.store import departments as department_store
from tests.conftest import QUESTIONNAIRES, ROOT

CURRENT, EARLIER = 2, 1  # demo rounds: FY2021 (open) and FY2020 (closed)
OWN, OTHER = "0302", "0101"  # the demo `dept` user's 所属, and another one
HOSTILE = "9999"
HOSTILE_NAME = "<script>alert(1)</script> $\\frac{1}{2}$ 課"
PASSWORD = "correct horse battery staple"
MINIMUM = 5


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo plus a 所属 with a hostile name and a department user for 0101."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                         parallelism=1))
        demo.load_demo(database, QUESTIONNAIRES)
        with store.transaction(database):
            department_store.upsert_departments(database, [{
                "code": HOSTILE, "name": HOSTILE_NAME, "parent_code": "01", "headcount": 3,
                "valid_from": None, "valid_to": None, "successor_code": None}])
        accounts.create_user(database, "other", "department", PASSWORD, OTHER)
        accounts.create_user(database, "reader", "auditor", PASSWORD)
    database.close()
    return app


@pytest.fixture
def demo_db(demo_app):
    database = store.connect(demo_app.config["DATABASE"])
    yield database
    database.close()


@pytest.fixture(scope="module")
def context(demo_app):
    database = store.connect(demo_app.config["DATABASE"])
    yield scorecards.round_context(database, CURRENT, MINIMUM)
    database.close()


def client_for(app, login, password):
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": password})
    assert response.status_code == 302
    return client


@pytest.fixture
def admin(demo_app):
    return client_for(demo_app, "admin", "demo-admin-2021")


@pytest.fixture
def dept(demo_app):
    return client_for(demo_app, "dept", "demo-dept-2021")


def card_url(code, round_id=CURRENT):
    return f"/scorecards/rounds/{round_id}/departments/{code}/"


def chart_keys(html: str) -> list[str]:
    return re.findall(r"/scorecards/charts/([0-9a-f]{64})", html)


# --- the card's figures ------------------------------------------------------------------


def test_card_sections_are_the_round_scores_of_the_department(context):
    card = scorecards.scorecard(context, OWN)
    result = context.scores.department(OWN)
    assert {row.id: row.score for row in card.sections} == {
        sid: score for sid, score in result.sections.items() if sid != "SCR"}
    assert card.prefecture_overall == context.scores.prefecture.overall


def test_card_leaves_out_sections_nothing_can_score(context):
    assert "SCR" not in {row.id for row in scorecards.scorecard(context, OWN).sections}


def test_card_change_follows_the_comparison_and_marks_incomparable_sections(context):
    card = scorecards.scorecard(context, OWN)
    changes = context.previous(OWN).changes
    assert card.previous_round.id == EARLIER
    assert card.previous_overall == changes.overall.before
    for row in card.sections:
        assert row.comparable == changes.sections[row.id].comparable
    assert {row.comparable for row in card.sections} == {True, False}


def test_first_round_card_has_no_previous_round(demo_db):
    card = scorecards.build_scorecard(demo_db, EARLIER, OWN, MINIMUM)
    assert card.previous_round is None and card.overall_delta is None
    assert all(row.comparable is None for row in card.sections)


def test_quiz_rate_is_the_share_of_correct_staff_answers(demo_db, context):
    card = scorecards.scorecard(context, OWN)
    questionnaire = context.scores.questionnaire
    counts = aggregate.choice_distribution(demo_db, CURRENT, questionnaire, "staff",
                                           MINIMUM, OWN)
    assert card.quiz
    for row in card.quiz:
        question = questionnaire.question(row.question_id)
        found = counts[row.question_id]
        correct = sum(found[c.value] for c in question.choices if c.correct)
        assert row.rate == pytest.approx(correct / sum(found.values()))
        assert 0 <= row.prefecture <= 1


def test_quiz_rates_are_left_out_below_the_anonymity_minimum(demo_db):
    card = scorecards.build_scorecard(demo_db, CURRENT, OWN, anonymity_min=100_000)
    assert card.department.staff_hidden and card.quiz == ()


def test_open_improvement_items_appear_on_the_card(demo_db):
    item_id = followups.create_item(demo_db, EARLIER, OTHER, followups.ItemInput(
        finding="意見17", owner="総務課長", status="in_progress"), None)
    card = scorecards.build_scorecard(demo_db, CURRENT, OTHER, MINIMUM)
    assert ("意見17", 2020, "総務課長", "in_progress") in [
        (i.finding, i.fiscal_year, i.owner, i.status) for i in card.open_items]
    assert followup_lists.get_item(demo_db, item_id).is_open


def test_done_improvement_items_are_left_off_the_card(demo_db):
    item_id = followups.create_item(demo_db, EARLIER, OTHER, followups.ItemInput(
        finding="意見19", owner="研修担当", status="done"), None)
    card = scorecards.build_scorecard(demo_db, CURRENT, OTHER, MINIMUM)
    assert "研修担当" not in [i.owner for i in card.open_items]
    assert not followup_lists.get_item(demo_db, item_id).is_open


def test_unknown_department_or_round_is_not_found(demo_db):
    with pytest.raises(NotFound):
        scorecards.build_scorecard(demo_db, CURRENT, "nope", MINIMUM)
    with pytest.raises(NotFound):
        scorecards.build_scorecard(demo_db, 999, OWN, MINIMUM)


def test_pdf_page_names_the_department_and_every_section(context):
    page = scorecards.pdf_page(scorecards.scorecard(context, OWN), MINIMUM)
    assert "医務薬事課" in page["title"]
    assert [r[0].split()[0] for r in page["tables"][0]["rows"]] == [
        row.id for row in scorecards.scorecard(context, OWN).sections]


# --- file names and formats ------------------------------------------------------------


@given(st.text(max_size=80), st.text(max_size=300))
def test_file_stems_are_safe_on_every_file_system(code, name):
    stem = scorecard_files.safe_stem(code, name)
    assert stem and len(stem.encode("utf-8")) <= scorecard_files.MAX_STEM_BYTES
    assert not re.search(r'[\x00-\x1f\x7f<>:"/\\|?*\s]', stem)
    assert stem not in (".", "..") and not stem.endswith((".", " "))
    assert stem.split(".")[0].upper() not in scorecard_files.WINDOWS_RESERVED


@pytest.mark.parametrize("code", ["CON", "nul", "Com1", "LPT9"])
def test_windows_device_names_are_not_used_as_file_names(code):
    assert scorecard_files.safe_stem(code, "").startswith("_")
    assert scorecard_files.safe_stem(code, "総務課") == f"{code}_総務課"


def test_file_stem_is_code_and_name():
    assert scorecard_files.safe_stem("0302", "医務薬事課") == "0302_医務薬事課"
    assert scorecard_files.safe_stem("01", "a/b: c") == "01_a_b_c"


def test_clashing_file_stems_get_a_number(context):
    cards = [scorecards.scorecard(context, OWN)] * 3
    assert scorecard_files.unique_stems(cards) == ["0302_医務薬事課", "0302_医務薬事課-2",
                                              "0302_医務薬事課-3"]


@pytest.mark.parametrize("text", ["", "gif", "png,svg", ","])
def test_unknown_formats_are_refused(text):
    with pytest.raises(Invalid):
        scorecard_files.parse_formats(text)


def test_formats_are_read_in_order_without_repeats():
    assert scorecard_files.parse_formats(" PDF, png,pdf") == ("pdf", "png")


# --- pages and access ------------------------------------------------------------------


def test_department_user_sees_its_own_card(dept):
    response = dept.get(card_url(OWN))
    assert response.status_code == 200
    assert "医務薬事課" in response.text and "全庁平均" in response.text
    # The overall band is coloured by its own band (a D is not shown green).
    assert re.search(r'class="band-chip band-([A-D])">\1 ', response.text)


@pytest.mark.parametrize("suffix", ["", "pdf"])
def test_department_user_gets_404_for_another_departments_card(dept, suffix):
    assert dept.get(card_url(OTHER) + suffix).status_code == 404


def test_department_user_gets_404_for_another_departments_chart(admin, dept):
    keys = chart_keys(admin.get(card_url(OTHER)).text)
    assert keys
    assert dept.get(f"/scorecards/charts/{keys[0]}").status_code == 404
    assert admin.get(f"/scorecards/charts/{keys[0]}").status_code == 200


def test_department_user_gets_404_for_the_prefecture_overview(admin, dept):
    keys = chart_keys(admin.get(f"/scorecards/rounds/{CURRENT}/overview").text)
    assert len(set(keys)) == 3  # bands, trend, heatmap (linked and shown for print)
    assert dept.get(f"/scorecards/rounds/{CURRENT}/overview").status_code == 404
    assert dept.get(f"/scorecards/charts/{keys[0]}").status_code == 404


def test_department_user_round_list_leads_to_its_own_card(dept):
    response = dept.get(f"/scorecards/rounds/{CURRENT}/")
    assert response.status_code == 302 and response.location.endswith(card_url(OWN))


def test_anonymous_visitor_is_sent_to_login(demo_app):
    response = demo_app.test_client().get(card_url(OWN))
    assert response.status_code == 302 and "/login" in response.location


def test_auditor_sees_every_card_and_the_overview(demo_app):
    reader = client_for(demo_app, "reader", PASSWORD)
    assert reader.get(card_url(OTHER)).status_code == 200
    assert reader.get(f"/scorecards/rounds/{CURRENT}/overview").status_code == 200


def test_unknown_department_round_or_chart_is_404(admin):
    assert admin.get(card_url("nope")).status_code == 404
    assert admin.get(card_url(OWN, round_id=999)).status_code == 404
    assert admin.get("/scorecards/charts/" + "0" * 64).status_code == 404
    assert admin.get("/scorecards/charts/..%2Fsurveyapp.sqlite3").status_code == 404


def test_chart_is_served_with_its_hash_as_etag_and_never_stored(admin):
    key = chart_keys(admin.get(card_url(OWN)).text)[0]
    response = admin.get(f"/scorecards/charts/{key}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["ETag"] == f'"{key}"'
    assert response.headers["Cache-Control"] == "no-store"  # it shows a 所属's scores
    assert response.data == charts.ChartCache(
        admin.application.instance_path + "/cache/charts").fetch(key).path.read_bytes()


def test_chart_answers_304_when_the_browser_has_it(admin):
    key = chart_keys(admin.get(card_url(OWN)).text)[0]
    response = admin.get(f"/scorecards/charts/{key}", headers={"If-None-Match": f'"{key}"'})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == f'"{key}"'


def test_served_chart_is_drawn_once(admin, monkeypatch):
    key = chart_keys(admin.get(card_url(OWN)).text)[0]
    admin.get(f"/scorecards/charts/{key}")
    monkeypatch.setattr(charts, "draw", lambda spec: pytest.fail("drawn again"))
    assert admin.get(f"/scorecards/charts/{key}").status_code == 200
    assert chart_keys(admin.get(card_url(OWN)).text)[0] == key


def test_pdf_download_is_a_pdf_attachment_named_after_the_department(dept):
    response = dept.get(card_url(OWN) + "pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and b"/FontFile2" in response.data
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "0302" in disposition
    assert "%E5%8C%BB%E5%8B%99%E8%96%AC%E4%BA%8B%E8%AA%B2" in disposition  # 医務薬事課


def test_hostile_department_name_is_escaped_on_the_page(admin):
    response = admin.get(card_url(HOSTILE))
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_card_with_mathtext_name_draws_its_chart(admin):
    key = chart_keys(admin.get(card_url(HOSTILE)).text)[0]
    assert admin.get(f"/scorecards/charts/{key}").data.startswith(b"\x89PNG")


def test_pages_carry_no_inline_script_or_style(admin):
    for url in (card_url(OWN), f"/scorecards/rounds/{CURRENT}/overview",
                f"/scorecards/rounds/{CURRENT}/", "/scorecards/"):
        html = admin.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html, url


def test_card_prints_on_a4_without_the_menu(admin):
    html = admin.get(card_url(OWN)).text
    assert re.search(r'<link[^>]+print\.css[^>]+media="print"', html)
    css = (ROOT / "static" / "print.css").read_text(encoding="utf-8")
    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)
    assert re.search(r"\.site-header[^{]*{[^}]*display:\s*none", css)


def test_round_list_links_every_department_card(admin, context):
    html = admin.get(f"/scorecards/rounds/{CURRENT}/").text
    for result in context.scores.departments:
        assert card_url(result.code) in html


def test_index_lists_started_rounds_only(admin, demo_db):
    html = admin.get("/scorecards/").text
    assert f"/scorecards/rounds/{CURRENT}/" in html and f"/scorecards/rounds/{EARLIER}/" in html


def test_overview_shows_band_counts_and_trend_of_every_round(admin, context):
    html = admin.get(f"/scorecards/rounds/{CURRENT}/overview").text
    assert "令和2年度 (2020)" in html and "令和3年度 (2021)" in html
    assert results_view.score_text(context.scores.prefecture.overall) in html


def test_overview_trend_stops_at_the_round_shown(demo_db):
    earlier = prefecture_overview.overview(demo_db, EARLIER, MINIMUM)
    assert [r.fiscal_year for r, _ in earlier.trend_points] == [2020]
    assert earlier.trend.data["x_labels"] == ["令和2年度 (2020)"]


def test_overview_counts_every_department_once(context, demo_db):
    found = prefecture_overview.overview(demo_db, CURRENT, MINIMUM)
    assert sum(c.count for c in found.band_counts) == len(context.scores.departments)
    assert sum(found.bands.data["counts"]) == len(context.scores.departments)
    assert len(found.heatmap.data["row_labels"]) == len(context.scores.departments)


# --- the heatmap as a table ----------------------------------------------------------


def heat_table(html: str) -> str:
    return html[html.index('<table class="data heat-table">'):html.index("</table>",
                html.index('<table class="data heat-table">'))]


def test_overview_shows_the_heatmap_as_a_table_with_the_charts_figures(admin, demo_db):
    found = prefecture_overview.overview(demo_db, CURRENT, MINIMUM)
    table = heat_table(admin.get(f"/scorecards/rounds/{CURRENT}/overview").text)
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table)
    assert [label for label, _cells in rows] == [
        label.replace("<", "&lt;").replace(">", "&gt;")
        for label in found.heatmap.data["row_labels"]]
    cells = [re.findall(r'<td class="num heat-[^"]+">([^<]*)</td>', cells) for _l, cells in rows]
    assert cells == [[results_view.score_text(v) for v in values]
                     for values in found.heatmap.data["values"]]


def test_heatmap_cells_are_coloured_by_their_tenth_and_empty_ones_grey(admin, demo_db):
    found = prefecture_overview.overview(demo_db, CURRENT, MINIMUM)
    table = heat_table(admin.get(f"/scorecards/rounds/{CURRENT}/overview").text)
    classes = re.findall(r'<td class="num heat-(\w+)">', table)
    values = [value for row in found.heatmap.data["values"] for value in row]
    assert None in values and any(value is not None for value in values)
    assert classes == ["none" if value is None else str(int(value // 10)) for value in values]


def test_heatmap_table_has_a_caption_and_headings_with_the_section_titles(admin, demo_db):
    found = prefecture_overview.overview(demo_db, CURRENT, MINIMUM)
    table = heat_table(admin.get(f"/scorecards/rounds/{CURRENT}/overview").text)
    assert "<caption>所属別・分野別の得点（0〜100）</caption>" in table
    for section in found.sections:
        assert f'<abbr title="{section.title.ja}">{section.id}</abbr>' in table


def test_the_heatmap_image_is_for_print_and_the_table_for_the_screen(admin):
    html = admin.get(f"/scorecards/rounds/{CURRENT}/overview").text
    assert re.search(r'<div class="screen-only">\s*<div class="table-scroll sticky-first"'
                     r'[^>]*>\s*<table class="data heat-table">', html)
    assert re.search(r'<figure class="overview-chart heatmap print-only">\s*<img src="[^"]+"',
                     html)
