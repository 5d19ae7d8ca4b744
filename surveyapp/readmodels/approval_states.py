"""所属長 approval read back (DESIGN.md §10): the status of a 所属's self-check, the
decisions on a response, the sha256 of its canonical answer set, and what waits for an
approver. The write side (deciding) is services/approvals.py.

Statuses, as the API and the progress board name them: `not_started` (no response),
`draft` (being answered, or reopened by an admin), `submitted` (waiting for an approver
when the round requires approval), `returned` (sent back with a comment, editable until
submitted again), `approved`. The response's own `status` column keeps its meaning
(draft, submitted, reopened); `responses.approval_id` names the decision on the current
submission.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.store import approvals as approval_store
from surveyapp.store import responses as response_store
from surveyapp.store import rounds as round_store

STATUSES = ("not_started", "draft", "submitted", "returned", "approved")
# Their Japanese names in the mails and on the approval sheet (Japanese-only documents;
# the pages use their own translated labels).
STATUS_TEXT = {"not_started": "未着手", "draft": "作成中（下書き）", "returned": "差戻し",
               "submitted": "提出済み（承認待ち）", "approved": "承認済み"}
DECISIONS = ("approved", "returned")
# Neither submitted nor approved: what reminders chase and what can be overdue.
UNSUBMITTED = ("not_started", "draft", "returned")


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

def canonical_answer_set(response: Mapping, answer_rows: list[Mapping],
                         system_rows: list[Mapping] = ()) -> str:
    """The answer set as canonical JSON: round, 所属, questionnaire version and each
    answered question's [id, stored value, evidence note], sorted by id (UTF-8, sorted
    keys, no spaces). The 所属's system blocks (DESIGN.md §12) are part of its
    submission: their answers come under `systems` as [system code, id, value,
    evidence], sorted, and only when there are any, so a round without systems hashes
    as before. docs/admin-guide.md shows how to compute it by hand."""
    document = {"round_id": response["round_id"],
                "department_code": response["department_code"],
                "questionnaire_id": response["questionnaire_id"],
                "version": response["questionnaire_version"],
                "answers": sorted(_entry(row) for row in answer_rows if _answered(row))}
    systems = sorted([row["system_code"], *_entry(row)] for row in system_rows
                     if _answered(row))
    if systems:
        document["systems"] = systems
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _answered(row: Mapping) -> bool:
    return row["value"] is not None or row["evidence"] is not None


def _entry(row: Mapping) -> list:
    return [row["question_id"], row["value"], row["evidence"]]


def system_answer_rows(db: Database, response: Mapping) -> list[dict]:
    """The answer rows of the system blocks the 所属 holds in the response's round,
    each with its `system_code`."""
    held = response_store.find_system_responses(db, response["round_id"],
                                                response["department_code"])
    codes = {row["id"]: row["system_code"] for row in held}
    return [{**row, "system_code": codes[row["response_id"]]}
            for row in response_store.list_answers_of(db, list(codes))]


def answer_set_sha256(db: Database, response: Mapping) -> str:
    """sha256 (hex) of the response's canonical answer set as stored now, its system
    blocks included."""
    text = canonical_answer_set(response, response_store.list_answers(db, response["id"]),
                                system_answer_rows(db, response))
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
