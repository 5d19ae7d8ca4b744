"""Users and API tokens."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import now, one, rows


def get_user(db: Database, user_id: int) -> dict | None:
    return one(db, "SELECT * FROM users WHERE id = ?", (user_id,))


def get_user_by_login(db: Database, login: str) -> dict | None:
    return one(db, "SELECT * FROM users WHERE login = ?", (login,))


def insert_user(db: Database, login: str, role: str, password_hash: str,
                department_code: str | None = None, display_name: str = "",
                email: str = "", approver: bool = False) -> int:
    cursor = db.execute(
        "INSERT INTO users (login, display_name, role, department_code, password_hash, "
        "created_at, password_changed_at, email, approver) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (login, display_name, role, department_code, password_hash, now(), now(), email,
         int(approver)),
    )
    return cursor.lastrowid


def list_users(db: Database) -> list[dict]:
    """Every account with its 所属's name, admins first, then by login."""
    return rows(db, """
        SELECT users.*, departments.name AS department_name FROM users
        LEFT JOIN departments ON departments.code = users.department_code
        ORDER BY CASE role WHEN 'admin' THEN 0 WHEN 'auditor' THEN 1 ELSE 2 END,
                 users.login""")


def count_active_admins(db: Database) -> int:
    row = one(db, "SELECT count(*) AS n FROM users "
                  "WHERE role = 'admin' AND active = 1 AND locked_at IS NULL")
    return row["n"]


def set_password_hash(db: Database, user_id: int, password_hash: str) -> None:
    """A new password: the change time moves, the failure count and lock are cleared."""
    db.execute("UPDATE users SET password_hash = ?, password_changed_at = ?, "
               "failed_logins = 0, locked_at = NULL WHERE id = ?",
               (password_hash, now(), user_id))


def replace_password_hash(db: Database, user_id: int, password_hash: str) -> None:
    """The same password hashed with current parameters: the change time stays."""
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def bump_session_epoch(db: Database, user_id: int) -> None:
    db.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,))


def record_failed_login(db: Database, user_id: int, lock_after: int) -> dict:
    """Count one failure atomically and lock on reaching `lock_after`; return the row."""
    db.execute(
        "UPDATE users SET failed_logins = failed_logins + 1, "
        "locked_at = CASE WHEN locked_at IS NULL AND failed_logins + 1 >= ? "
        "THEN ? ELSE locked_at END WHERE id = ?",
        (lock_after, now(), user_id))
    return get_user(db, user_id)


def reset_failed_logins(db: Database, user_id: int) -> None:
    db.execute("UPDATE users SET failed_logins = 0 WHERE id = ? AND failed_logins != 0",
               (user_id,))


def set_active(db: Database, user_id: int, active: bool) -> None:
    db.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))


def clear_lock(db: Database, user_id: int) -> None:
    db.execute("UPDATE users SET locked_at = NULL, failed_logins = 0 WHERE id = ?",
               (user_id,))


def set_department(db: Database, user_id: int, department_code: str) -> None:
    db.execute("UPDATE users SET department_code = ? WHERE id = ?",
               (department_code, user_id))


def insert_api_token(db: Database, user_id: int, token_hash: str) -> int:
    cursor = db.execute("INSERT INTO api_tokens (user_id, token_hash, created_at) "
                        "VALUES (?, ?, ?)", (user_id, token_hash, now()))
    return cursor.lastrowid


def get_user_by_token_hash(db: Database, token_hash: str) -> dict | None:
    """The active, unlocked owner of a live token (lookup by hash: no secret compared)."""
    return one(db, """
        SELECT users.*, api_tokens.id AS token_id FROM api_tokens
        JOIN users ON users.id = api_tokens.user_id
        WHERE api_tokens.token_hash = ? AND api_tokens.revoked_at IS NULL
          AND users.active = 1 AND users.locked_at IS NULL""", (token_hash,))


def touch_api_token(db: Database, token_id: int) -> None:
    db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now(), token_id))


def revoke_api_token(db: Database, token_hash: str) -> dict | None:
    """Revoke a live token; return its row (None when unknown or already revoked)."""
    token = one(db, "SELECT * FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                (token_hash,))
    if token is not None:
        db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (now(), token["id"]))
    return token


def revoke_api_tokens_of_user(db: Database, user_id: int) -> int:
    cursor = db.execute("UPDATE api_tokens SET revoked_at = ? "
                        "WHERE user_id = ? AND revoked_at IS NULL", (now(), user_id))
    return cursor.rowcount


def count_live_api_tokens(db: Database, user_id: int) -> int:
    row = one(db, "SELECT count(*) AS n FROM api_tokens "
                  "WHERE user_id = ? AND revoked_at IS NULL", (user_id,))
    return row["n"]


# --- contact details and directory accounts (DESIGN.md §10, §11) -----------------------

def set_contact(db: Database, user_id: int, email: str, approver: bool) -> None:
    db.execute("UPDATE users SET email = ?, approver = ? WHERE id = ?",
               (email, int(approver), user_id))


def insert_directory_user(db: Database, login: str, grant: dict) -> int:
    """A directory account: no password is stored (`password_hash` stays '')."""
    cursor = db.execute(
        "INSERT INTO users (login, display_name, role, department_code, password_hash, "
        "created_at, auth_source, email, approver, directory_dn, directory_synced_at) "
        "VALUES (?, ?, ?, ?, '', ?, 'directory', ?, ?, ?, ?)",
        (login, grant["display_name"], grant["role"], grant["department_code"], now(),
         grant["email"], int(grant["approver"]), grant["dn"], now()))
    return cursor.lastrowid


def update_directory_user(db: Database, user_id: int, grant: dict) -> None:
    """What the directory said at this login replaces what it said before."""
    db.execute(
        "UPDATE users SET display_name = ?, role = ?, department_code = ?, email = ?, "
        "approver = ?, directory_dn = ?, directory_synced_at = ?, failed_logins = 0 "
        "WHERE id = ? AND auth_source = 'directory'",
        (grant["display_name"], grant["role"], grant["department_code"], grant["email"],
         int(grant["approver"]), grant["dn"], now(), user_id))


def make_directory_account(db: Database, user_id: int) -> None:
    """From now on the directory checks the password: the local hash is dropped."""
    db.execute("UPDATE users SET auth_source = 'directory', password_hash = '', "
               "password_changed_at = NULL, failed_logins = 0, locked_at = NULL "
               "WHERE id = ?", (user_id,))


def make_local_account(db: Database, user_id: int, password_hash: str) -> None:
    db.execute("UPDATE users SET auth_source = 'local', password_hash = ?, "
               "password_changed_at = ?, failed_logins = 0, locked_at = NULL, "
               "directory_dn = NULL, directory_synced_at = NULL WHERE id = ?",
               (password_hash, now(), user_id))


def list_active_directory_logins(db: Database) -> list[str]:
    """The logins of the active accounts the directory vouches for, in login order."""
    return [row["login"] for row in db.query(
        "SELECT login FROM users WHERE auth_source = 'directory' AND active = 1 "
        "ORDER BY login")]


def count_active_local_admins(db: Database) -> int:
    row = one(db, "SELECT count(*) AS n FROM users WHERE role = 'admin' AND active = 1 "
                  "AND locked_at IS NULL AND auth_source = 'local'")
    return row["n"]
