"""Follow-up thresholds, improvement items (改善計画), their history and progress reports.

Callers wrap writes in `store.transaction`. `improvement_item_history` is append-only
(triggers refuse UPDATE and DELETE). Item filters travel as named parameters where NULL
means "any", so the SQL text never depends on user input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import rows

ITEM_COLUMNS = ("finding", "system_code", "question_ids", "owner", "due_on", "status",
                "notes")



# --- thresholds ----------------------------------------------------------------------


def thresholds(db: Database) -> dict[str, float]:
    """{finding: threshold} for the findings an admin has set."""
    return {row["finding"]: row["threshold"]
            for row in rows(db, "SELECT finding, threshold FROM followup_thresholds")}


def threshold_rows(db: Database) -> list[dict]:
    return rows(db, "SELECT followup_thresholds.*, users.login AS updated_by_login "
                "FROM followup_thresholds LEFT JOIN users "
                "ON users.id = followup_thresholds.updated_by ORDER BY finding")


def upsert_threshold(db: Database, finding: str, threshold: float, user_id: int | None,
                     at: str) -> None:
    db.execute(
        "INSERT INTO followup_thresholds (finding, threshold, updated_at, updated_by) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (finding) DO UPDATE SET "
        "threshold = excluded.threshold, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        (finding, threshold, at, user_id))


def delete_threshold(db: Database, finding: str) -> None:
    db.execute("DELETE FROM followup_thresholds WHERE finding = ?", (finding,))


# --- items ---------------------------------------------------------------------------


def insert_item(db: Database, values: dict, user_id: int | None, at: str) -> int:
    """`values` has round_id, department_code and every ITEM_COLUMNS key, and may name
    its `source` ('followup', the default, or 'verification')."""
    params = {**_item_params(values), "round_id": values["round_id"],
              "department_code": values["department_code"], "user_id": user_id, "at": at,
              "source": values.get("source", "followup")}
    cursor = db.execute(
        "INSERT INTO improvement_items (round_id, department_code, finding, system_code, "
        "question_ids, owner, due_on, status, notes, created_at, created_by, updated_at, "
        "updated_by, source) VALUES (:round_id, :department_code, :finding, :system_code, "
        ":question_ids, :owner, :due_on, :status, :notes, :at, :user_id, :at, :user_id, "
        ":source)", params)
    return cursor.lastrowid


def update_item(db: Database, item_id: int, values: dict, user_id: int | None,
                at: str) -> None:
    """Write every ITEM_COLUMNS key of `values` and bump the item's version."""
    db.execute(
        "UPDATE improvement_items SET finding = :finding, system_code = :system_code, "
        "question_ids = :question_ids, "
        "owner = :owner, due_on = :due_on, status = :status, notes = :notes, "
        "version = version + 1, updated_at = :at, updated_by = :user_id WHERE id = :id",
        {**_item_params(values), "id": item_id, "user_id": user_id, "at": at})


def _item_params(values: dict) -> dict:
    params = {column: values[column] for column in ITEM_COLUMNS}
    params["question_ids"] = json.dumps(list(values["question_ids"]), ensure_ascii=False)
    return params


def get_item(db: Database, item_id: int) -> dict | None:
    return next(iter(list_items(db, {"item_id": item_id})), None)


def list_items(db: Database, filters: dict) -> list[dict]:
    """Items matching `filters` (keys item_id, round_id, finding, status, bureau_code,
    department_codes: a list or None; a missing key matches anything), with their
    round, 所属 and the logins of creator and last editor; newest round first."""
    codes = filters.get("department_codes")
    params = {key: filters.get(key)
              for key in ("item_id", "round_id", "finding", "status", "bureau_code")}
    params["codes"] = None if codes is None else json.dumps(list(codes))
    return rows(db, """
        SELECT improvement_items.*, rounds.fiscal_year, rounds.questionnaire_id,
               rounds.version AS questionnaire_version,
               departments.name AS department_name, departments.parent_code AS bureau_code,
               systems.name AS system_name,
               creators.login AS created_by_login, editors.login AS updated_by_login
        FROM improvement_items
        JOIN rounds ON rounds.id = improvement_items.round_id
        JOIN departments ON departments.code = improvement_items.department_code
        LEFT JOIN systems ON systems.code = improvement_items.system_code
        LEFT JOIN users AS creators ON creators.id = improvement_items.created_by
        LEFT JOIN users AS editors ON editors.id = improvement_items.updated_by
        WHERE (:item_id IS NULL OR improvement_items.id = :item_id)
          AND (:round_id IS NULL OR improvement_items.round_id = :round_id)
          AND (:finding IS NULL OR improvement_items.finding = :finding)
          AND (:status IS NULL OR improvement_items.status = :status)
          AND (:bureau_code IS NULL OR departments.parent_code = :bureau_code)
          AND (:codes IS NULL OR improvement_items.department_code IN
               (SELECT value FROM json_each(:codes)))
        ORDER BY rounds.fiscal_year DESC, improvement_items.department_code,
                 improvement_items.finding, improvement_items.id""", params)


# --- history ---------------------------------------------------------------------------


def insert_history(db: Database, item_id: int, change: tuple[str, str | None, str | None],
                   user_id: int | None, at: str, via_round_id: int | None = None) -> None:
    """One append-only row; `change` is (field, old text, new text)."""
    field, old, new = change
    db.execute(
        "INSERT INTO improvement_item_history (item_id, field, old_value, new_value, "
        "changed_at, changed_by, via_round_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (item_id, field, old, new, at, user_id, via_round_id))


def history(db: Database, item_id: int) -> list[dict]:
    """The item's changes, oldest first, with the login of whoever made them."""
    return rows(db, "SELECT improvement_item_history.*, users.login AS changed_by_login "
                "FROM improvement_item_history LEFT JOIN users "
                "ON users.id = improvement_item_history.changed_by "
                "WHERE item_id = ? ORDER BY improvement_item_history.id", (item_id,))


# --- progress reports (前年度の改善状況) --------------------------------------------------


def reports(db: Database, round_id: int, item_ids: Iterable[int]) -> dict[int, dict]:
    """{item id: report row} of the given items on round `round_id`'s form."""
    found = rows(db, "SELECT * FROM improvement_reports WHERE round_id = :round_id "
                 "AND item_id IN (SELECT value FROM json_each(:ids))",
                 {"round_id": round_id, "ids": json.dumps(list(item_ids))})
    return {row["item_id"]: row for row in found}


def reports_for_item(db: Database, item_id: int) -> list[dict]:
    """What the 所属 reported about one item on later forms, by round."""
    return rows(db, "SELECT improvement_reports.*, rounds.fiscal_year, "
                "users.login AS updated_by_login FROM improvement_reports "
                "JOIN rounds ON rounds.id = improvement_reports.round_id "
                "LEFT JOIN users ON users.id = improvement_reports.updated_by "
                "WHERE item_id = ? ORDER BY rounds.fiscal_year", (item_id,))


def upsert_report(db: Database, item_id: int, round_id: int, status: str | None,
                  note: str, user_id: int | None, at: str) -> None:
    db.execute(
        "INSERT INTO improvement_reports (item_id, round_id, status, note, updated_at, "
        "updated_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id, round_id) DO UPDATE "
        "SET status = excluded.status, note = excluded.note, "
        "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (item_id, round_id, status, note, at, user_id))

