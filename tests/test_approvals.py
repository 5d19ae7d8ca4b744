"""services.approvals (DESIGN.md §10): each transition, each refusal, the answer set's
hash, and the audit entries."""

from __future__ import annotations

import hashlib
import json

import pytest

from surveyapp.readmodels import approval_states
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound
from surveyapp.services import approvals, rounds
from surveyapp.services import responses as responses_service
from surveyapp.store import audit as audit_store
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store
from tests.test_responses import publish_form


def approver(db, make_user, login, code):
    user = make_user(login, "department", code)
    user_store.set_contact(db, user["id"], f"{login}@example.lg.jp", True)
    return user_store.get_user(db, user["id"])


@pytest.fixture
def flow(db, make_user):
    """Round open with approval; 所属 U1: clerk (submits), chief and deputy (approvers);
    U2's chief; an admin. The clerk has submitted."""
    setup = publish_form(db)
    setup.clerk = make_user("clerk", "department", "U1")
    setup.chief = approver(db, make_user, "chief", "U1")
    setup.deputy = approver(db, make_user, "deputy", "U1")
    setup.other_chief = approver(db, make_user, "chief2", "U2")
    setup.admin = make_user("admin1", "admin")
    response = responses_service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.clerk["id"])
    setup.response_id = response["id"]
    responses_service.submit(db, setup.response_id, 1, {"SYS-00": "no"}, {},
                             setup.clerk["id"])
    return setup


def version(db, response_id) -> int:
    return response_store.get_response(db, response_id)["version"]


def approve(db, flow, user=None, **kwargs):
    user = user or flow.chief
    return approvals.approve(db, flow.response_id, user["id"],
                             version(db, flow.response_id), **kwargs)


def return_it(db, flow, comment="根拠の記載が不足しています", user=None):
    user = user or flow.chief
    return approvals.return_for_changes(db, flow.response_id, user["id"],
                                        version(db, flow.response_id), comment)


def status(db, flow) -> str:
    return approval_states.round_statuses(db, flow.round_id)["U1"]["status"]


# --- transitions ---------------------------------------------------------------------------

def test_new_rounds_require_approval(db, flow):
    assert approval_states.approval_view(db, response_store.get_response(
        db, flow.response_id)).required


def test_a_submission_waits_for_approval(db, flow):
    assert status(db, flow) == "submitted"


def test_an_approver_approves_a_submission(db, flow):
    decision = approve(db, flow, comment="確認しました")
    assert (decision.decision, decision.decided_by, decision.comment) == (
        "approved", flow.chief["id"], "確認しました")
    assert status(db, flow) == "approved"
    assert approval_states.round_statuses(db, flow.round_id)["U1"]["approved_at"] == \
        decision.decided_at


def test_approving_leaves_the_response_locked_and_submitted(db, flow):
    approve(db, flow)
    stored = response_store.get_response(db, flow.response_id)
    assert stored["status"] == "submitted"


def test_a_deputy_may_approve_too(db, flow):
    assert approve(db, flow, user=flow.deputy).decided_by == flow.deputy["id"]


def test_a_return_unlocks_the_response_with_the_comment(db, flow):
    decision = return_it(db, flow)
    assert decision.decision == "returned" and decision.comment == "根拠の記載が不足しています"
    assert status(db, flow) == "returned"
    assert response_store.get_response(db, flow.response_id)["status"] in \
        responses_service.EDITABLE


def test_a_returned_response_can_be_saved_again(db, flow):
    return_it(db, flow)
    saved = responses_service.save_draft(db, flow.response_id, version(db, flow.response_id),
                                         {"SYS-00": "yes"}, {}, flow.clerk["id"])
    assert saved.changed == ("SYS-00",)


def test_each_decision_keeps_the_submitter_and_submission_time(db, flow):
    submitted = response_store.get_response(db, flow.response_id)
    decision = approve(db, flow)
    assert decision.submitted_by == flow.clerk["id"]
    assert decision.submitted_at == submitted["submitted_at"]
    assert decision.response_version == submitted["version"]


def test_decisions_are_append_only(db, flow):
    approve(db, flow)
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE approval_decisions SET decision = 'returned'")


# --- refusals -------------------------------------------------------------------------------

def test_an_approver_of_another_department_gets_not_found(db, flow):
    with pytest.raises(NotFound):
        approve(db, flow, user=flow.other_chief)


def test_a_department_user_without_the_flag_is_refused(db, flow, make_user):
    colleague = make_user("colleague", "department", "U1")
    with pytest.raises(Denied, match="承認者だけ"):
        approve(db, flow, user=colleague)


