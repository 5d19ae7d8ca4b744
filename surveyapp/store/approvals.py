"""所属長 approval (DESIGN.md §10): decisions, the decision that applies to a
response, the department users (approvers among them) of a 所属, and a round's
approval_required flag.

`approval_decisions` is append-only; `responses.approval_id` points at the decision on
the current submission (NULL when there is none).
"""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import one, rows

DECISIONS = (
    "SELECT approval_decisions.id, approval_decisions.response_id, "
    "approval_decisions.decision, approval_decisions.comment, "
    "approval_decisions.decided_by, approval_decisions.decided_at, "
    "approval_decisions.answers_sha256, approval_decisions.response_version, "
    "approval_decisions.submitted_by, approval_decisions.submitted_at, "
    "deciders.login AS decided_by_login, deciders.display_name AS decided_by_name, "
    "submitters.login AS submitted_by_login, submitters.display_name AS submitted_by_name "
    "FROM approval_decisions "
    "JOIN users AS deciders ON deciders.id = approval_decisions.decided_by "
    "LEFT JOIN users AS submitters ON submitters.id = approval_decisions.submitted_by ")


def insert_decision(db: Database, decision: dict) -> int:
    """Keys: response_id, decision, comment, decided_by, decided_at, answers_sha256,
    response_version, submitted_by, submitted_at."""
    cursor = db.execute(
        "INSERT INTO approval_decisions (response_id, decision, comment, decided_by, "
        "decided_at, answers_sha256, response_version, submitted_by, submitted_at) VALUES "
        "(:response_id, :decision, :comment, :decided_by, :decided_at, :answers_sha256, "
        ":response_version, :submitted_by, :submitted_at)", decision)
    return cursor.lastrowid


def get_decision(db: Database, decision_id: int) -> dict | None:
    return one(db, DECISIONS + "WHERE approval_decisions.id = ?", (decision_id,))


def decisions_of(db: Database, response_id: int) -> list[dict]:
    """Every decision on a response, newest first."""
    return rows(db, DECISIONS + "WHERE approval_decisions.response_id = ? "
                "ORDER BY approval_decisions.id DESC", (response_id,))


def set_current_decision(db: Database, response_id: int, decision_id: int | None) -> None:
    db.execute("UPDATE responses SET approval_id = ? WHERE id = ?", (decision_id, response_id))


def return_to_department(db: Database, response_id: int, decision_id: int) -> None:
    """Unlock a returned response for editing (as a reopen does), keeping who saved it
    last; the version moves on so an open form notices."""
    db.execute("UPDATE responses SET status = 'reopened', version = version + 1, "
               "approval_id = ? WHERE id = ?", (decision_id, response_id))


def department_users(db: Database, department_code: str) -> list[dict]:
    """Active department users of a 所属 (approvers included)."""
    return rows(db, "SELECT id, login, display_name, email, approver FROM users "
                "WHERE role = 'department' AND department_code = ? AND active = 1 "
                "ORDER BY login", (department_code,))


def users_by_department(db: Database) -> dict[str, list[dict]]:
    """Active department users (approvers included) per 所属 code, by login."""
    grouped: dict[str, list[dict]] = {}
    for row in rows(db, "SELECT id, login, display_name, email, approver, department_code "
                    "FROM users WHERE role = 'department' AND active = 1 ORDER BY login"):
        grouped.setdefault(row["department_code"], []).append(row)
    return grouped


def set_approval_required(db: Database, round_id: int, required: bool) -> None:
    db.execute("UPDATE rounds SET approval_required = ? WHERE id = ?",
               (int(required), round_id))


RESPONSE_STATES = (
    "SELECT responses.id, responses.round_id, responses.department_code, "
    "responses.status, responses.version, responses.updated_at, responses.submitted_at, "
    "responses.submitted_by, responses.approval_id, approval_decisions.decision, "
    "approval_decisions.decided_at, approval_decisions.decided_by, "
    "deciders.login AS decided_by_login "
    "FROM responses LEFT JOIN approval_decisions "
    "ON approval_decisions.id = responses.approval_id "
    "LEFT JOIN users AS deciders ON deciders.id = approval_decisions.decided_by "
    "WHERE responses.audience = 'department' ")


def response_states(db: Database, round_id: int) -> list[dict]:
    """Each 所属's department response in the round with the decision that applies."""
    return rows(db, RESPONSE_STATES + "AND responses.round_id = ?", (round_id,))


def department_state(db: Database, round_id: int, department_code: str) -> dict | None:
    return one(db, RESPONSE_STATES + "AND responses.round_id = ? "
               "AND responses.department_code = ?", (round_id, department_code))


def response_state(db: Database, response_id: int) -> dict | None:
    return one(db, RESPONSE_STATES + "AND responses.id = ?", (response_id,))


def waiting_for_department(db: Database, department_code: str) -> list[dict]:
    """Submitted responses of a 所属 in rounds that require approval and that nobody
    has decided on yet, newest round first, with the submitter's login."""
    return rows(db, "SELECT responses.id, responses.round_id, responses.submitted_at, "
                "responses.submitted_by, users.login AS submitted_by_login, "
                "users.display_name AS submitted_by_name, rounds.fiscal_year, "
                "rounds.questionnaire_id, rounds.version AS questionnaire_version, "
                "rounds.status AS round_status, rounds.closes_on "
                "FROM responses JOIN rounds ON rounds.id = responses.round_id "
                "LEFT JOIN users ON users.id = responses.submitted_by "
                "WHERE responses.audience = 'department' AND responses.department_code = ? "
                "AND responses.status = 'submitted' AND responses.approval_id IS NULL "
                "AND rounds.approval_required = 1 "
                "ORDER BY rounds.fiscal_year DESC, responses.id DESC", (department_code,))
