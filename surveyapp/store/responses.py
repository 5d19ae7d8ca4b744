"""Responses, their answers and the append-only answer history.

Every function takes an open `Database`; callers wrap writes in `store.transaction`
so a save (answers + history + version bump) commits as one unit.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from surveyapp.store import now, one, rows

RESPONSE_WITH_ROUND = (
    "SELECT responses.*, rounds.status AS round_status, rounds.fiscal_year, "
    "rounds.questionnaire_id, rounds.version AS questionnaire_version, "
    "rounds.attachments_allowed "
    "FROM responses JOIN rounds ON rounds.id = responses.round_id ")


def get_response(db: Database, response_id: int) -> dict | None:
    """The response with its round's status, fiscal year and questionnaire version."""
    return one(db, RESPONSE_WITH_ROUND + "WHERE responses.id = ?", (response_id,))


def find_department_response(db: Database, round_id: int,
                             department_code: str) -> dict | None:
    return one(db, RESPONSE_WITH_ROUND + "WHERE responses.round_id = ? AND "
               "responses.department_code = ? AND responses.audience = 'department'",
               (round_id, department_code))


def find_system_responses(db: Database, round_id: int, department_code: str) -> list[dict]:
    """The responses of the `system` audience a 所属 holds in a round, by system code."""
    return rows(db, RESPONSE_WITH_ROUND + "WHERE responses.round_id = ? AND "
                "responses.department_code = ? AND responses.audience = 'system' "
                "ORDER BY responses.system_code", (round_id, department_code))


def find_system_response(db: Database, round_id: int, system_code: str) -> dict | None:
    """A system's one response of a round, whichever 所属 holds it."""
    return one(db, RESPONSE_WITH_ROUND + "WHERE responses.round_id = ? AND "
               "responses.system_code = ? AND responses.audience = 'system'",
               (round_id, system_code))


def reassign_response(db: Database, response_id: int, department_code: str) -> None:
    """A system changed hands during the round: its unsubmitted answers go with it."""
    db.execute("UPDATE responses SET department_code = ? WHERE id = ?",
               (department_code, response_id))


def get_round(db: Database, round_id: int) -> dict | None:
    """The few round columns a response needs (status, questionnaire version)."""
    return one(db, "SELECT id, fiscal_year, questionnaire_id, version, status, "
               "attachments_allowed FROM rounds WHERE id = ?", (round_id,))


def insert_response(db: Database, round_id: int, department_code: str, audience: str,
                    user_id: int | None, status: str = "draft",
                    at: str | None = None, system_code: str | None = None) -> int:
    at = at or now()
    submitted_at = at if status == "submitted" else None
    cursor = db.execute(
        "INSERT INTO responses (round_id, department_code, audience, status, created_at, "
        "updated_at, updated_by, submitted_at, submitted_by, system_code) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (round_id, department_code, audience, status, at, at, user_id, submitted_at,
         user_id if submitted_at else None, system_code))
    return cursor.lastrowid


# The columns of an answer row besides its keys and time (DESIGN.md §13 added where the
# proof is kept, its date, and the marks of an answer carried over from last year).
ANSWER_COLUMNS = ("value", "score", "max_score", "evidence", "evidence_location",
                  "evidence_date", "copied", "reconfirmed")


def list_answers(db: Database, response_id: int) -> list[dict]:
    return rows(db, "SELECT question_id, value, score, max_score, evidence, "
                "evidence_location, evidence_date, copied, reconfirmed, updated_at "
                "FROM answers WHERE response_id = ? ORDER BY question_id", (response_id,))


def list_answers_of(db: Database, response_ids: list[int]) -> list[dict]:
    """The answer rows of several responses at once (the columns of `list_answers`),
    each with its `response_id`."""
    return rows(db, "SELECT response_id, question_id, value, score, max_score, evidence, "
                "evidence_location, evidence_date, copied, reconfirmed, updated_at "
                "FROM answers WHERE response_id IN (SELECT value FROM json_each(:ids)) "
                "ORDER BY response_id, question_id", {"ids": json.dumps(list(response_ids))})


UPSERT_ANSWER = (
    "INSERT INTO answers (response_id, question_id, value, score, max_score, evidence, "
    "evidence_location, evidence_date, copied, reconfirmed, updated_at) "
    "VALUES (:response_id, :question_id, :value, :score, :max_score, :evidence, "
    ":evidence_location, :evidence_date, :copied, :reconfirmed, :at) "
    "ON CONFLICT (response_id, question_id) DO UPDATE SET "
    "value = excluded.value, score = excluded.score, max_score = excluded.max_score, "
    "evidence = excluded.evidence, evidence_location = excluded.evidence_location, "
    "evidence_date = excluded.evidence_date, copied = excluded.copied, "
    "reconfirmed = excluded.reconfirmed, updated_at = excluded.updated_at")
# What the history keeps of each change: old and new of each of these.
HISTORY_COLUMNS = ("value", "evidence", "evidence_location", "evidence_date", "attachments")
INSERT_HISTORY = (
    "INSERT INTO answer_history (response_id, question_id, old_value, new_value, "
    "old_evidence, new_evidence, old_evidence_location, new_evidence_location, "
    "old_evidence_date, new_evidence_date, old_attachments, new_attachments, "
    "changed_at, changed_by) VALUES (:response_id, :question_id, :old_value, :new_value, "
    ":old_evidence, :new_evidence, :old_evidence_location, :new_evidence_location, "
    ":old_evidence_date, :new_evidence_date, :old_attachments, :new_attachments, "
    ":at, :user_id)")


def upsert_answer(db: Database, response_id: int, row: dict, at: str) -> None:
    """Write one answer row (keys question_id and ANSWER_COLUMNS; a missing one is
    stored empty, or 0 for the carry-over marks)."""
    upsert_answers(db, response_id, [row], at)


