"""The self-check as one form with a block per information system (DESIGN.md §12):
which blocks a 所属 gets, saving and submitting them with the department answers in
one transaction and one version, relevance across the blocks and the 所属's answers."""

from datetime import date

import pytest

from surveyapp import scoring, store
from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels import home
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import responses as response_service
from surveyapp.services import self_check
from surveyapp.services import systems as system_service
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from tests import systems_world

COMPLETE_DEPARTMENT = {"DEP-00": "yes", "DEP-01": "done"}
COMPLETE_SYSTEM = ({"SPW-00": "yes", "SPW-01": "partial", "SCT-01": "done", "SCT-02": "done"},
                   {"SPW-01": AnswerEvidence("2026-09-01 確認", None, "2026-09-01")})


@pytest.fixture
def world(db):
    return systems_world.build(db)


def blocks(db, world, code="K1"):
    return self_check.blocks(db, world.round_id, 2026, code, world.questionnaire)


def save(db, world, response, systems, answers=None, version=None):
    return self_check.save_form(db, response["id"], version or response["version"],
                                answers or {}, {}, systems, None, world.questionnaire)


def stored_rows(db, world, system_code):
    found = response_store.find_system_response(db, world.round_id, system_code)
    return {row["question_id"]: row for row in response_store.list_answers(db, found["id"])}


def test_a_department_gets_one_block_per_system_it_owns_that_year(db, world):
    assert [block.code for block in blocks(db, world)] == ["S1", "S2", "S4"]
    assert [block.code for block in blocks(db, world, "K2")] == ["S3"]
    assert blocks(db, world, "K3") == []


def test_a_round_without_system_questions_has_no_blocks(db, world):
    from surveyapp.services import questionnaires as questionnaire_service
    from tests.conftest import QUESTIONNAIRES
    path = QUESTIONNAIRES / "infosec-selfcheck" / "2020.1.yaml"
    questionnaire_service.publish(db, path.read_bytes(), str(path))
    fy2020 = get_definition(db, "infosec-selfcheck", "2020.1")
    assert self_check.blocks(db, world.round_id, 2026, "K1", fy2020) == []


def test_saving_a_block_stores_its_answers_under_its_system(db, world):
    response = systems_world.department_response(db, world, "K1")
    result = save(db, world, response, {"S1": ({"SPW-00": "yes", "SPW-01": "done"}, {})})
    assert result.changed == ("S1:SPW-00", "S1:SPW-01")
    found = response_store.find_system_response(db, world.round_id, "S1")
    assert (found["department_code"], found["audience"]) == ("K1", "system")
    assert stored_rows(db, world, "S1")["SPW-01"]["score"] == 4
    assert response_store.find_system_response(db, world.round_id, "S2") is None


def test_a_block_change_bumps_the_forms_one_version(db, world):
    response = systems_world.department_response(db, world, "K1")
    result = save(db, world, response, {"S2": ({"SCT-02": "none"}, {})})
    assert result.version == response["version"] + 1
    assert response_service.get_response(db, response["id"])["version"] == result.version


def test_an_idle_save_keeps_the_version(db, world):
    response = systems_world.department_response(db, world, "K1")
    first = save(db, world, response, {"S2": ({"SCT-02": "none"}, {})})
    again = self_check.save_form(db, response["id"], first.version, {}, {},
                                 {"S2": ({"SCT-02": "none"}, {})}, None, world.questionnaire)
    assert again.version == first.version and again.changed == ()


def test_a_stale_version_is_a_conflict_carrying_the_stored_blocks(db, world):
    response = systems_world.department_response(db, world, "K1")
    save(db, world, response, {"S1": ({"SPW-00": "no"}, {})})
    with pytest.raises(Conflict) as caught:
        save(db, world, response, {"S1": ({"SPW-00": "yes"}, {})}, version=response["version"])
    assert caught.value.current.systems["S1"][0] == {"SPW-00": "no"}
    assert stored_rows(db, world, "S1")["SPW-00"]["value"] == "no"


def test_a_system_question_reads_its_own_systems_earlier_answer(db, world):
    response = systems_world.department_response(db, world, "K1")
    result = save(db, world, response, {"S1": ({"SPW-00": "no", "SPW-01": "done"}, {})})
    assert stored_rows(db, world, "S1")["SPW-01"]["score"] is None  # not relevant
    save(db, world, response, {"S1": ({"SPW-00": "yes"}, {})}, version=result.version)
    assert stored_rows(db, world, "S1")["SPW-01"]["score"] == 4


def test_a_department_answer_rescores_every_block(db, world):
    response = systems_world.department_response(db, world, "K1")
    result = save(db, world, response, {"S1": ({"SCT-01": "done"}, {}),
                                        "S2": ({"SCT-01": "partial"}, {})},
                  answers={"DEP-00": "no"})
    assert stored_rows(db, world, "S1")["SCT-01"]["score"] is None
    save(db, world, response, {}, answers={"DEP-00": "yes"}, version=result.version)
    assert stored_rows(db, world, "S1")["SCT-01"]["score"] == 4
    assert stored_rows(db, world, "S2")["SCT-01"]["score"] == 2


