"""Results pages over the demo: access per role, sorting, filtering, and figures that
equal the services' numbers. One demo instance serves the whole module (read-only)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from surveyapp import create_app, migrations, store
from surveyapp.demo import cast
from surveyapp.demo import loader as demo
from surveyapp.readmodels import aggregate, compare, question_view, results_view
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.results_view import delta_text, percent, score_text
from tests.conftest import QUESTIONNAIRES

ANONYMITY_MIN = 5
OTHER_UNIT = "0101"  # a 所属 that is not the demo department user's


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results-pages")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder),
                      "SECRET_KEY": "test-secret-key", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    demo.load_demo(database, QUESTIONNAIRES)
    yield app, database
    database.close()


@pytest.fixture(scope="module")
def db(demo_app):
    return demo_app[1]


@pytest.fixture(scope="module")
def clients(demo_app):
    """A logged-in test client per role (the demo accounts), plus an anonymous one."""
    app = demo_app[0]
    logged_in = {"anonymous": app.test_client()}
    for account in cast.ACCOUNTS:
        client = app.test_client()
        response = client.post("/login", data={"login": account.login,
                                               "password": account.password})
        assert response.status_code == 302
        logged_in[account.role] = client
    return logged_in


@pytest.fixture(scope="module")
def rounds(db):
    """{fiscal year: round id} of the demo."""
    return {r.fiscal_year: r.id for r in round_reads.list_rounds(db)}


@pytest.fixture(scope="module")
def scores(db, rounds):
    return aggregate.round_scores(db, rounds[2021], ANONYMITY_MIN)


def page(clients, role, url, status=200):
    response = clients[role].get(url)
    assert response.status_code == status, url
    return response.text


def listed_codes(html: str) -> list[str]:
    """所属 codes in the order of the round table's rows (their links to the 所属 page)."""
    return re.findall(r'href="/results/departments/([^/"]+)/\?round=\d+"', html)


def table_row(html: str, code: str) -> str:
    """The <tr> of the round table that links to 所属 `code`."""
    return next(row for row in html.split("<tr") if f"/results/departments/{code}/?round"
                in row)


# --- access ----------------------------------------------------------------------------


def admin_only_urls(rounds):
    return [f"/results/rounds/{rounds[2021]}/", f"/results/rounds/{rounds[2021]}/questions"]


def every_url(rounds):
    return [*admin_only_urls(rounds), "/results/", f"/results/departments/{OTHER_UNIT}/",
            "/results/compare"]


def test_anonymous_visitors_are_sent_to_the_login_page(clients, rounds):
    for url in every_url(rounds):
        response = clients["anonymous"].get(url)
        assert response.status_code == 302 and "/login" in response.location, url


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_reach_every_results_page(clients, rounds, role):
    for url in every_url(rounds):
        assert clients[role].get(url, follow_redirects=True).status_code == 200, url


def test_department_user_gets_404_on_round_and_question_pages(clients, rounds):
    for url in admin_only_urls(rounds):
        page(clients, "department", url, 404)


def test_department_user_gets_404_for_another_departments_page(clients):
    page(clients, "department", f"/results/departments/{OTHER_UNIT}/", 404)


def test_department_user_reaches_its_own_page(clients):
    html = page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/")
    assert "医務薬事課" in html


def test_results_pages_route_only_get(demo_app):
    """Nothing on the results pages changes state, so auditors cannot change anything."""
    app = demo_app[0]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("results."):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_unknown_round_is_404(clients):
    page(clients, "admin", "/results/rounds/999/", 404)
    page(clients, "admin", "/results/rounds/999/questions", 404)


def test_a_bureau_code_is_no_department_page(clients):
    page(clients, "admin", "/results/departments/01/", 404)


def test_unknown_department_is_404(clients):
    page(clients, "admin", "/results/departments/NOPE/", 404)


# --- landing ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_land_on_the_latest_rounds_results(clients, rounds, role):
    response = clients[role].get("/results/")
    assert response.location == f"/results/rounds/{rounds[2026]}/"


def test_department_user_lands_on_its_own_page(clients):
    response = clients["department"].get("/results/")
    assert response.location == f"/results/departments/{cast.DEPT_LOGIN_UNIT}/"