def upsert_answers(db: Database, response_id: int, answer_rows: list[dict], at: str) -> None:
    """Write answer rows as `upsert_answer` does, in one executemany (a submission
    writes 20-70 of them; one statement per row was a tenth of its CPU time)."""
    db.conn.executemany(UPSERT_ANSWER, [
        {**_answer_params(row), "response_id": response_id, "at": at}
        for row in answer_rows])


def _answer_params(row: dict) -> dict:
    return {"question_id": row["question_id"],
            **{key: row.get(key) for key in ANSWER_COLUMNS},
            "copied": int(bool(row.get("copied"))),
            "reconfirmed": int(bool(row.get("reconfirmed")))}


def insert_history_rows(db: Database, response_id: int, changes: list[dict],
                        user_id: int | None, at: str) -> None:
    """Append-only history rows, in one executemany, in order; each change has
    question_id and old_/new_ of HISTORY_COLUMNS (a missing one is stored empty)."""
    db.conn.executemany(INSERT_HISTORY, [
        {"response_id": response_id, "question_id": change["question_id"],
         **{f"{side}_{column}": change.get(f"{side}_{column}")
            for column in HISTORY_COLUMNS for side in ("old", "new")},
         "at": at, "user_id": user_id}
        for change in changes])


def touch_response(db: Database, response_id: int, user_id: int | None, at: str,
                   status: str | None = None) -> None:
    """Bump the version counter, record who changed it, optionally set a new status."""
    db.execute(
        "UPDATE responses SET version = version + 1, updated_at = ?, updated_by = ?, "
        "status = COALESCE(?, status) WHERE id = ?", (at, user_id, status, response_id))


def set_system_status(db: Database, department_response: dict, status: str,
                      user_id: int | None, at: str) -> None:
    """The 所属's system blocks of the round follow its department response's status
    (submitted with it, reopened with it)."""
    db.execute(
        "UPDATE responses SET status = :status, version = version + 1, updated_at = :at, "
        "updated_by = :user_id, submitted_at = CASE WHEN :status = 'submitted' THEN :at "
        "ELSE submitted_at END, submitted_by = CASE WHEN :status = 'submitted' "
        "THEN :user_id ELSE submitted_by END WHERE round_id = :round_id "
        "AND department_code = :department_code AND audience = 'system'",
        {"status": status, "at": at, "user_id": user_id,
         "round_id": department_response["round_id"],
         "department_code": department_response["department_code"]})


def mark_submitted(db: Database, response_id: int, user_id: int | None, at: str) -> None:
    db.execute("UPDATE responses SET status = 'submitted', submitted_at = ?, "
               "submitted_by = ? WHERE id = ?", (at, user_id, response_id))


def department_responses(db: Database, round_id: int) -> list[dict]:
    """Every department response of a round with the names of 所属 and last editor."""
    return rows(db, "SELECT responses.*, departments.name AS department_name, "
                "users.login AS updated_by_login FROM responses "
                "JOIN departments ON departments.code = responses.department_code "
                "LEFT JOIN users ON users.id = responses.updated_by "
                "WHERE responses.round_id = ? AND responses.audience = 'department' "
                "ORDER BY responses.department_code", (round_id,))


def list_rounds(db: Database) -> list[dict]:
    return rows(db, "SELECT id, fiscal_year, questionnaire_id, version, status, opens_on, "
                "closes_on FROM rounds ORDER BY fiscal_year DESC, id DESC")


HISTORY_SQL = (
    "SELECT answer_history.*, responses.round_id, responses.department_code, "
    "responses.system_code, users.login AS changed_by_login, "
    "(SELECT owners.id FROM responses AS owners WHERE owners.round_id = responses.round_id "
    "AND owners.department_code = responses.department_code "
    "AND owners.audience = 'department') AS department_response_id "
    "FROM answer_history "
    "JOIN responses ON responses.id = answer_history.response_id "
    "LEFT JOIN users ON users.id = answer_history.changed_by "
    "WHERE responses.audience IN (SELECT value FROM json_each(:named)) "
    "AND (:response_id IS NULL OR answer_history.response_id = :response_id) "
    "AND (:department_code IS NULL OR responses.department_code = :department_code) "
    "AND (:question_id IS NULL OR answer_history.question_id = :question_id) "
    "AND (:date_from IS NULL OR answer_history.changed_at >= :date_from) "
    "AND (:date_to IS NULL OR answer_history.changed_at < :date_to) "
    "ORDER BY answer_history.changed_at DESC, answer_history.id DESC "
    "LIMIT :limit OFFSET :offset")


def history(db: Database, filters: dict, limit: int, offset: int,
            named: list[str]) -> list[dict]:
    """Answer history of the `named` audiences (a 所属's own answers and its systems'),
    newest first; staff rows are never listed (anonymity). A row names its
    `department_response_id`, the self-check its system block belongs to.

    `filters` holds response_id, department_code, question_id, date_from, date_to
    (ISO timestamps, `date_to` exclusive); a None filter matches everything.
    """
    keys = ("response_id", "department_code", "question_id", "date_from", "date_to")
    params = {key: filters.get(key) for key in keys}
    return rows(db, HISTORY_SQL, {**params, "limit": limit, "offset": offset,
                                  "named": json.dumps(named)})


def history_question_ids(db: Database, named: list[str]) -> list[str]:
    return [row["question_id"] for row in rows(
        db, "SELECT DISTINCT answer_history.question_id FROM answer_history "
        "JOIN responses ON responses.id = answer_history.response_id "
        "WHERE responses.audience IN (SELECT value FROM json_each(:named)) ORDER BY 1",
        {"named": json.dumps(named)})]
