"""所属長 approval of a self-check with a block per information system (DESIGN.md §10,
§12): the approved hash covers the system answers with their codes, a return reopens
the blocks with the 所属's answers, and the approval sheet lists each system's answers."""

from __future__ import annotations

import hashlib
import json

import pytest

from surveyapp import charts, scoring
from surveyapp.readmodels import approval_sheet, approval_states
from surveyapp.refusals import Locked
from surveyapp.services import approvals, self_check
from surveyapp.services import responses as response_service
from surveyapp.store import responses as response_store
from tests import systems_world
from tests.test_approvals import approver
from tests.test_charts import pdf_text
from tests.test_self_check import COMPLETE_DEPARTMENT, COMPLETE_SYSTEM

CODES = ("S1", "S2", "S4")  # K1's blocks (systems_world.py)


@pytest.fixture
def submitted(db, make_user):
    """K1's self-check submitted with its three blocks; `chief` approves for K1."""
    world = systems_world.build(db)
    clerk = make_user("clerk", "department", "K1")
    chief = approver(db, make_user, "chief", "K1")
    response = systems_world.department_response(db, world, "K1")
    self_check.submit_form(db, response["id"], response["version"], COMPLETE_DEPARTMENT, {},
                           dict.fromkeys(CODES, COMPLETE_SYSTEM), clerk["id"],
                           world.questionnaire)
    return world, response["id"], clerk, chief


def current(db, response_id: int) -> dict:
    return response_store.get_response(db, response_id)


def decide(db, submitted, decision: str):
    _world, response_id, _clerk, chief = submitted
    return approvals.decide(db, response_id, chief["id"], current(db, response_id)["version"],
                            decision, "根拠を追記してください" if decision == "returned" else "")


def sha256_of(document: dict) -> str:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_approved_hash_covers_each_systems_answers_with_its_code(db, submitted):
    world, _response_id, _clerk, _chief = submitted
    decision = decide(db, submitted, "approved")
    answers, notes = COMPLETE_SYSTEM
    per_system = sorted([code, question_id, value, notes[question_id].note
                         if question_id in notes else None]
                        for code in CODES for question_id, value in answers.items())
    document = {"answers": [["DEP-00", "yes", None], ["DEP-01", "done", None]],
                "department_code": "K1", "questionnaire_id": "sys-check",
                "round_id": world.round_id, "version": "2026.1", "systems": per_system}
    assert decision.answers_sha256 == sha256_of(document)


def test_a_round_without_system_answers_hashes_without_a_systems_key(db, submitted):
    _world, response_id, _clerk, _chief = submitted
    response = current(db, response_id)
    rows = response_store.list_answers(db, response_id)
    assert "systems" not in json.loads(approval_states.canonical_answer_set(response, rows))
    assert approval_states.canonical_answer_set(response, rows, []) == \
        approval_states.canonical_answer_set(response, rows)


def test_a_system_answer_changed_after_the_decision_no_longer_matches(db, submitted):
    world, response_id, clerk, _chief = submitted
    decision = decide(db, submitted, "returned")
    self_check.save_form(db, response_id, current(db, response_id)["version"], {}, {},
                         {"S2": ({"SCT-02": "none"}, {})}, clerk["id"], world.questionnaire)
    view = approval_states.approval_view(db, current(db, response_id))
    assert not view.matches(decision)


def test_the_same_answers_under_another_system_hash_differently(db, submitted):
    _world, response_id, _clerk, _chief = submitted
    response = current(db, response_id)
    row = {"question_id": "SPW-00", "value": "yes", "evidence": None}
    assert approval_states.canonical_answer_set(response, [], [{**row, "system_code": "S1"}]) \
        != approval_states.canonical_answer_set(response, [], [{**row, "system_code": "S2"}])


