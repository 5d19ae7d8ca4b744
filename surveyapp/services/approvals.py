"""所属長 approval of a submitted self-check (DESIGN.md §10): deciding. What is read
back (statuses, decisions, the answer set's hash) is readmodels/approval_states.py.

In a round with `approval_required`, a submitted department response waits for an
approver of its own 所属 (a department user with the approver flag: 所属長 or 代理):

    draft -> submitted -> approved
    submitted -> returned (with a comment) -> draft (edited, then submitted again)

A return unlocks the response, its system blocks (DESIGN.md §12) included, as an
admin's reopen does; submitting again or an admin's reopen clears the decision, so the
new submission must be approved again.
Each decision is kept for good with who, when, the comment and the sha256 of the
canonical answer set at that moment (`answer_set_sha256`), so anyone can later check
that the answers are still the ones approved. Every decision is one `BEGIN IMMEDIATE`
transaction with its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.approval_states import Decision, answer_set_sha256
from surveyapp.refusals import Conflict, Denied, Invalid, Locked, NotFound
from surveyapp.services import audit
from surveyapp.store import approvals as approval_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store
from surveyapp.store import users as user_store

MAX_COMMENT_LENGTH = 2000


# --- deciding ------------------------------------------------------------------------------

def approve(db: Database, response_id: int, user_id: int, expected_version: int,
            comment: str = "", *, allow_self: bool = False) -> Decision:
    """An approver of the 所属 approves the submission they looked at (version
    `expected_version`); the answer set's hash is kept with the decision."""
    return decide(db, response_id, user_id, expected_version, "approved", comment,
                  allow_self=allow_self)


def return_for_changes(db: Database, response_id: int, user_id: int, expected_version: int,
                       comment: str, *, allow_self: bool = False) -> Decision:
    """An approver sends the submission back with a comment (required); the 所属 can
    edit it again. Only while the round is open: a closed round takes no edits."""
    return decide(db, response_id, user_id, expected_version, "returned", comment,
                  allow_self=allow_self)


def decide(db: Database, response_id: int, user_id: int, expected_version: int,
           decision: str, comment: str, *, allow_self: bool = False,
           at: str | None = None) -> Decision:
    """Record `decision` (approved | returned). Refusals: NotFound (no such response,
    or one of another 所属), Denied (not an approver; own submission without
    ALLOW_SELF_APPROVAL), Locked (approval not required, not submitted, already
    decided, round closed for a return), Conflict (changed since `expected_version`),
    Invalid (comment missing for a return, or too long). `at` (default: now) is for the
    demo, whose decisions happened during its historical round."""
    comment = checked_comment(comment, required=decision == "returned")
    with store.transaction(db):
        response = _response(db, response_id)
        _check_approver(db, response, user_id)
        _check_decidable(db, response, expected_version, decision)
        if response["submitted_by"] == user_id and not allow_self:
            raise Denied(N_("ご自身が提出した回答は承認も差戻しもできません。"
                             "別の承認者（所属長または代理）に依頼してください。"))
        decision_id = _record(db, response, user_id, decision, comment, at or store.now())
    return Decision.from_row(approval_store.get_decision(db, decision_id))


def checked_comment(comment: str | None, required: bool) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise Invalid(N_("差戻しの理由（コメント）を入力してください。"),
                      errors={"comment": "required"})
    if len(comment) > MAX_COMMENT_LENGTH:
        raise Invalid(N_("コメントは%(n)d文字以内で入力してください。"),
                      errors={"comment": "too_long"}, n=MAX_COMMENT_LENGTH)
    return comment


def _response(db: Database, response_id: int) -> dict:
    response = response_store.get_response(db, response_id)
    if response is None or response["audience"] != "department":
        raise NotFound(N_("回答が見つかりません。"))
    return response


def _check_approver(db: Database, response: Mapping, user_id: int) -> None:
    user = user_store.get_user(db, user_id)
    if user is None or not user["active"]:
        raise Denied(N_("承認と差戻しは、その所属の承認者だけが行えます。"))
    if user["role"] == "department" and user["department_code"] != response["department_code"]:
        raise NotFound(N_("回答が見つかりません。"))  # another 所属's: as if it did not exist
    if user["role"] != "department" or not user["approver"]:
        raise Denied(N_("承認と差戻しは、その所属の承認者だけが行えます。"))


def _check_decidable(db: Database, response: Mapping, expected_version: int,
                     decision: str) -> None:
    if not round_store.get_round(db, response["round_id"])["approval_required"]:
        raise Locked(N_("この調査回では所属長の承認は必要ありません。"))
    if response["approval_id"] is not None:
        previous = approval_store.get_decision(db, response["approval_id"])["decision"]
        raise Locked(N_("この提出はすでに承認されています。") if previous == "approved"
                     else N_("この提出はすでに差し戻されています。"))
    if response["status"] != "submitted":
        raise Locked(N_("提出されていない回答（作成中または再開中）は承認も差戻しもできません。"))
    if response["version"] != expected_version:
        raise Conflict(N_("確認している間にこの回答が変わりました。"
                          "内容をもう一度確認してください。"))
    if decision == "returned" and response["round_status"] != "open":
        raise Locked(N_("受付を締め切った調査回の回答は差し戻せません。"))


def _record(db: Database, response: Mapping, user_id: int, decision: str,
            comment: str, at: str) -> int:
    sha256 = answer_set_sha256(db, response)
    decision_id = approval_store.insert_decision(db, {
        "response_id": response["id"], "decision": decision, "comment": comment,
        "decided_by": user_id, "decided_at": at, "answers_sha256": sha256,
        "response_version": response["version"], "submitted_by": response["submitted_by"],
        "submitted_at": response["submitted_at"]})
    if decision == "approved":
        approval_store.set_current_decision(db, response["id"], decision_id)
    else:
        approval_store.return_to_department(db, response["id"], decision_id)
        # The system blocks were submitted with it: editable again with it, as a reopen.
        response_store.set_system_status(db, response, "reopened", user_id, at)
    action = "response.approve" if decision == "approved" else "response.return"
    audit.record(db, user_id, action, "response", response["id"],
                 department_code=response["department_code"], round_id=response["round_id"],
                 comment=comment, answers_sha256=sha256)
    return decision_id


def clear_decision(db: Database, response: Mapping, user_id: int | None,
                   reason: str) -> None:
    """Inside the caller's transaction (a reopen, a new submission): the decision on
    the previous submission no longer applies. An approval that is cleared is logged."""
    if response["approval_id"] is None:
        return
    approval_store.set_current_decision(db, response["id"], None)
    previous = approval_store.get_decision(db, response["approval_id"])
    if previous["decision"] == "approved":
        audit.record(db, user_id, "response.approval_cleared", "response", response["id"],
                     department_code=response["department_code"],
                     round_id=response["round_id"], reason=reason,
                     approved_by=previous["decided_by_login"],
                     answers_sha256=previous["answers_sha256"])


def set_approval_required(db: Database, round_id: int, required: bool,
                          user_id: int | None = None) -> None:
    """Turn approval on or off for a round (audit-logged)."""
    with store.transaction(db):
        found = round_reads.require_round(db, round_id)
        approval_store.set_approval_required(db, round_id, required)
        audit.record(db, user_id, "rounds.approval_required", "round", round_id,
                     old=found.approval_required, new=required)