def test_an_admin_is_not_an_approver(db, flow):
    with pytest.raises(Denied, match="承認者だけ"):
        approve(db, flow, user=flow.admin)


def own_submission(db, flow) -> int:
    """U2's response, submitted by U2's only approver."""
    response = responses_service.get_or_create_department_response(
        db, flow.round_id, "U2", flow.other_chief["id"])
    responses_service.submit(db, response["id"], 1, {"SYS-00": "no"}, {},
                             flow.other_chief["id"])
    return response["id"]


def test_an_approver_may_not_decide_on_their_own_submission(db, flow):
    response_id = own_submission(db, flow)
    with pytest.raises(Denied, match="ご自身が提出"):
        approvals.approve(db, response_id, flow.other_chief["id"], version(db, response_id))
    with pytest.raises(Denied, match="ご自身が提出"):
        approvals.return_for_changes(db, response_id, flow.other_chief["id"],
                                     version(db, response_id), "直します")


def test_self_approval_is_allowed_when_the_setting_says_so(db, flow):
    response_id = own_submission(db, flow)
    decision = approvals.approve(db, response_id, flow.other_chief["id"],
                                 version(db, response_id), allow_self=True)
    assert decision.decided_by == flow.other_chief["id"]


def test_an_approved_submission_cannot_be_decided_again(db, flow):
    approve(db, flow)
    with pytest.raises(Locked, match="すでに承認"):
        approve(db, flow, user=flow.deputy)
    with pytest.raises(Locked, match="すでに承認"):
        return_it(db, flow, user=flow.deputy)


def test_a_returned_submission_cannot_be_decided_again(db, flow):
    return_it(db, flow)
    with pytest.raises(Locked, match="すでに差し戻"):
        approve(db, flow, user=flow.deputy)


def test_a_draft_cannot_be_approved(db, flow, make_user):
    draft = responses_service.get_or_create_department_response(
        db, flow.round_id, "U2", flow.other_chief["id"])
    with pytest.raises(Locked, match="提出されていない"):
        approvals.approve(db, draft["id"], flow.other_chief["id"], draft["version"])


def test_a_stale_version_is_a_conflict(db, flow):
    with pytest.raises(Conflict):
        approvals.approve(db, flow.response_id, flow.chief["id"],
                          version(db, flow.response_id) - 1)


def test_a_return_needs_a_comment(db, flow):
    with pytest.raises(Invalid) as raised:
        return_it(db, flow, comment="  ")
    assert raised.value.errors == {"comment": "required"}
    assert status(db, flow) == "submitted"


def test_a_too_long_comment_is_refused(db, flow):
    with pytest.raises(Invalid):
        approve(db, flow, comment="あ" * (approvals.MAX_COMMENT_LENGTH + 1))


def test_a_closed_round_takes_no_return_but_still_an_approval(db, flow):
    rounds.close_round(db, flow.round_id)
    with pytest.raises(Locked, match="締め切った"):
        return_it(db, flow)
    assert approve(db, flow).decision == "approved"


def test_a_round_without_approval_takes_no_decision(db, flow):
    approvals.set_approval_required(db, flow.round_id, False, flow.admin["id"])
    with pytest.raises(Locked, match="必要ありません"):
        approve(db, flow)
    assert status(db, flow) == "submitted"


def test_a_response_that_does_not_exist_is_not_found(db, flow):
    with pytest.raises(NotFound):
        approvals.approve(db, 999_999, flow.chief["id"], 1)


# --- the answer set's hash ------------------------------------------------------------------

def test_the_hash_is_the_sha256_of_the_documented_canonical_json(db, flow):
    decision = approve(db, flow)
    document = {"answers": [["SYS-00", "no", None]], "department_code": "U1",
                "questionnaire_id": "form-test", "round_id": flow.round_id, "version": "1"}
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert decision.answers_sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_view_says_the_answers_still_match_the_approval(db, flow):
    decision = approve(db, flow)
    view = approval_states.approval_view(db, response_store.get_response(db, flow.response_id))
    assert view.current == decision and view.matches(decision)


def test_the_view_says_when_the_answers_changed_after_the_decision(db, flow):
    decision = return_it(db, flow)
    responses_service.save_draft(db, flow.response_id, version(db, flow.response_id),
                                 {"NOTE-01": "追記しました"}, {}, flow.clerk["id"])
    view = approval_states.approval_view(db, response_store.get_response(db, flow.response_id))
    assert not view.matches(decision)
    assert view.decisions == (decision,)


