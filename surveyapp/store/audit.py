"""The append-only audit log of admin actions."""

from __future__ import annotations

import json

from sqlite_utils import Database

from surveyapp.store import now


def insert_entry(db: Database, user_id: int | None, action: str,
                 target_type: str | None = None, target_id: str | None = None,
                 detail: dict | None = None) -> None:
    db.execute(
        "INSERT INTO audit_log (at, user_id, action, target_type, target_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (now(), user_id, action, target_type, target_id,
         json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)),
    )


def list_entries(db: Database, action: str | None = None, user_id: int | None = None,
                 limit: int = 200, offset: int = 0) -> list[dict]:
    sql = ("SELECT audit_log.*, users.login AS user_login FROM audit_log "
           "LEFT JOIN users ON users.id = audit_log.user_id "
           "WHERE (:action IS NULL OR action = :action) "
           "AND (:user_id IS NULL OR user_id = :user_id) "
           "ORDER BY audit_log.id DESC LIMIT :limit OFFSET :offset")
    params = {"action": action, "user_id": user_id, "limit": limit, "offset": offset}
    return [dict(row) for row in db.query(sql, params)]


def list_actions(db: Database) -> list[str]:
    return [row["action"] for row in
            db.query("SELECT DISTINCT action FROM audit_log ORDER BY action")]
