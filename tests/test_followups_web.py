"""Follow-up pages on the hand-computed aggregation fixture: who sees what, who may
change what, and that the pages show the service's figures (see tests/test_followups.py
for the numbers)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp.readmodels import followup_lists
from surveyapp.services import followups as service
from surveyapp.store import audit as audit_store
from tests import test_followups as shared

# The copied aggregation fixture database (see tests/test_followups.py).
agg_database, app_config = shared.agg_database, shared.app_config


@pytest.fixture
def rounds(db, make_user, agg_database):
    found = agg_database[1]
    make_user("chief")
    make_user("aud", role="auditor")
    for code in ("U1", "U2", "U3"):
        make_user(code.lower(), role="department", department_code=code)
    return found


def user_id(db, login):
    return db.execute("SELECT id FROM users WHERE login = ?", (login,)).fetchone()[0]


def new_item(db, round_id, code, finding, **typed):
    return service.create_item(db, round_id, code, service.ItemInput(finding=finding, **typed),
                               user_id(db, "chief"))


@pytest.fixture
def as_admin(client, rounds, login_as):
    login_as(client, "chief")
    return client


def text_of(response):
    return response.get_data(as_text=True)


# --- follow-up lists ---------------------------------------------------------------------


def test_list_page_shows_entries_threshold_and_counts(as_admin, rounds):
    page = text_of(as_admin.get(f"/followups/?round={rounds[2021]}"))
    assert "人事課（U2）" in page and "D-01" in page and "-25%" in page
    assert "基準点: 60.0 点未満" in page
    assert "対象 1 所属（得点のある 2 所属中）" in page


def test_list_page_follows_the_catalogue_order_and_marks_the_priority_items(as_admin, rounds):
    page = text_of(as_admin.get(f"/followups/?round={rounds[2021]}"))
    headings = re.findall(r'<h2 id="finding-\d+">(.*?)</h2>', page)
    assert [heading.split(" ")[0] for heading in headings] == ["指摘21", "指摘22", "意見17"]
    assert [heading.endswith("重点</span>") for heading in headings] == [False, False, True]


def test_list_page_shows_a_per_finding_threshold(as_admin, db, rounds):
    service.set_thresholds(db, {"指摘22": "40"}, 60.0, user_id(db, "chief"))
    page = text_of(as_admin.get(f"/followups/?round={rounds[2021]}"))
    assert "基準点: 40.0 点未満（この項目に設定した値）" in page


def test_unknown_round_is_404(as_admin, rounds):
    assert as_admin.get("/followups/?round=999").status_code == 404


def test_department_user_sees_only_its_own_entries(client, rounds, login_as):
    login_as(client, "u1")
    page = text_of(client.get(f"/followups/?round={rounds[2021]}"))
    assert "総務課（U1）" in page and "人事課（U2）" not in page


def test_create_from_entry_makes_a_prefilled_item_and_opens_its_form(as_admin, db, rounds):
    response = as_admin.post(f"/followups/rounds/{rounds[2021]}/plans",
                             data={"department": "U2", "finding": "指摘21"})
    assert response.status_code == 303 and response.location.endswith("/edit")
    item = followup_lists.list_items(db, department_codes=["U2"])[0]
    assert (item.finding, item.question_ids) == ("指摘21", ("D-01",))


def test_list_links_an_existing_item_instead_of_offering_another(as_admin, db, rounds):
    item_id = new_item(db, rounds[2021], "U2", "指摘21")
    page = text_of(as_admin.get(f"/followups/?round={rounds[2021]}"))
    assert f"/followups/items/{item_id}" in page
    assert 'name="department" value="U2"' not in page
    assert 'name="department" value="U1"' in page  # U1's 指摘22 entry has no item yet


def test_department_user_creates_from_its_own_entry(client, db, rounds, login_as):
    login_as(client, "u2")
    response = client.post(f"/followups/rounds/{rounds[2021]}/plans",
                           data={"department": "U2", "finding": "指摘21"})
    assert response.status_code == 303
    assert followup_lists.list_items(db, department_codes=["U2"])


def test_department_user_cannot_create_for_another_department(client, db, rounds, login_as):
    login_as(client, "u1")
    response = client.post(f"/followups/rounds/{rounds[2021]}/plans",
                           data={"department": "U2", "finding": "指摘21"})
    assert response.status_code == 404 and followup_lists.list_items(db) == []


# --- thresholds ----------------------------------------------------------------------------


def test_admin_sets_a_threshold_and_it_is_audit_logged(as_admin, db, rounds):
    findings = followup_lists.known_findings(db)
    data = {f"threshold_{i}": "" for i in range(len(findings))}
    data[f"threshold_{findings.index('意見18')}"] = "65"
    assert as_admin.post("/followups/thresholds", data=data).status_code == 303
    assert followup_lists.thresholds(db, 60.0, ["意見18"])["意見18"].value == 65.0
    assert audit_store.list_entries(db, action="followups.threshold")


def test_bad_threshold_keeps_the_input_and_says_why(as_admin, db, rounds):
    response = as_admin.post("/followups/thresholds", data={"threshold_0": "百"})
    page = text_of(response)
    assert response.status_code == 422 and 'value="百"' in page and "0から100" in page


@pytest.mark.parametrize("login", ["aud", "u1"])
def test_thresholds_page_is_for_admins_only(client, rounds, login_as, login):
    login_as(client, login)
    assert client.get("/followups/thresholds").status_code == 404
    assert client.post("/followups/thresholds", data={"threshold_0": "1"}).status_code == 404


# --- items -----------------------------------------------------------------------------------


def test_item_list_filters_and_shows_the_effective_threshold(as_admin, db, rounds):
    new_item(db, rounds[2021], "U1", "指摘22", owner="山田")
    new_item(db, rounds[2020], "U1", "指摘21", owner="佐藤")
    page = text_of(as_admin.get(f"/followups/items?round={rounds[2021]}"))
    assert "山田" in page and "佐藤" not in page and "60.0" in page


def test_item_list_shows_the_score_movement_marker(as_admin, db, rounds):
    new_item(db, rounds[2020], "U1", "指摘21", question_ids=("D-01",))
    page = text_of(as_admin.get("/followups/items"))
    assert "+100.0" in page and "改善" in page
    assert '<span class="question-mean">0.0%</span>' in page  # D-01: r 0 -> 1
    assert '<span class="question-mean">100.0%</span>' in page


def test_item_page_shows_scores_both_years_and_the_questions_mean(as_admin, db, rounds):
    item_id = new_item(db, rounds[2020], "U1", "指摘22", question_ids=("D-02",))
    page = text_of(as_admin.get(f"/followups/items/{item_id}"))
    assert "100.0" in page and "50.0" in page and "-50.0" in page and "悪化" in page


def test_department_user_sees_only_its_own_items(client, db, rounds, login_as):
    mine = new_item(db, rounds[2021], "U1", "指摘22", owner="自分の担当")
    theirs = new_item(db, rounds[2021], "U2", "指摘21", owner="他所属の担当")
    login_as(client, "u1")
    page = text_of(client.get("/followups/items"))
    assert "自分の担当" in page and "他所属の担当" not in page
    assert client.get(f"/followups/items/{mine}").status_code == 200
    assert client.get(f"/followups/items/{theirs}").status_code == 404
    assert client.get(f"/followups/items/{theirs}/edit").status_code == 404
    assert client.post(f"/followups/items/{theirs}/edit",
                       data={"version": "1", "status": "done"}).status_code == 404


def test_department_user_updates_its_item_and_history_grows(client, db, rounds, login_as):
    item_id = new_item(db, rounds[2021], "U1", "指摘22")
    login_as(client, "u1")
    response = client.post(f"/followups/items/{item_id}/edit", data={
        "version": "1", "owner": "情報係 鈴木", "due_on": "2022-03-31",
        "status": "in_progress", "notes": "手順書を改訂"})
    assert response.status_code == 303
    changes = [h for h in followup_lists.item_history(db, item_id) if h["old_value"] or
               h["field"] in ("owner", "due_on", "notes")]
    assert {h["field"] for h in changes} == {"owner", "due_on", "status", "notes"}
    assert {h["changed_by"] for h in changes} == {user_id(db, "u1")}
    page = text_of(client.get(f"/followups/items/{item_id}"))
    assert "情報係 鈴木" in page and "対応中" in page and "u1" in page


def test_auditor_reads_everything_and_can_post_nothing(client, db, rounds, login_as):
    item_id = new_item(db, rounds[2021], "U2", "指摘21")
    login_as(client, "aud")
    assert client.get(f"/followups/items/{item_id}").status_code == 200
    assert "編集する" not in text_of(client.get(f"/followups/items/{item_id}"))
    for url, data in ((f"/followups/items/{item_id}/edit", {"version": "1", "status": "done"}),
                      ("/followups/items/new", {"round": rounds[2021], "finding": "指摘22"}),
                      (f"/followups/rounds/{rounds[2021]}/plans",
                       {"department": "U2", "finding": "指摘21"})):
        assert client.post(url, data=data).status_code == 404
    assert followup_lists.get_item(db, item_id).status == "not_started"
    assert len(followup_lists.list_items(db)) == 1


def test_stale_edit_is_a_conflict_that_keeps_the_typing(client, db, rounds, login_as):
    item_id = new_item(db, rounds[2021], "U1", "指摘22")
    service.update_item(db, item_id, 1, service.ItemInput(owner="先に保存した人"),
                        user_id(db, "chief"))
    login_as(client, "u1")
    response = client.post(f"/followups/items/{item_id}/edit", data={
        "version": "1", "owner": "私の入力", "status": "done", "notes": "私のメモ"})
    page = text_of(response)
    assert response.status_code == 409
    assert "私の入力" in page and "私のメモ" in page and "先に保存した人" in page
    assert followup_lists.get_item(db, item_id).owner == "先に保存した人"


def test_invalid_edit_is_422_with_the_field_message(client, db, rounds, login_as):
    item_id = new_item(db, rounds[2021], "U1", "指摘22")
    login_as(client, "u1")
    response = client.post(f"/followups/items/{item_id}/edit", data={
        "version": "1", "due_on": "来月", "status": "in_progress", "owner": "山田"})
    assert response.status_code == 422
    assert "yyyy-mm-dd" in text_of(response) and 'value="山田"' in text_of(response)
    assert 'role="alert"' in text_of(response) and 'href="#due_on"' in text_of(response)


def test_department_user_creates_an_item_for_its_own_department(client, db, rounds,
                                                                login_as):
    login_as(client, "u1")
    page = text_of(client.get(f"/followups/items/new?round={rounds[2021]}&finding=指摘22"))
    assert 'name="question_ids" value="D-02"' in page
    response = client.post("/followups/items/new", data={
        "round": rounds[2021], "department": "U2", "finding": "指摘22",
        "question_ids": "D-02", "owner": "山田", "status": "not_started"})
    assert response.status_code == 303
    item = followup_lists.list_items(db)[0]
    assert (item.department_code, item.question_ids) == ("U1", ("D-02",))


def test_admin_creates_an_item_for_any_department(as_admin, db, rounds):
    response = as_admin.post("/followups/items/new", data={
        "round": rounds[2021], "department": "U3", "finding": "意見17",
        "question_ids": ["S-01"], "status": "in_progress"})
    assert response.status_code == 303
    assert followup_lists.list_items(db)[0].department_code == "U3"


def test_new_item_with_a_bad_question_keeps_the_input(as_admin, rounds):
    response = as_admin.post("/followups/items/new", data={
        "round": rounds[2021], "department": "U3", "finding": "意見17",
        "question_ids": ["D-01"], "owner": "残す入力", "status": "not_started"})
    assert response.status_code == 422 and "残す入力" in text_of(response)


def test_nav_has_followups_and_improvement_items(client, rounds, login_as):
    login_as(client, "u1")
    page = text_of(client.get("/followups/"))
    assert 'href="/followups/"' in page and 'href="/followups/items"' in page


def test_pages_have_no_inline_script_or_style(as_admin, db, rounds):
    item_id = new_item(db, rounds[2020], "U1", "指摘21")
    for url in ("/followups/", "/followups/items", f"/followups/items/{item_id}",
                f"/followups/items/{item_id}/edit", "/followups/thresholds",
                f"/followups/items/new?round={rounds[2021]}"):
        page = text_of(as_admin.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=", page), url


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(
    st.sampled_from(["version", "owner", "due_on", "status", "notes", "question_ids"]),
    st.text(max_size=30) | st.sampled_from(["1", "done", "2022-02-30", "D-02", "\x00"]),
    max_size=6))
def test_fuzzed_item_edits_never_cause_a_server_error(as_admin, db, rounds, data):
    item_id = followup_lists.list_items(db)[0].id if followup_lists.list_items(db) else new_item(
        db, rounds[2021], "U1", "指摘22")
    response = as_admin.post(f"/followups/items/{item_id}/edit", data=data)
    assert response.status_code in (303, 409, 422)


def test_successor_department_keeps_the_items_of_the_unit_it_replaced(client, db, rounds,
                                                                      make_user, login_as):
    make_user("u4", role="department", department_code="U4")
    item_id = new_item(db, rounds[2020], "U4OLD", "指摘22", owner="旧所属の担当")
    login_as(client, "u4")
    assert "旧所属の担当" in text_of(client.get("/followups/items"))
    response = client.post(f"/followups/items/{item_id}/edit",
                           data={"version": "1", "status": "done", "owner": "新所属の担当"})
    assert response.status_code == 303
    assert followup_lists.get_item(db, item_id).status == "done"
    assert "旧福祉課（U4OLD）" in text_of(client.get(f"/followups/?round={rounds[2020]}"))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=12) | st.floats(allow_nan=True).map(str))
def test_fuzzed_thresholds_are_stored_or_refused_never_a_server_error(as_admin, typed):
    response = as_admin.post("/followups/thresholds", data={"threshold_0": typed})
    assert response.status_code in (303, 422)