def test_another_departments_system_cannot_be_written(db, world):
    response = systems_world.department_response(db, world, "K1")
    result = save(db, world, response, {"S3": ({"SPW-00": "yes"}, {})})
    assert result.changed == ()
    assert response_store.find_system_response(db, world.round_id, "S3") is None


def test_submitting_needs_every_block_complete(db, world):
    response = systems_world.department_response(db, world, "K1")
    systems = {"S1": COMPLETE_SYSTEM, "S2": ({"SPW-00": "yes", "SPW-01": "done"}, {})}
    with pytest.raises(Invalid) as caught:
        self_check.submit_form(db, response["id"], response["version"], COMPLETE_DEPARTMENT,
                               {}, systems, None, world.questionnaire)
    assert set(caught.value.errors) == {"sys:S2:e_SPW-01", "sys:S2:ed_SPW-01",
                                        "sys:S4:q_SPW-00"}
    assert response_service.get_response(db, response["id"])["status"] == "draft"
    assert response_store.find_system_response(db, world.round_id, "S1") is None


def test_department_and_block_problems_come_together(db, world):
    response = systems_world.department_response(db, world, "K1")
    with pytest.raises(Invalid) as caught:
        self_check.submit_form(db, response["id"], response["version"], {}, {}, {}, None,
                               world.questionnaire)
    assert {"q_DEP-00", "sys:S1:q_SPW-00"} <= set(caught.value.errors)


def test_the_blocks_are_submitted_and_reopened_with_the_department(db, world, make_user):
    admin = make_user("admin1", "admin")
    response = systems_world.department_response(db, world, "K1")
    systems = {code: COMPLETE_SYSTEM for code in ("S1", "S2", "S4")}
    self_check.submit_form(db, response["id"], response["version"], COMPLETE_DEPARTMENT, {},
                           systems, None, world.questionnaire)
    statuses = {row["system_code"]: row["status"] for row in
                response_store.find_system_responses(db, world.round_id, "K1")}
    assert statuses == {"S1": "submitted", "S2": "submitted", "S4": "submitted"}
    response_service.reopen(db, response["id"], admin["id"], "修正のため")
    assert {row["status"] for row in
            response_store.find_system_responses(db, world.round_id, "K1")} == {"reopened"}


def test_a_block_is_scored_over_its_own_answers(db, world):
    answers, _notes = COMPLETE_SYSTEM
    scores = scoring.score_response(world.questionnaire, answers, "system",
                                    {"DEP-00": "yes"})
    # SPW-01 2/4 (w3), SCT-01 4/4 (w2), SCT-02 4/4 (w1): (1.5 + 2 + 1) / 6
    assert scores.overall == pytest.approx(100 * 4.5 / 6)
    assert scores.sections["DEP"] is None


def test_a_system_that_changed_hands_brings_its_draft_along(db, world):
    k1 = systems_world.department_response(db, world, "K1")
    save(db, world, k1, {"S2": ({"SCT-02": "partial"}, {})})
    system_service.edit_system(db, "S2", {"name": "文書管理システム", "owner_code": "K3"},
                               1, None)
    assert [block.code for block in blocks(db, world, "K3")] == ["S2"]
    k3 = systems_world.department_response(db, world, "K3")
    save(db, world, k3, {"S2": ({"SCT-02": "done"}, {})})
    found = response_store.find_system_response(db, world.round_id, "S2")
    assert found["department_code"] == "K3"
    assert stored_rows(db, world, "S2")["SCT-02"]["value"] == "done"
    assert "S2" not in [block.code for block in blocks(db, world, "K1")]


def test_everything_rolls_back_when_a_block_cannot_be_stored(db, world):
    response = systems_world.department_response(db, world, "K1")
    with pytest.raises(Invalid):
        save(db, world, response, {"S1": ({"SPW-00": "maybe"}, {})},
             answers={"DEP-01": "done"})
    assert response_service.load_answers(db, response["id"], world.questionnaire)[0] == {}
    assert store.rows(db, "SELECT * FROM responses WHERE audience = 'system'") == []


def test_the_home_counts_each_blocks_required_questions(db, world):
    response = systems_world.department_response(db, world, "K1")
    save(db, world, response, {"S1": COMPLETE_SYSTEM}, answers=COMPLETE_DEPARTMENT)
    round_row = round_reads.require_round(db, world.round_id)
    task = home.round_task(db, round_row, department_store.get_department(db, "K1"),
                           date(2026, 11, 1))
    progress = {item.code: (item.required_answered, item.required) for item in task.systems}
    assert progress["S1"][0] == progress["S1"][1] > 0
    assert progress["S2"] == (0, progress["S2"][1]) and progress["S2"][1] > 0
    assert set(progress) == {"S1", "S2", "S4"}
    assert task.required_left == progress["S2"][1] + progress["S4"][1]