def test_results_and_comparison_are_in_the_menu(clients):
    html = page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/")
    assert 'href="/results/"' in html and 'href="/results/compare"' in html


# --- the round table -------------------------------------------------------------------


def sort_cases(scores):
    return list(results_view.sort_keys(scores.questionnaire))


def test_every_sort_column_has_a_header_link(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    findings = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?view=findings")
    for key in sort_cases(scores):
        link = f"sort={quote(key)}"
        assert link in html or link in findings, key


def test_each_whitelisted_sort_orders_the_rows(clients, rounds, scores):
    for key in sort_cases(scores):
        for direction in ("asc", "desc"):
            url = f"/results/rounds/{rounds[2021]}/?sort={key}&dir={direction}"
            expected = results_view.sort_departments(
                scores.departments, results_view.sort_keys(scores.questionnaire)[key],
                direction == "desc")
            assert listed_codes(page(clients, "admin", url)) == [d.code for d in expected], url


@pytest.mark.parametrize("bogus", ["bogus", "overall;DROP TABLE answers", "section-NOPE",
                                   "__class__", "%00"])
def test_an_unknown_sort_is_ignored(clients, rounds, scores, bogus):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?sort={bogus}&dir=sideways")
    assert listed_codes(html) == [d.code for d in scores.departments]


def test_the_sorted_column_is_announced(clients, rounds):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?sort=overall&dir=desc")
    assert 'aria-sort="descending"' in html


def test_bureau_filter_shows_only_its_departments(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?bureau=03")
    assert listed_codes(html) == [d.code for d in scores.departments if d.parent_code == "03"]


def test_an_unknown_bureau_shows_every_department(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?bureau=99")
    assert len(listed_codes(html)) == len(scores.departments)


def test_band_filter_shows_only_departments_of_that_band(clients, rounds, scores):
    band = next(d.band.id for d in scores.departments if d.band)
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?band={band}")
    assert listed_codes(html) == [d.code for d in scores.departments
                                  if d.band and d.band.id == band]


def test_band_filter_none_shows_departments_without_a_score(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?band=none")
    expected = [d.code for d in scores.departments if d.band is None]
    assert expected and listed_codes(html) == expected


def test_status_filter_shows_submitted_or_not(clients, rounds, scores):
    for status, wanted in (("submitted", True), ("not_submitted", False)):
        html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?status={status}")
        assert listed_codes(html) == [d.code for d in scores.departments
                                      if d.submitted == wanted], status


@pytest.mark.parametrize("query", ["band=Z", "status=%3Cscript%3E", "page=x", "page=-3",
                                   "page=99999", "band=%22%3E%3Cb%3E"])
def test_bogus_filters_and_pages_show_the_first_page_of_everything(clients, rounds, scores,
                                                                   query):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?{query}")
    assert listed_codes(html) == [d.code for d in scores.departments]
    assert "<script>" not in html and "<b>" not in html


def test_filters_and_sort_combine_on_the_server(clients, rounds, scores):
    url = f"/results/rounds/{rounds[2021]}/?status=submitted&sort=overall&dir=desc&bureau=03"
    html = page(clients, "admin", url)
    key = results_view.sort_keys(scores.questionnaire)["overall"]
    chosen = [d for d in scores.departments if d.submitted and d.parent_code == "03"]
    assert listed_codes(html) == [d.code for d in results_view.sort_departments(
        chosen, key, True)]
    header = re.search(r'<a href="([^"]+sort=name[^"]*)">所属</a>', html).group(1)
    assert "status=submitted" in header and "bureau=03" in header


def test_the_table_pages_through_every_department_once(scores):
    shown = []
    for number in range(1, 20):
        table = results_view.results_table(scores, None, "overall", True, page=number,
                                           page_size=7)
        if table.page != number:
            break
        assert len(table.rows) <= 7 and table.first == (number - 1) * 7 + 1
        shown += [row.result.code for row in table.rows]
    key = results_view.sort_keys(scores.questionnaire)["overall"]
    assert shown == [d.code for d in results_view.sort_departments(
        list(scores.departments), key, True)]
    assert table.pages == -(-len(scores.departments) // 7)


def test_a_page_past_the_end_shows_the_last_page(scores):
    table = results_view.results_table(scores, None, None, False, page=500, page_size=7)
    assert table.page == table.pages and table.last == len(scores.departments)


def test_the_page_links_keep_the_filters_and_the_sort(clients, rounds, scores, monkeypatch):
    monkeypatch.setattr(results_view, "PAGE_SIZE", 7)
    html = page(clients, "admin",
                f"/results/rounds/{rounds[2021]}/?sort=code&status=submitted&page=1")
    expected = [d.code for d in scores.departments if d.submitted]
    assert len(expected) > 7
    assert listed_codes(html) == sorted(expected)[:7]
    link = re.search(r'rel="next" href="([^"]+)"', html).group(1)
    assert "status=submitted" in link and "sort=code" in link and "page=2" in link
    second = page(clients, "admin", link.replace("&amp;", "&"))
    assert listed_codes(second) == sorted(expected)[7:14]


def test_overall_scores_on_the_page_equal_the_service(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    for result in scores.departments:
        row = table_row(html, result.code)
        assert score_text(result.overall) in row, result.code
        if result.band:
            assert f'<span class="band-letter">{result.band.id}</span>' in row


def test_section_scores_on_the_page_equal_the_service(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    result = next(d for d in scores.departments if d.submitted and not d.staff_hidden)
    cells = re.findall(r'<td class="num[^"]*">([^<]*)', table_row(html, result.code))
    shown = [cell.strip() for cell in cells]
    for section in results_view.scored_sections(scores.questionnaire):
        assert score_text(result.sections[section.id]) in shown, section.id


def test_finding_columns_show_finding_scores(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/?view=findings")
    result = next(d for d in scores.departments if d.submitted and not d.staff_hidden)
    row = table_row(html, result.code)
    for finding in ("指摘6", "指摘21", "意見17"):
        assert f">{finding}" in html
        assert score_text(result.findings[finding]) in row


def test_departments_below_the_anonymity_minimum_show_n_below_5(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    hidden = [d for d in scores.departments if d.staff_hidden]
    assert hidden, "the demo has 所属 below the minimum"
    for result in hidden:
        assert "n &lt; 5" in table_row(html, result.code)
    shown = next(d for d in scores.departments if not d.staff_hidden)
    assert "n &lt; 5" not in table_row(html, shown.code)


def test_submission_progress_counts_submitted_departments(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    submitted = sum(d.submitted for d in scores.departments)
    assert f"{submitted} / {len(scores.departments)} 所属" in html


def test_band_distribution_equals_the_service(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    table = html.split('class="data band-distribution"')[1].split("</table>")[0]
    for item in results_view.band_counts(scores.questionnaire, scores.departments):
        assert f'<td class="num">{item.count}</td>\n        <td class="num">' \
               f'{percent(item.share)}</td>' in table


def test_bureau_and_prefecture_rows_show_the_departments_behind(clients, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/")
    rollups = html.split('class="data rollup-table"')[1]
    prefecture = scores.prefecture
    assert f"{score_text(prefecture.overall)} <span class=\"band-letter\">" in rollups
    assert f"(n={prefecture.n_overall})" in rollups
    for bureau in scores.bureaus:
        assert bureau.name in rollups and f"(n={bureau.scores.n_overall})" in rollups


# --- questions ------------------------------------------------------------------------------


def test_question_page_shows_counts_equal_to_the_distribution(clients, db, rounds, scores):
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/questions")
    counts = aggregate.choice_distribution(db, rounds[2021], scores.questionnaire, "staff",
                                           ANONYMITY_MIN)
    block = html.split('id="q-POL-03"')[1].split("</article>")[0]
    for value, count in counts["POL-03"].items():
        label = scores.questionnaire.question("POL-03").choice(value).label.ja
        assert re.search(re.escape(label) + r".*?<td class=\"num\">" + str(count) + "</td>",
                         block, re.S), value


def test_quiz_questions_show_correct_and_unknown_rates(clients, db, rounds, scores):
    summaries = question_view.question_summaries(db, scores)
    quiz = next(s for s in summaries if s.question.id == "POL-03")
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/questions")
    block = html.split('id="q-POL-03"')[1].split("</article>")[0]
    assert f"正答率 {percent(quiz.correct_rate)}" in block
    assert f"わからない {percent(quiz.unknown_rate)}" in block


def test_most_missed_list_starts_with_the_lowest_mean(clients, db, rounds, scores):
    missed = question_view.most_missed(question_view.question_summaries(db, scores))
    html = page(clients, "admin", f"/results/rounds/{rounds[2021]}/questions")
    table = html.split('class="data most-missed"')[1].split("</table>")[0]
    ids = re.findall(r'href="#q-([^"]+)"', table)
    assert ids == [s.question.id for s in missed]


def test_one_departments_staff_distribution_is_hidden_below_the_minimum(clients, rounds,
                                                                         scores):
    hidden = next(d for d in scores.departments if d.staff_hidden)
    html = page(clients, "admin",
                f"/results/rounds/{rounds[2021]}/questions?department={hidden.code}")
    block = html.split('id="q-POL-03"')[1].split("</article>")[0]
    assert "n &lt; 5" in block and "<table" not in block


def test_one_departments_staff_distribution_is_shown_at_the_minimum(clients, rounds, scores):
    shown = next(d for d in scores.departments if not d.staff_hidden)
    html = page(clients, "admin",
                f"/results/rounds/{rounds[2021]}/questions?department={shown.code}")
    block = html.split('id="q-POL-03"')[1].split("</article>")[0]
    assert "<table" in block


# --- one 所属 ------------------------------------------------------------------------------


def test_department_page_shows_the_prefecture_average_beside_each_figure(clients, scores,
                                                                        rounds):
    html = page(clients, "department",
                f"/results/departments/{cast.DEPT_LOGIN_UNIT}/?round={rounds[2021]}")
    own = scores.department(cast.DEPT_LOGIN_UNIT)
    overall_row = html.split('class="figure-overall"')[1].split("</tr>")[0]
    assert score_text(own.overall) in overall_row
    assert score_text(scores.prefecture.overall) in overall_row
    assert delta_text(own.overall - scores.prefecture.overall) in overall_row
    for section in results_view.scored_sections(scores.questionnaire):
        assert score_text(scores.prefecture.sections[section.id]) in html


def test_department_page_lists_every_round_in_its_history(clients, db):
    html = page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/")
    history = html.split('class="data department-history"')[1].split("</table>")[0]
    for entry in aggregate.department_history(db, cast.DEPT_LOGIN_UNIT, ANONYMITY_MIN):
        assert score_text(entry.scores.overall) in history


def test_department_page_links_to_the_history_api(clients):
    html = page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/")
    assert f'href="/api/v1/departments/{cast.DEPT_LOGIN_UNIT}/history"' in html


def test_department_page_shows_an_earlier_round_when_asked(clients, db, rounds):
    html = page(clients, "department",
                f"/results/departments/{cast.DEPT_LOGIN_UNIT}/?round={rounds[2020]}")
    earlier = aggregate.round_scores(db, rounds[2020], ANONYMITY_MIN)
    assert "令和2年度 情報セキュリティ自己点検・浸透状況アンケート（版 2020.1）" in html
    assert score_text(earlier.prefecture.overall) in html


def test_department_page_ignores_a_bogus_round(clients):
    page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/?round=x1")


# --- year-over-year ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(db, rounds):
    return compare.compare_rounds(db, rounds[2020], rounds[2021], ANONYMITY_MIN)


@pytest.fixture(scope="module")
def fy2020_to_2021(rounds) -> str:
    return f"/results/compare?from={rounds[2020]}&to={rounds[2021]}"


def test_comparison_defaults_to_the_latest_two_rounds(clients):
    html = page(clients, "admin", "/results/compare")
    assert "（版 2021.1） → 令和8年度 情報セキュリティ自己点検" in html


def test_comparison_marks_the_split_of_idm02(clients, fy2020_to_2021):
    html = page(clients, "admin", fy2020_to_2021)
    mapping = html.split('class="data question-mapping"')[1].split("</table>")[0]
    idm05 = next(row for row in mapping.split("<tr") if ">IDM-05<" in row)
    assert "IDM-02" in idm05 and "◇ 分割" in idm05 and "不可" in idm05
    sections = html.split('class="data section-comparability"')[1].split("</table>")[0]
    idm = next(row for row in sections.split("<tr") if "IDM" in row)
    assert "△ 比較注意" in idm and "◇ 分割" in idm


def test_comparison_legend_explains_every_mark(clients):
    html = page(clients, "admin", "/results/compare")
    legend = html.split('class="relation-legend"')[1].split("</dl>")[0]
    for word in ("文言変更", "分割", "統合", "近似", "新規", "廃止"):
        assert word in legend


def test_comparison_shows_common_items_scores_beside(clients, comparison, fy2020_to_2021):
    html = page(clients, "admin", fy2020_to_2021)
    idm = comparison.prefecture.sections["IDM"]
    common = (f"共通項目 {score_text(idm.common.before)} → {score_text(idm.common.after)}"
              f" ({delta_text(idm.common.delta)})")
    assert common in html
    pwd = comparison.prefecture.sections["PWD"]
    assert f"{score_text(pwd.change.before)} → {score_text(pwd.change.after)}" in html


def test_comparison_shows_each_departments_delta(clients, comparison, fy2020_to_2021):
    html = page(clients, "admin", fy2020_to_2021)
    for item in comparison.departments[:5]:
        row = next(r for r in html.split("<tr") if f"/results/departments/{item.code}/\"" in r)
        assert delta_text(item.changes.overall.delta) in row


def test_department_user_compares_only_its_own_department(clients):
    html = page(clients, "department", "/results/compare")
    linked = set(re.findall(r'href="/results/departments/([^/"]+)/"', html))
    assert linked == {cast.DEPT_LOGIN_UNIT}
    assert "全庁" in html


def test_comparison_bureau_filter(clients, comparison, fy2020_to_2021):
    html = page(clients, "admin", fy2020_to_2021 + "&bureau=02")
    linked = re.findall(r'<td><a href="/results/departments/([^/"]+)/"', html)
    assert linked == [d.code for d in comparison.departments if d.parent_code == "02"]


def test_comparison_of_an_unknown_round_is_404(clients, rounds):
    page(clients, "admin", f"/results/compare?from=999&to={rounds[2021]}", 404)


def test_comparison_with_bogus_round_ids_uses_the_default(clients):
    html = page(clients, "admin", "/results/compare?from=abc&to=")
    assert "→ 令和8年度 情報セキュリティ自己点検・浸透状況アンケート（版 2026.1）" in html


def test_department_user_sees_no_bureau_average(clients):
    """In a small 部局 the average would reveal the other 所属's score."""
    html = page(clients, "department", f"/results/departments/{cast.DEPT_LOGIN_UNIT}/")
    assert "部局平均" not in html


def test_admin_sees_the_bureau_average_on_a_department_page(clients, scores, rounds):
    html = page(clients, "admin",
                f"/results/departments/{cast.DEPT_LOGIN_UNIT}/?round={rounds[2021]}")
    bureau = next(b for b in scores.bureaus if b.code == "03")
    overall_row = html.split('class="figure-overall"')[1].split("</tr>")[0]
    assert "部局平均" in html and score_text(bureau.scores.overall) in overall_row


def test_a_codes_filter_shows_and_counts_only_those_departments_on_every_page(scores):
    codes = frozenset(d.code for d in scores.departments[::2])
    table = results_view.results_table(scores, None, "code", False, page=1, page_size=7,
                                       codes=codes)
    assert [row.result.code for row in table.rows] == sorted(codes)[:7]
    assert table.matching == table.totals.members == len(codes)
    assert table.pages == -(-len(codes) // 7)
    band = table.rows[0].result.band.id
    banded = results_view.results_table(scores, None, "code", False, band=band, codes=codes)
    assert {row.result.code for row in banded.rows} == {
        d.code for d in scores.departments if d.code in codes and d.band and d.band.id == band}
