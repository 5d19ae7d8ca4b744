"""The 「前年度の改善状況」 block on the next round's department form (templates/responses/
form.html includes templates/followups/_previous_year_block.html).

Fixture: tests/fixtures/aggregate. Round FY2020 (closed) and FY2021 (open) of `agg-test`;
U3's FY2021 department response is a draft with the one required question (D-00)
answered, so it can be submitted once the block is complete.
"""

from __future__ import annotations

import sqlite3

import pytest

from surveyapp.readmodels import followup_lists
from surveyapp.refusals import Invalid
from surveyapp.services import followups as service
from surveyapp.services import previous_year
from surveyapp.services import responses as response_service
from tests import test_followups as shared

# The copied aggregation fixture database (see tests/test_followups.py).
agg_database, app_config = shared.agg_database, shared.app_config


@pytest.fixture
def rounds(db, make_user, agg_database):
    found = agg_database[1]
    make_user("chief")
    make_user("u3", role="department", department_code="U3")
    make_user("u1", role="department", department_code="U1")
    return found


@pytest.fixture
def item_id(db, rounds):
    """An open FY2020 improvement item of U3."""
    chief = db.execute("SELECT id FROM users WHERE login = 'chief'").fetchone()[0]
    return service.create_item(db, rounds[2020], "U3", service.ItemInput(
        finding="指摘21", question_ids=("D-01",), owner="総務係"), chief)


@pytest.fixture
def unit(client, rounds, login_as):
    login_as(client, "u3")
    return client


def form_url(rounds, suffix=""):
    return f"/rounds/{rounds[2021]}/self-check/U3{suffix}"


def version(db, rounds):
    return response_service.find_department_response(db, rounds[2021], "U3")["version"]


def post(client, db, rounds, data, suffix="", stale=False):
    current = version(db, rounds) - (1 if stale else 0)
    return client.post(form_url(rounds, suffix), data={"version": str(current), **data})


def block(item_id, status="in_progress", note="ID台帳の様式を作成した。"):
    return {previous_year.status_field(item_id): status, previous_year.note_field(item_id): note}


def text_of(response):
    return response.get_data(as_text=True)


def test_form_shows_the_required_block_for_open_items(unit, rounds, item_id):
    page = text_of(unit.get(form_url(rounds)))
    assert "前年度の改善状況" in page and f"改善計画 #{item_id}" in page and "総務係" in page
    assert f'name="{previous_year.note_field(item_id)}"' in page
    assert '<option value="not_started" selected>' in page


def test_form_has_no_block_without_open_items_of_the_previous_round(unit, rounds):
    assert "前年度の改善状況" not in text_of(unit.get(form_url(rounds)))


def test_submit_without_the_block_is_refused_with_its_errors(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes", "action": "submit"})
    page = text_of(response)
    assert response.status_code == 422 and "進捗を入力してください" in page
    assert f'href="#{previous_year.note_field(item_id)}"' in page


def test_draft_saves_the_block_and_the_next_visit_is_prefilled(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes", "action": "draft",
                                       **block(item_id)})
    assert response.status_code == 302
    page = text_of(unit.get(form_url(rounds)))
    assert "ID台帳の様式を作成した。" in page
    assert '<option value="in_progress" selected>' in page


def test_block_changes_are_in_the_item_history_by_the_department_user(unit, db, rounds,
                                                                      item_id):
    post(unit, db, rounds, {"q_D-00": "yes", "action": "draft", **block(item_id)})
    changes = [h for h in followup_lists.item_history(db, item_id) if h["via_round_id"]]
    assert {(h["field"], h["new_value"], h["changed_by_login"]) for h in changes} == {
        ("progress_note", "ID台帳の様式を作成した。", "u3"), ("status", "in_progress", "u3")}
    assert followup_lists.get_item(db, item_id).status == "in_progress"


