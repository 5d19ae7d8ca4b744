"""Follow-ups per information system (DESIGN.md §12): the systems below a finding's
threshold, and improvement items that name a system."""

from __future__ import annotations

import pytest

from surveyapp.readmodels import followup_lists
from surveyapp.refusals import Invalid
from surveyapp.services import followups as service
from surveyapp.services import self_check
from tests import systems_world

DEPARTMENT = {"DEP-00": "yes", "DEP-01": "done"}
WEAK = ({"SPW-00": "yes", "SPW-01": "partial", "SCT-01": "done", "SCT-02": "done"},
        {"SPW-01": systems_world.proof("確認中")})
STRONG = ({"SPW-00": "yes", "SPW-01": "done", "SCT-01": "done", "SCT-02": "done"},
          {"SPW-01": systems_world.proof("確認済み")})
NONE = ({"SPW-00": "no", "SCT-01": "na", "SCT-02": "done"}, {})
MIN, DEFAULT = 5, 60.0


@pytest.fixture
def world(db):
    world = systems_world.build(db)
    response = systems_world.department_response(db, world, "K1")
    self_check.submit_form(db, response["id"], response["version"], DEPARTMENT, {},
                           {"S1": WEAK, "S2": STRONG, "S4": NONE}, None, world.questionnaire)
    return world


def finding(db, world, name, codes=None):
    found = followup_lists.round_followups(db, world.round_id, MIN, DEFAULT, codes)
    return next(f for f in found.lists if f.finding == name), found


def test_a_weak_system_is_listed_although_its_department_is_not(db, world):
    found, _all = finding(db, world, "指摘22")
    assert [entry.code for entry in found.entries] == []  # K1: mean of 50 and 100
    assert [(s.code, s.owner_code, s.score) for s in found.systems] == [("S1", "K1", 50.0)]
    assert [(gap.question_id, gap.ratio) for gap in found.systems[0].gaps] == [("SPW-01", 0.5)]


def test_another_departments_list_has_none_of_its_systems(db, world):
    found, _all = finding(db, world, "指摘22", ["K2"])
    assert found.systems == ()
    assert followup_lists.only_bureau([finding(db, world, "指摘22")[0]],
                                      "OTHER")[0].systems == ()


def test_an_item_from_a_systems_entry_names_the_system(db, world):
    item_id, created = service.create_from_entry(db, world.round_id, "K1", "指摘22", MIN,
                                                 DEFAULT, None, "S1")
    item = followup_lists.get_item(db, item_id)
    assert created and (item.system_code, item.system_name) == ("S1", "電子申請システム")
    assert item.question_ids == ("SPW-01",)
    assert service.create_from_entry(db, world.round_id, "K1", "指摘22", MIN, DEFAULT,
                                     None, "S1") == (item_id, False)
    _found, followups = finding(db, world, "指摘22")
    assert followups.system_items == {("S1", "指摘22"): (item_id,)}
    with pytest.raises(Invalid):  # S2 is above the threshold
        service.create_from_entry(db, world.round_id, "K1", "指摘22", MIN, DEFAULT, None, "S2")
    with pytest.raises(Invalid):  # S1 is not K2's
        service.create_from_entry(db, world.round_id, "K2", "指摘22", MIN, DEFAULT, None, "S1")


def test_an_item_may_name_only_a_system_of_its_department(db, world):
    item_id = service.create_item(db, world.round_id, "K1",
                                  service.ItemInput(finding="指摘22", system_code="S2"), None)
    assert followup_lists.get_item(db, item_id).system_code == "S2"
    with pytest.raises(Invalid) as refused:
        service.create_item(db, world.round_id, "K1",
                            service.ItemInput(finding="指摘22", system_code="S3"), None)
    assert set(refused.value.errors) == {"system_code"}
    with pytest.raises(Invalid):
        service.update_item(db, item_id, 1, service.ItemInput(system_code="S3"), None)
    item = service.update_item(db, item_id, 1, service.ItemInput(system_code=""), None)
    assert item.system_code is None
    changes = [(row["field"], row["old_value"], row["new_value"])
               for row in followup_lists.item_history(db, item_id)]
    assert ("system_code", "S2", None) in changes


def test_the_scorecard_names_an_open_items_system(db, world):
    from surveyapp.readmodels import scorecards
    service.create_from_entry(db, world.round_id, "K1", "指摘22", MIN, DEFAULT, None, "S1")
    card = scorecards.build_scorecard(db, world.round_id, "K1", MIN)
    assert [item.subject for item in card.open_items] == ["指摘22（S1）"]


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def pages(world, make_user, client):
    make_user("admin1", "admin")
    make_user("k1", "department", "K1")
    make_user("k2", "department", "K2")
    return client


def test_the_list_page_shows_the_weak_system_with_a_create_button(pages, world, login_as):
    login_as(pages, "k1")
    html = pages.get(f"/followups/?round={world.round_id}").text
    assert "基準点を下回った情報システム" in html and "S1 電子申請システム" in html
    assert 'name="system" value="S1"' in html
    pages.post("/logout")
    login_as(pages, "k2")
    assert "電子申請システム" not in pages.get(f"/followups/?round={world.round_id}").text


def test_a_department_creates_and_sees_a_system_item(pages, world, login_as):
    login_as(pages, "k1")
    response = pages.post(f"/followups/rounds/{world.round_id}/plans",
                          data={"department": "K1", "finding": "指摘22", "system": "S1"})
    assert response.status_code == 303
    item_page = pages.get(response.headers["Location"].replace("/edit", ""))
    assert "電子申請システム" in item_page.text
    edit = pages.get(response.headers["Location"]).text
    assert 'id="system_code"' in edit and 'value="S2"' in edit and 'value="S3"' not in edit


def test_another_departments_system_cannot_be_named(pages, world, login_as):
    login_as(pages, "k2")
    response = pages.post(f"/followups/rounds/{world.round_id}/plans",
                          data={"department": "K2", "finding": "指摘22", "system": "S1"})
    assert response.status_code == 303 and "/plans" not in response.headers["Location"]
    response = pages.post("/followups/items/new", data={
        "round": world.round_id, "finding": "指摘22", "system_code": "S1",
        "status": "not_started"})
    assert response.status_code == 422
    assert "この所属の情報システムから選んでください" in response.text
