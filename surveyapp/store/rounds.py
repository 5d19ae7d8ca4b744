"""Survey rounds (one per fiscal year and questionnaire) and their progress figures."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import now, one, rows


def insert_round(db: Database, fiscal_year: int, questionnaire_id: str, version: str,
                 opens_on: str | None, closes_on: str | None,
                 approval_required: bool = True) -> int:
    cursor = db.execute(
        "INSERT INTO rounds (fiscal_year, questionnaire_id, version, status, opens_on, "
        "closes_on, created_at, approval_required) VALUES (?, ?, ?, 'draft', ?, ?, ?, ?)",
        (fiscal_year, questionnaire_id, version, opens_on, closes_on, now(),
         int(approval_required)),
    )
    return cursor.lastrowid


def get_round(db: Database, round_id: int) -> dict | None:
    return one(db, "SELECT * FROM rounds WHERE id = ?", (round_id,))


def find_round(db: Database, fiscal_year: int, questionnaire_id: str) -> dict | None:
    return one(db, "SELECT * FROM rounds WHERE fiscal_year = ? AND questionnaire_id = ?",
               (fiscal_year, questionnaire_id))


def list_rounds(db: Database) -> list[dict]:
    """Newest fiscal year first."""
    return rows(db, "SELECT * FROM rounds ORDER BY fiscal_year DESC, questionnaire_id, id")


def list_open_rounds(db: Database, questionnaire_id: str | None = None) -> list[dict]:
    return rows(db, "SELECT * FROM rounds WHERE status = 'open' "
                "AND (:questionnaire_id IS NULL OR questionnaire_id = :questionnaire_id) "
                "ORDER BY fiscal_year DESC, id DESC",
                {"questionnaire_id": questionnaire_id})


def set_attachments_allowed(db: Database, round_id: int, allowed: bool) -> None:
    db.execute("UPDATE rounds SET attachments_allowed = ? WHERE id = ?",
               (int(bool(allowed)), round_id))


def set_status(db: Database, round_id: int, status: str) -> None:
    db.execute("UPDATE rounds SET status = ? WHERE id = ?", (status, round_id))


def get_published_version(db: Database, questionnaire_id: str, version: str) -> dict | None:
    return one(db, "SELECT id, questionnaire_id, version, fiscal_year, title, sha256, "
               "published_at FROM questionnaire_versions "
               "WHERE questionnaire_id = ? AND version = ?", (questionnaire_id, version))


def list_published_versions(db: Database) -> list[dict]:
    return rows(db, "SELECT id, questionnaire_id, version, fiscal_year, title, sha256, "
                "published_at FROM questionnaire_versions "
                "ORDER BY questionnaire_id, fiscal_year DESC, version DESC")


def department_responses(db: Database, round_id: int) -> list[dict]:
    """Each 所属's department response in the round, with the login of its last editor."""
    return rows(db, "SELECT responses.department_code, responses.status, "
                "responses.updated_at, responses.submitted_at, users.login AS updated_by_login "
                "FROM responses LEFT JOIN users ON users.id = responses.updated_by "
                "WHERE responses.round_id = ? AND responses.audience = 'department'",
                (round_id,))


def staff_submissions(db: Database, round_id: int) -> dict[str, int]:
    """Submitted staff responses per 所属 code."""
    return {row["department_code"]: row["n"] for row in db.query(
        "SELECT department_code, count(*) AS n FROM responses WHERE round_id = ? "
        "AND audience = 'staff' AND status = 'submitted' GROUP BY department_code",
        (round_id,))}
