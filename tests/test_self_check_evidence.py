"""Evidence in the system blocks (DESIGN.md §12, §13): each system answer keeps its note,
location and date and its own attachments, a refused file names the block's field, and
each block shows that system's answers of the previous round."""

from __future__ import annotations

import io

import pytest

from surveyapp.evidence import AnswerEvidence
from surveyapp.formats.attachments import check_attachment
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels.previous_answers import previous_response
from surveyapp.refusals import Invalid
from surveyapp.services import attachments, rounds, self_check
from surveyapp.store import responses as response_store
from tests import systems_world
from tests.test_self_check import COMPLETE_DEPARTMENT, COMPLETE_SYSTEM

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PROOF = AnswerEvidence("ID棚卸し記録", "文書管理システム 第12号", "2026-09-01")


@pytest.fixture
def world(db):
    return systems_world.build(db)


@pytest.fixture
def blobs(instance_path):
    return attachments.Blobs.of_instance(instance_path)


def department(db, world) -> dict:
    return systems_world.department_response(db, world, "K1")


def save_block(db, world, blobs, answers: dict, evidence: dict, files: dict | None = None):
    """Save block S1 with `files` {question id: [(name, bytes)]} attached."""
    response = department(db, world)
    accepted = {qid: [check_attachment(name, data, 1024 * 1024) for name, data in items]
                for qid, items in (files or {}).items()}
    with attachments.staged(db, blobs, accepted) as added:
        return self_check.save_form(db, response["id"], response["version"], {}, {},
                                    {"S1": (answers, evidence)}, None, world.questionnaire,
                                    system_files={"S1": attachments.Changes(blobs, added)})


def block_response(db, world, code: str = "S1") -> dict:
    return response_store.find_system_response(db, world.round_id, code)


def test_a_system_answer_keeps_its_note_location_and_date(db, world, blobs):
    save_block(db, world, blobs, {"SPW-00": "yes", "SPW-01": "done"}, {"SPW-01": PROOF})
    row = next(row for row in response_store.list_answers(db, block_response(db, world)["id"])
               if row["question_id"] == "SPW-01")
    assert (row["evidence"], row["evidence_location"], row["evidence_date"]) == (
        PROOF.note, PROOF.location, PROOF.date)


def test_a_block_attachment_belongs_to_its_systems_answer(db, world, blobs):
    rounds.set_attachments(db, world.round_id, True)
    save_block(db, world, blobs, {"SPW-00": "yes"}, {}, {"SPW-01": [("棚卸し.pdf", PDF)]})
    [file] = answer_reads.attachments_of(db, block_response(db, world)["id"])["SPW-01"]
    assert file.filename == "棚卸し.pdf"
    assert answer_reads.attachments_of(db, department(db, world)["id"]) == {}


def test_a_file_alone_starts_the_blocks_answers(db, world, blobs):
    rounds.set_attachments(db, world.round_id, True)
    save_block(db, world, blobs, {}, {}, {"SPW-01": [("棚卸し.pdf", PDF)]})
    assert block_response(db, world) is not None


def test_a_refused_block_file_names_the_blocks_field(db, world, blobs):
    with pytest.raises(Invalid) as caught:  # the round does not take attachments
        save_block(db, world, blobs, {"SPW-00": "yes"}, {}, {"SPW-01": [("a.pdf", PDF)]})
    assert set(caught.value.errors) == {"sys:S1:ea_SPW-01"}
    assert block_response(db, world) is None  # nothing of the save was kept


def test_a_block_shows_its_systems_answers_of_the_previous_round(db, world):
    response = department(db, world)
    self_check.submit_form(db, response["id"], response["version"], COMPLETE_DEPARTMENT, {},
                           dict.fromkeys(("S1", "S2", "S4"), COMPLETE_SYSTEM), None,
                           world.questionnaire)
    rounds.close_round(db, world.round_id, None)
    later = rounds.create_round(db, 2027, "sys-check", "2026.1", "2027-10-01",
                                "2028-02-25", None)
    earlier = previous_response(db, later.id, "K1", world.questionnaire, "system", "S2")
    assert earlier.response_id == block_response(db, world, "S2")["id"]
    assert earlier.get("SPW-01").value == COMPLETE_SYSTEM[0]["SPW-01"]
    assert previous_response(db, later.id, "K1", world.questionnaire, "system", "S3") is None


def test_the_form_names_a_blocks_evidence_fields_with_its_prefix(db, world, client, make_user,
                                                                  login_as):
    rounds.set_attachments(db, world.round_id, True)
    make_user("k1", "department", "K1")
    login_as(client, "k1")
    html = client.get(f"/rounds/{world.round_id}/self-check/K1").text
    for name in ("e_", "el_", "ed_", "ea_"):
        assert f'name="sys:S1:{name}SPW-01"' in html


def test_a_file_posted_on_a_blocks_field_is_attached_to_that_system(db, world, client,
                                                                    make_user, login_as):
    rounds.set_attachments(db, world.round_id, True)
    make_user("k1", "department", "K1")
    login_as(client, "k1")
    department(db, world)
    data = {"version": str(department(db, world)["version"]), "blocks": ["S1", "S2", "S4"],
            "sys:S1:q_SPW-00": "yes",
            "sys:S1:ea_SPW-01": (io.BytesIO(PDF), "パスワード設定記録.pdf")}
    answer = client.post(f"/rounds/{world.round_id}/self-check/K1", data=data,
                         content_type="multipart/form-data")
    assert answer.status_code in (200, 302, 303)
    [file] = answer_reads.attachments_of(db, block_response(db, world)["id"])["SPW-01"]
    assert file.filename == "パスワード設定記録.pdf"