def test_a_return_reopens_the_system_blocks_with_the_department(db, submitted):
    world, response_id, _clerk, _chief = submitted
    decide(db, submitted, "returned")
    assert {row["status"] for row in
            response_store.find_system_responses(db, world.round_id, "K1")} == {"reopened"}
    blocks = self_check.blocks_of(db, current(db, response_id), world.questionnaire)
    assert [block.editable for block in blocks] == [True, True, True]


def test_after_a_return_the_department_edits_a_block_and_submits_again(db, submitted):
    world, response_id, clerk, _chief = submitted
    decide(db, submitted, "returned")
    changed = ({**COMPLETE_SYSTEM[0], "SCT-02": "partial"}, COMPLETE_SYSTEM[1])
    result = self_check.submit_form(db, response_id, current(db, response_id)["version"],
                                    COMPLETE_DEPARTMENT, {}, {**dict.fromkeys(CODES,
                                    COMPLETE_SYSTEM), "S2": changed}, clerk["id"],
                                    world.questionnaire)
    assert result.status == "submitted"
    stored = response_store.find_system_response(db, world.round_id, "S2")
    rows = {row["question_id"]: row["value"]
            for row in response_store.list_answers(db, stored["id"])}
    assert (stored["status"], rows["SCT-02"]) == ("submitted", "partial")
    assert approval_states.approval_view(db, current(db, response_id)).status == "submitted"


def test_an_approval_keeps_the_system_blocks_locked(db, submitted):
    world, response_id, clerk, _chief = submitted
    decide(db, submitted, "approved")
    assert {row["status"] for row in
            response_store.find_system_responses(db, world.round_id, "K1")} == {"submitted"}
    with pytest.raises(Locked):
        self_check.save_form(db, response_id, current(db, response_id)["version"], {}, {},
                             {"S2": ({"SCT-02": "none"}, {})}, clerk["id"], world.questionnaire)


def sheet_text(db, world, response_id: int) -> str:
    """The sheet as the web view builds it: the answers and the blocks loaded."""
    response = current(db, response_id)
    answers, evidence = response_service.load_answers(db, response_id, world.questionnaire)
    systems = [approval_sheet.SystemAnswers(block.code, block.system["name"], block.answers,
                                            block.evidence)
               for block in self_check.blocks_of(db, response, world.questionnaire)]
    pdf = approval_sheet.sheet_pdf(db, response, world.questionnaire, answers, evidence,
                                   systems)
    return pdf_text(pdf).replace("\n", "")


def test_the_approval_sheet_lists_each_systems_answers_under_its_name(db, submitted):
    world, response_id, _clerk, _chief = submitted
    decide(db, submitted, "approved")
    text = sheet_text(db, world, response_id)
    headings = ["情報システム S1 電子申請システム", "情報システム S2 文書管理システム",
                "情報システム S4 旧文書システム"]
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert text.count("パスワード設定は基準に合っていますか。") == 3
    assert text.count("2026-09-01 確認") == 3  # each block's evidence
    assert "AnswerEvidence" not in text  # as text, not the record's repr
    assert approval_states.answer_set_sha256(db, current(db, response_id)) in text


def test_the_approval_sheets_score_counts_the_systems_as_the_response_page_does(
        db, submitted):
    world, response_id, _clerk, _chief = submitted
    answers, _evidence = response_service.load_answers(db, response_id, world.questionnaire)
    blocks = self_check.blocks_of(db, current(db, response_id), world.questionnaire)
    data = approval_sheet.sheet_data(
        db, current(db, response_id), world.questionnaire, answers, {},
        [approval_sheet.SystemAnswers(b.code, b.system["name"], b.answers, b.evidence)
         for b in blocks])
    expected = scoring.self_check_scores(world.questionnaire, answers,
                                         [block.answers for block in blocks]).overall
    without = scoring.score_response(world.questionnaire, answers).overall
    assert expected != without  # the systems move the score in this world
    assert dict(data["facts"])["総合得点"].startswith(charts.score_text(expected))