def test_complete_block_submits_and_the_result_shows_it(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes", "action": "submit", **block(item_id)})
    assert response.status_code == 200 and "提出内容の確認" in text_of(response)
    assert "ID台帳の様式を作成した。" in text_of(response)
    response = post(unit, db, rounds, {"q_D-00": "yes"}, suffix="/confirm")
    assert response.status_code == 302
    found = response_service.find_department_response(db, rounds[2021], "U3")
    assert found["status"] == "submitted"
    assert "ID台帳の様式を作成した。" in text_of(unit.get(response.location))


def test_confirm_is_refused_while_the_block_is_incomplete(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes"}, suffix="/confirm")
    assert response.status_code == 422 and "前年度の改善状況に未入力の項目" in text_of(response)
    found = response_service.find_department_response(db, rounds[2021], "U3")
    assert found["status"] == "draft"


def test_autosave_saves_the_block(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes", **block(item_id, "done", "完了")},
                    suffix="/autosave")
    assert response.status_code == 200
    entry = previous_year.previous_year_entries(db, rounds[2021], "U3")[0]
    assert (entry.status, entry.note) == ("done", "完了")


def test_a_version_conflict_saves_no_block_and_keeps_the_typing(unit, db, rounds, item_id):
    post(unit, db, rounds, {"q_D-00": "no", "action": "draft"})
    response = post(unit, db, rounds, {"q_D-00": "yes", "action": "draft",
                                       **block(item_id, note="消えてはいけない入力")},
                    stale=True)
    assert response.status_code == 409 and "消えてはいけない入力" in text_of(response)
    assert not previous_year.previous_year_entries(db, rounds[2021], "U3")[0].reported


def test_a_tampered_status_is_reported_and_the_draft_kept(unit, db, rounds, item_id):
    response = post(unit, db, rounds, {"q_D-00": "yes", "action": "draft",
                                       **block(item_id, status="finished")})
    assert response.status_code == 422 and "状況を選んでください" in text_of(response)
    assert previous_year.previous_year_entries(db, rounds[2021], "U3")[0].note


def test_another_departments_items_are_not_in_the_block(client, db, rounds, item_id,
                                                        login_as):
    login_as(client, "u1")
    page = text_of(client.get(f"/rounds/{rounds[2021]}/self-check/U1", follow_redirects=True))
    assert f"改善計画 #{item_id}" not in page


# --- the block is saved in the draft's or the submission's own transaction ------------


@pytest.fixture
def failing_block_writes(db):
    """Storing the block fails inside SQLite, as a full disk or a damaged file would."""
    db.execute("CREATE TEMP TRIGGER block_write_fails BEFORE INSERT ON improvement_reports "
               "BEGIN SELECT RAISE(ABORT, 'block write failed'); END")
    yield
    db.execute("DROP TRIGGER temp.block_write_fails")


def test_a_failed_block_write_leaves_the_answers_unsaved_too(db, rounds, item_id,
                                                             failing_block_writes):
    response = response_service.find_department_response(db, rounds[2021], "U3")
    stored = response_service.load_answers(db, response["id"])
    with pytest.raises(sqlite3.IntegrityError, match="block write failed"):
        response_service.save_draft(db, response["id"], response["version"], {"D-00": "no"},
                                    {}, None, previous_year=block(item_id))
    assert response_service.load_answers(db, response["id"]) == stored
    assert version(db, rounds) == response["version"]


def test_a_failed_block_write_leaves_the_response_unsubmitted(db, rounds, item_id,
                                                              failing_block_writes):
    response = response_service.find_department_response(db, rounds[2021], "U3")
    with pytest.raises(sqlite3.IntegrityError, match="block write failed"):
        response_service.submit(db, response["id"], response["version"], {}, {}, None,
                                previous_year=block(item_id))
    found = response_service.find_department_response(db, rounds[2021], "U3")
    assert (found["status"], found["version"]) == ("draft", response["version"])
    assert not previous_year.previous_year_entries(db, rounds[2021], "U3")[0].reported


def test_the_service_refuses_a_submission_while_the_block_is_incomplete(db, rounds, item_id):
    response = response_service.find_department_response(db, rounds[2021], "U3")
    with pytest.raises(Invalid, match="前年度の改善状況") as refused:
        response_service.submit(db, response["id"], response["version"], {}, {}, None)
    assert set(refused.value.errors) == {previous_year.status_field(item_id),
                                         previous_year.note_field(item_id)}
    assert response_service.find_department_response(db, rounds[2021], "U3")["status"] == "draft"
