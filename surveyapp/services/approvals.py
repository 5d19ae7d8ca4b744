"""所属長 approval of a submitted self-check (DESIGN.md §10).

In a round with `approval_required`, a submitted department response waits for an
approver of its own 所属 (a department user with the approver flag: 所属長 or 代理):

    draft -> submitted -> approved
    submitted -> returned (with a comment) -> draft (edited, then submitted again)

A return unlocks the response as an admin's reopen does; submitting again or an
admin's reopen clears the decision, so the new submission must be approved again.
Each decision is kept for good with who, when, the comment and the sha256 of the
canonical answer set at that moment (`answer_set_sha256`), so anyone can later check
that the answers are still the ones approved. Every decision is one `BEGIN IMMEDIATE`
transaction with its audit entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_
from surveyapp.refusals import Conflict, Invalid, Locked, NotFound, Refusal
from surveyapp.services import audit
from surveyapp.store import approvals as approval_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store
from surveyapp.store import users as user_store

# The status of a 所属's self-check in a round, as the API and the progress board name it.
STATUSES = ("not_started", "draft", "submitted", "returned", "approved")
DECISIONS = ("approved", "returned")
MAX_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class Decision:
    id: int
    response_id: int
    decision: str            # approved | returned
    comment: str
    decided_by: int
    decided_by_login: str
    decided_by_name: str
    decided_at: str
    answers_sha256: str
    response_version: int
    submitted_by: int | None
    submitted_by_login: str | None
    submitted_by_name: str | None
    submitted_at: str | None

    @classmethod
    def from_row(cls, row: Mapping) -> Decision:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ApprovalView:
    """What the response page shows: whether the round asks for approval, the
    decision on the current submission (None when there is none), every decision, and
    whether the stored answers still hash to what each decision recorded."""

    required: bool
    status: str
    current: Decision | None
    decisions: tuple[Decision, ...]
    answers_sha256: str

    def matches(self, decision: Decision) -> bool:
        return decision.answers_sha256 == self.answers_sha256


# --- status ----------------------------------------------------------------------------

def status_of(response_status: str | None, decision: str | None) -> str:
    """One of STATUSES from the response's stored status (None: no response yet) and
    the decision on its current submission."""
    if response_status is None:
        return "not_started"
    if response_status == "submitted":
        return "approved" if decision == "approved" else "submitted"
    return "returned" if decision == "returned" else "draft"


def round_statuses(db: Database, round_id: int) -> dict[str, dict]:
    """Per 所属 code: {status, approved_at, approved_by_login, submitted_at, response_id}
    for every 所属 that has a department response in the round."""
    result = {}
    for row in approval_store.response_states(db, round_id):
        status = status_of(row["status"], row["decision"])
        approved = status == "approved"
        result[row["department_code"]] = {
            "status": status, "response_id": row["id"], "submitted_at": row["submitted_at"],
            "approved_at": row["decided_at"] if approved else None,
            "approved_by_login": row["decided_by_login"] if approved else None}
    return result


# --- the answer set's hash ---------------------------------------------------------------

def canonical_answer_set(response: Mapping, answer_rows: list[Mapping]) -> str:
    """The answer set as canonical JSON: round, 所属, questionnaire version and each
    answered question's [id, stored value, evidence note], sorted by id (UTF-8, sorted
    keys, no spaces). docs/admin-guide.md shows how to compute it by hand."""
    answers = sorted([row["question_id"], row["value"], row["evidence"]]
                     for row in answer_rows
                     if row["value"] is not None or row["evidence"] is not None)
    document = {"round_id": response["round_id"],
                "department_code": response["department_code"],
                "questionnaire_id": response["questionnaire_id"],
                "version": response["questionnaire_version"], "answers": answers}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def answer_set_sha256(db: Database, response: Mapping) -> str:
    """sha256 (hex) of the response's canonical answer set as stored now."""
    text = canonical_answer_set(response, response_store.list_answers(db, response["id"]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- reading ---------------------------------------------------------------------------------

def approval_view(db: Database, response: Mapping) -> ApprovalView:
    """`response` as `store.responses.get_response` returns it."""
    decisions = tuple(Decision.from_row(row)
                      for row in approval_store.decisions_of(db, response["id"]))
    current = next((d for d in decisions if d.id == response["approval_id"]), None)
    round_row = round_store.get_round(db, response["round_id"])
    return ApprovalView(
        required=bool(round_row and round_row["approval_required"]),
        status=status_of(response["status"], current.decision if current else None),
        current=current, decisions=decisions,
        answers_sha256=answer_set_sha256(db, response))


def waiting_for(db: Database, user: Mapping, allow_self: bool = False) -> list[dict]:
    """Submissions of the user's 所属 that wait for an approver's decision (empty for
    anyone who is not an approver); each row says whether this user may decide it."""
    if user.get("role") != "department" or not user.get("approver"):
        return []
    found = approval_store.waiting_for_department(db, user["department_code"])
    return [{**row, "own": row["submitted_by"] == user["id"],
             "may_decide": allow_self or row["submitted_by"] != user["id"]} for row in found]


def may_decide(user: Mapping, response: Mapping, allow_self: bool = False) -> bool:
    """Whether `user` is an approver of the response's 所属 who may decide on it now
    (the state of the response is checked by `decide`)."""
    return (user.get("role") == "department" and bool(user.get("approver"))
            and user.get("department_code") == response["department_code"]
            and (allow_self or response.get("submitted_by") != user.get("id")))


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
           decision: str, comment: str, *, allow_self: bool = False) -> Decision:
    """Record `decision` (approved | returned). Refusals: NotFound (no such response,
    or one of another 所属), Refusal (not an approver; own submission without
    ALLOW_SELF_APPROVAL), Locked (approval not required, not submitted, already
    decided, round closed for a return), Conflict (changed since `expected_version`),
    Invalid (comment missing for a return, or too long)."""
    comment = checked_comment(comment, required=decision == "returned")
    with store.transaction(db):
        response = _response(db, response_id)
        _check_approver(db, response, user_id)
        _check_decidable(db, response, expected_version, decision)
        if response["submitted_by"] == user_id and not allow_self:
            raise Refusal(N_("ご自身が提出した回答は承認も差戻しもできません。"
                             "別の承認者（所属長または代理）に依頼してください。"))
        decision_id = _record(db, response, user_id, decision, comment)
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
        raise Refusal(N_("承認と差戻しは、その所属の承認者だけが行えます。"))
    if user["role"] == "department" and user["department_code"] != response["department_code"]:
        raise NotFound(N_("回答が見つかりません。"))  # another 所属's: as if it did not exist
    if user["role"] != "department" or not user["approver"]:
        raise Refusal(N_("承認と差戻しは、その所属の承認者だけが行えます。"))


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
            comment: str) -> int:
    sha256 = answer_set_sha256(db, response)
    decision_id = approval_store.insert_decision(db, {
        "response_id": response["id"], "decision": decision, "comment": comment,
        "decided_by": user_id, "decided_at": store.now(), "answers_sha256": sha256,
        "response_version": response["version"], "submitted_by": response["submitted_by"],
        "submitted_at": response["submitted_at"]})
    if decision == "approved":
        approval_store.set_current_decision(db, response["id"], decision_id)
    else:
        approval_store.return_to_department(db, response["id"], decision_id)
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
        found = round_store.get_round(db, round_id)
        if found is None:
            raise NotFound(N_("調査回 %(id)d が見つかりません"), id=round_id)
        approval_store.set_approval_required(db, round_id, required)
        audit.record(db, user_id, "rounds.approval_required", "round", round_id,
                     old=bool(found["approval_required"]), new=required)
