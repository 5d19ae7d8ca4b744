"""Users and API tokens."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import now, one


def get_user(db: Database, user_id: int) -> dict | None:
    return one(db, "SELECT * FROM users WHERE id = ?", (user_id,))


def get_user_by_login(db: Database, login: str) -> dict | None:
    return one(db, "SELECT * FROM users WHERE login = ?", (login,))


def insert_user(db: Database, login: str, role: str, password_hash: str,
                department_code: str | None = None, display_name: str = "") -> int:
    cursor = db.execute(
        "INSERT INTO users (login, display_name, role, department_code, password_hash, "
        "created_at, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (login, display_name, role, department_code, password_hash, now(), now()),
    )
    return cursor.lastrowid
