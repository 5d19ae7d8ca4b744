"""Last year's answer on the department form (DESIGN.md §13), through the web: shown per
question with the mark of a changed question, the copy button, the sections' boxes
"前年どおり確認した", the refusal to submit copied answers unconfirmed, and the
re-confirmed versus changed figures on the results pages."""

from __future__ import annotations

import re

import pytest

from surveyapp.services import responses as service
from surveyapp.store import responses as response_store
from tests import test_carry_over
from tests.test_carry_over import complete_answers

years = test_carry_over.years  # the fixture: FY2020 answered, FY2021 open


@pytest.fixture
def unit(client, login_as, years):
    login_as(client, "unit1")
    years.url = f"/rounds/{years.round_id}/self-check/U1"
    return client


def form(client, years) -> str:
    return client.get(years.url).get_data(as_text=True)


def version(db, years) -> str:
    return str(response_store.get_response(db, years.response_id)["version"])


def post(client, db, years, data, url=None):
    return client.post(url or years.url, data={"version": version(db, years), **data})


def test_each_question_shows_last_years_answer(unit, years):
    html = form(unit, years)
    assert "前年度の回答（令和2年度 (2020)）" in html
    block = html[html.index('id="previous-PWD-05"'):][:1500]
    assert "台帳で確認" in block and "文書管理システム 第3号" in block


def test_a_changed_question_carries_its_mark(unit, years):
    html = form(unit, years)
    block = html[html.index('id="previous-IDM-05"'):][:1200]
    assert "設問が変更されています" in block and "分割" in block and "IDM-02" in block


def test_the_copy_button_fills_empty_questions_and_says_so(unit, db, years):
    html = form(unit, years)
    assert 'value="copy_previous"' in html and 'name="confirm_shown"' in html
    response = post(unit, db, years, {"action": "copy_previous", "confirm_shown": "1"})
    assert response.status_code == 302
    html = unit.get(years.url).get_data(as_text=True)
    assert "前年の回答を" in html and "問にコピーしました" in html
    assert "前年からコピー（未確認）" in html
    answers, _evidence = service.load_answers(db, years.response_id)
    assert answers["PWD-05"] == years.answers["PWD-05"]


def test_copied_answers_block_submission_until_confirmed(unit, db, years):
    post(unit, db, years, {"action": "copy_previous", "confirm_shown": "1"})
    answers, _evidence = service.load_answers(db, years.response_id)
    rest = {f"q_{q}": v for q, v in complete_answers(years.after).items() if q not in answers}
    full = {**{f"q_{q}": v for q, v in answers.items() if isinstance(v, str)}, **rest,
            "confirm_shown": "1"}
    response = post(unit, db, years, {"action": "submit", **full})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'href="#confirm_PWD"' in html
    assert "前年の回答をコピーしたまま確認していない設問があります" in html
    sections = {s.id for s in years.after.sections_for("department")}
    ticked = {f"confirm_{s}": "1" for s in sections}
    response = post(unit, db, years, {"action": "submit", **full, **ticked})
    assert "提出内容の確認" in response.get_data(as_text=True)
    assert 'name="confirm_PWD" value="1"' in response.get_data(as_text=True)
    confirmed = post(unit, db, years, {**full, **ticked}, url=years.url + "/confirm")
    assert confirmed.status_code == 302
    assert service.get_response(db, years.response_id)["status"] == "submitted"
    view = unit.get(f"/responses/{years.response_id}").get_data(as_text=True)
    assert "前年どおり確認済み" in view and "前年からコピー" in view


def test_a_ticked_section_stays_ticked(unit, db, years):
    post(unit, db, years, {"action": "draft", "confirm_shown": "1", "confirm_PWD": "1"})
    html = form(unit, years)
    assert re.search(r'id="confirm_PWD" name="confirm_PWD" value="1"\s+checked', html)


def test_a_refused_save_keeps_the_boxes_as_ticked(unit, db, years):
    stale = {"version": "0", "action": "draft", "confirm_shown": "1", "confirm_PWD": "1"}
    response = unit.post(years.url, data=stale)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert re.search(r'id="confirm_PWD" name="confirm_PWD" value="1"\s+checked', html)
    from surveyapp.store import carry_over as carry_store
    assert carry_store.confirmed_sections(db, years.response_id) == []


def test_autosave_records_a_section_confirmation(unit, db, years):
    body = post(unit, db, years, {"confirm_shown": "1", "confirm_PWD": "1"},
                url=years.url + "/autosave").get_json()
    assert body["version"] == 2
    from surveyapp.store import carry_over as carry_store
    assert carry_store.confirmed_sections(db, years.response_id) == ["PWD"]


def test_the_results_show_reconfirmed_and_changed_per_unit(client, db, years, login_as,
                                                          make_user):
    from surveyapp.services.carry_over import CarryInput
    service.save_draft(db, years.response_id, 1, {}, {}, years.user["id"],
                       carry=CarryInput(copy=True, confirmed=frozenset({"PWD"})))
    make_user("auditor1", "auditor")
    login_as(client, "auditor1")
    html = client.get(f"/results/rounds/{years.round_id}/carry-over").get_data(as_text=True)
    assert "前年回答の再確認" in html and "U1" in html and "再確認" in html
    # U1's row and the overall row: 14 compared, 2 re-confirmed (PWD), 12 the same.
    assert html.count('<td class="num">2（14.3%）</td>') == 2
    assert html.count('<td class="num">12（85.7%）</td>') == 2
    page = client.get(f"/results/departments/U1/?round={years.round_id}").get_data(
        as_text=True)
    assert "前年どおり確認した" in page and "変更した" in page


def test_the_carry_over_page_is_for_admins_and_auditors(unit, years):
    assert unit.get(f"/results/rounds/{years.round_id}/carry-over").status_code == 404
