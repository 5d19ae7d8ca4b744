"""The self-check form page with one block per information system (DESIGN.md §12):
blocks shown with the register data and their progress, drafts, autosave, conflicts,
errors per block, confirmation and submission, and the 所属 scope of blocks."""

from __future__ import annotations

import re

import pytest

from surveyapp.services import responses as service
from surveyapp.store import responses as response_store
from tests import systems_world

DEPARTMENT = {"q_DEP-00": "yes", "q_DEP-01": "done"}


def block(code: str, **answers) -> dict:
    """Posted fields of one block."""
    fields = {f"sys:{code}:q_{qid}": value for qid, value in answers.items()}
    return {**fields, f"sys:{code}:e_SPW-01": "2026-09-01 確認",
            f"sys:{code}:ed_SPW-01": "2026-09-01"}


COMPLETE = {"SPW-00": "yes", "SPW-01": "done", "SCT-01": "partial", "SCT-02": "done"}


@pytest.fixture
def world(db, make_user):
    world = systems_world.build(db)
    make_user("k1", "department", "K1")
    make_user("k1b", "department", "K1")
    return world


@pytest.fixture
def k1(client, world, login_as):
    login_as(client, "k1")
    return client


def url(world, code="K1") -> str:
    return f"/rounds/{world.round_id}/self-check/{code}"


def version(db, world) -> str:
    return str(service.find_department_response(db, world.round_id, "K1")["version"])


def post(client, world, db, data: dict, path: str = "", blocks=("S1", "S2", "S4")):
    body = {"version": version(db, world), "blocks": list(blocks), **data}
    return client.post(url(world) + path, data=body)


def stored(db, world, system_code: str) -> dict:
    found = response_store.find_system_response(db, world.round_id, system_code)
    return {row["question_id"]: row["value"] for row in
            response_store.list_answers(db, found["id"]) if row["value"]} if found else {}


def test_the_form_has_a_block_per_owned_system_with_its_register_data(k1, world):
    html = k1.get(url(world)).text
    assert [code for code in ("S1", "S2", "S3", "S4") if f'id="system-{code}"' in html] == [
        "S1", "S2", "S4"]
    assert "電子申請システム" in html and "クラウドサービス" in html
    assert 'name="sys:S1:q_SPW-00"' in html and 'name="blocks" value="S1"' in html
    assert 'id="question-sys:S1:SPW-01"' in html


def test_a_draft_saves_each_block_under_its_system(k1, world, db):
    k1.get(url(world))
    response = post(k1, world, db, {**DEPARTMENT, **block("S1", **COMPLETE),
                                    **block("S2", **{"SPW-00": "no"})})
    assert response.status_code == 302
    assert stored(db, world, "S1")["SPW-01"] == "done"
    assert stored(db, world, "S2") == {"SPW-00": "no"}
    html = k1.get(url(world)).text
    assert re.search(r'name="sys:S1:q_SPW-01"[^>]*value="done"|value="done"[^>]*name="sys:S1'
                     r':q_SPW-01"', html)


def test_autosave_saves_the_blocks_and_returns_the_forms_version(k1, world, db):
    k1.get(url(world))
    before = int(version(db, world))
    response = post(k1, world, db, block("S4", **{"SCT-02": "none"}), "/autosave")
    assert response.status_code == 200 and response.get_json()["version"] == before + 1
    assert stored(db, world, "S4") == {"SCT-02": "none"}


def test_a_bad_block_value_comes_back_with_the_input_and_saves_nothing(k1, world, db):
    k1.get(url(world))
    response = post(k1, world, db, {"q_DEP-01": "done", **block("S1", **{"SPW-00": "maybe"})})
    assert response.status_code == 422
    assert 'href="#sys:S1:q_SPW-00-0"' in response.text
    assert stored(db, world, "S1") == {}


def test_a_colleagues_save_in_between_is_a_conflict_that_shows_their_block(
        k1, world, db, client, login_as, app):
    k1.get(url(world))
    stale = version(db, world)
    other = app.test_client()
    login_as(other, "k1b")
    other.post(url(world), data={"version": stale, "blocks": ["S1"],
                                 **block("S1", **{"SPW-00": "no"})})
    response = k1.post(url(world), data={"version": stale, "blocks": ["S1"],
                                         **block("S1", **{"SPW-00": "yes"})})
    assert response.status_code == 409
    assert "他の人が保存した内容" in response.text and "いいえ" in response.text
    assert stored(db, world, "S1")["SPW-00"] == "no"


def test_another_departments_block_cannot_be_posted(k1, world, db):
    k1.get(url(world))
    post(k1, world, db, block("S3", **{"SPW-00": "yes"}), blocks=("S3",))
    assert stored(db, world, "S3") == {}


def test_submitting_an_incomplete_block_names_it(k1, world, db):
    k1.get(url(world))
    response = post(k1, world, db, {**DEPARTMENT, "action": "submit",
                                    **block("S1", **COMPLETE), **block("S2", **COMPLETE)})
    assert response.status_code == 422
    assert "sys:S4:q_SPW-00" in response.text


def test_the_confirmation_lists_every_system_and_submits_them_all(k1, world, db):
    k1.get(url(world))
    data = {**DEPARTMENT, **block("S1", **COMPLETE), **block("S2", **COMPLETE),
            **block("S4", **COMPLETE)}
    page = post(k1, world, db, {**data, "action": "submit"})
    assert page.status_code == 200 and "提出内容の確認" in page.text
    assert "文書管理システム" in page.text and "旧文書システム" in page.text
    response = post(k1, world, db, data, "/confirm")
    assert response.status_code == 302
    statuses = {row["system_code"]: row["status"] for row in
                response_store.find_system_responses(db, world.round_id, "K1")}
    assert statuses == {"S1": "submitted", "S2": "submitted", "S4": "submitted"}


def test_the_submitted_response_shows_each_systems_answers_and_score(k1, world, db):
    k1.get(url(world))
    data = {**DEPARTMENT, **block("S1", **COMPLETE), **block("S2", **COMPLETE),
            **block("S4", **COMPLETE)}
    post(k1, world, db, data, "/confirm")
    response_id = service.find_department_response(db, world.round_id, "K1")["id"]
    html = k1.get(f"/responses/{response_id}").text
    assert "電子申請システム" in html and "旧文書システム" in html
    # SPW-01 4/4 (w3), SCT-01 2/4 (w2), SCT-02 4/4 (w1): (3 + 1 + 1) / 6
    assert f"{100 * 5 / 6:.1f}" in html


def test_the_history_lists_block_changes_with_their_system(k1, world, db):
    k1.get(url(world))
    post(k1, world, db, block("S2", **{"SPW-00": "no"}))
    response_id = service.find_department_response(db, world.round_id, "K1")["id"]
    html = k1.get("/self-check/history").text
    assert "S2: SPW-00" in html
    assert f'href="/responses/{response_id}#system-S2"' in html


def test_the_confirmation_and_result_show_a_blocks_evidence_as_text(k1, world, db):
    k1.get(url(world))
    data = {**DEPARTMENT, **block("S1", **COMPLETE), **block("S2", **COMPLETE),
            **block("S4", **COMPLETE)}
    confirmation = post(k1, world, db, {**data, "action": "submit"}).text
    post(k1, world, db, data, "/confirm")
    response_id = service.find_department_response(db, world.round_id, "K1")["id"]
    result = k1.get(f"/responses/{response_id}").text
    for html in (confirmation, result):
        assert "2026-09-01 確認" in html
        assert "AnswerEvidence" not in html