def test_the_hash_ignores_cleared_answers_and_scores(db, flow):
    response = response_store.get_response(db, flow.response_id)
    rows = [{"question_id": "A", "value": "x", "evidence": None, "score": 1},
            {"question_id": "B", "value": None, "evidence": None, "score": None}]
    assert approval_states.canonical_answer_set(response, rows) == \
        approval_states.canonical_answer_set(response, rows[:1])


# --- audit and listing ------------------------------------------------------------------------

def test_decisions_are_audit_logged_with_the_hash(db, flow):
    decision = approve(db, flow, comment="了")
    [entry] = [e for e in audit_store.list_entries(db, "response.approve")]
    detail = json.loads(entry["detail"])
    assert detail["answers_sha256"] == decision.answers_sha256
    assert detail["department_code"] == "U1" and detail["comment"] == "了"


def test_the_waiting_list_shows_an_approver_what_waits(db, flow):
    waiting = approval_states.waiting_for(db, flow.chief)
    assert [row["id"] for row in waiting] == [flow.response_id]
    assert waiting[0]["may_decide"]
    assert approval_states.waiting_for(db, flow.other_chief) == []
    assert approval_states.waiting_for(db, flow.clerk) == []


def test_the_waiting_list_empties_once_decided(db, flow):
    approve(db, flow)
    assert approval_states.waiting_for(db, flow.deputy) == []


@pytest.mark.parametrize("stored, decision, expected", [
    (None, None, "not_started"), ("draft", None, "draft"), ("reopened", None, "draft"),
    ("reopened", "returned", "returned"), ("submitted", None, "submitted"),
    ("submitted", "approved", "approved")])
def test_status_of(stored, decision, expected):
    assert approval_states.status_of(stored, decision) == expected


def test_setting_approval_required_is_audit_logged(db, flow):
    approvals.set_approval_required(db, flow.round_id, False, flow.admin["id"])
    [entry] = audit_store.list_entries(db, "rounds.approval_required")
    assert json.loads(entry["detail"]) == {"old": True, "new": False}




# --- a new submission and an admin's reopen ------------------------------------------------

def test_a_resubmission_after_a_return_waits_for_approval_again(db, flow):
    return_it(db, flow)
    responses_service.submit(db, flow.response_id, version(db, flow.response_id),
                             {"NOTE-01": "直しました"}, {}, flow.clerk["id"])
    assert status(db, flow) == "submitted"
    assert approve(db, flow).decision == "approved"


def test_an_approver_may_not_approve_a_resubmission_of_their_own(db, flow):
    return_it(db, flow)
    responses_service.submit(db, flow.response_id, version(db, flow.response_id), {}, {},
                             flow.chief["id"])
    with pytest.raises(Denied, match="ご自身が提出"):
        approve(db, flow)
    assert approve(db, flow, user=flow.deputy).decision == "approved"


def test_an_admins_reopen_clears_the_approval(db, flow):
    decision = approve(db, flow)
    responses_service.reopen(db, flow.response_id, flow.admin["id"], "監査の指摘で修正")
    assert status(db, flow) == "draft"
    [cleared] = audit_store.list_entries(db, "response.approval_cleared")
    detail = json.loads(cleared["detail"])
    assert detail["answers_sha256"] == decision.answers_sha256
    assert detail["reason"] == "監査の指摘で修正" and detail["approved_by"] == "chief"


def test_a_reopened_response_cannot_be_approved(db, flow):
    approve(db, flow)
    responses_service.reopen(db, flow.response_id, flow.admin["id"], "修正のため")
    with pytest.raises(Locked, match="提出されていない"):
        approve(db, flow, user=flow.deputy)


def test_after_a_reopen_the_new_submission_must_be_approved_again(db, flow):
    approve(db, flow)
    responses_service.reopen(db, flow.response_id, flow.admin["id"], "修正のため")
    responses_service.submit(db, flow.response_id, version(db, flow.response_id), {}, {},
                             flow.clerk["id"])
    assert status(db, flow) == "submitted"
    view = approval_states.approval_view(db, response_store.get_response(db, flow.response_id))
    assert view.current is None and len(view.decisions) == 1


def test_a_returned_response_is_not_reopened_by_an_admin(db, flow):
    return_it(db, flow)
    with pytest.raises(Locked):
        responses_service.reopen(db, flow.response_id, flow.admin["id"], "念のため")
