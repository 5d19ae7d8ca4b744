"""Deadlines per 所属 (an admin's extensions) and the reminder log (DESIGN.md §10)."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from surveyapp.store import now, one, rows

# --- deadline extensions ---------------------------------------------------------------

def get_extension(db: Database, round_id: int, department_code: str) -> dict | None:
    return one(db, "SELECT * FROM deadline_extensions WHERE round_id = ? "
               "AND department_code = ?", (round_id, department_code))


def extensions_of_round(db: Database, round_id: int) -> dict[str, dict]:
    """Extension rows of a round by 所属 code."""
    return {row["department_code"]: row for row in rows(
        db, "SELECT * FROM deadline_extensions WHERE round_id = ?", (round_id,))}


def put_extension(db: Database, round_id: int, department_code: str, closes_on: str,
                  reason: str, user_id: int | None) -> None:
    db.execute("INSERT INTO deadline_extensions (round_id, department_code, closes_on, "
               "reason, extended_at, extended_by) VALUES (?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (round_id, department_code) DO UPDATE SET "
               "closes_on = excluded.closes_on, reason = excluded.reason, "
               "extended_at = excluded.extended_at, extended_by = excluded.extended_by",
               (round_id, department_code, closes_on, reason, now(), user_id))


# --- the reminder log ---------------------------------------------------------------------

def claim(db: Database, entry: dict) -> int | None:
    """Write `entry` as 'sending'; None when the same (round, kind, target, day) is
    already sent or being sent. Keys: round_id, kind, target, department_code, user_id,
    day, recipients, sent_by."""
    try:
        cursor = db.execute(
            "INSERT INTO reminder_log (round_id, kind, target, department_code, user_id, "
            "day, recipients, status, at, sent_by) VALUES (:round_id, :kind, :target, "
            ":department_code, :user_id, :day, :recipients, 'sending', :at, :sent_by)",
            {**entry, "at": now()})
    except sqlite3.IntegrityError:
        return None
    return cursor.lastrowid


def finish(db: Database, entry_id: int, status: str, detail: str = "") -> None:
    """'sent' or 'failed' (a failed entry no longer blocks its key)."""
    db.execute("UPDATE reminder_log SET status = ?, detail = ?, at = ? WHERE id = ?",
               (status, detail, now(), entry_id))


def release_stale(db: Database, before: str) -> None:
    """Claims older than `before` whose run never finished (killed while sending) are
    marked failed, so the message is due again."""
    db.execute("UPDATE reminder_log SET status = 'failed', detail = ? "
               "WHERE status = 'sending' AND at < ?",
               ("送信中に処理が中断されました / interrupted while sending", before))


def is_taken(db: Database, round_id: int, kind: str, target: str, day: str) -> bool:
    """Sent (or being sent) already on `day`."""
    return one(db, "SELECT 1 AS taken FROM reminder_log WHERE round_id = ? AND kind = ? "
               "AND target = ? AND day = ? AND status != 'failed'",
               (round_id, kind, target, day)) is not None


def logged_without_address(db: Database, round_id: int, kind: str, target: str,
                           day: str) -> bool:
    """A message of `day` already logged as failed for want of any address."""
    return one(db, "SELECT 1 AS logged FROM reminder_log WHERE round_id = ? AND kind = ? "
               "AND target = ? AND day = ? AND status = 'failed' AND recipients = ''",
               (round_id, kind, target, day)) is not None


def last_sent_at(db: Database, round_id: int, kind: str, target: str) -> str | None:
    """When the newest message of this kind to this target went out (or began to)."""
    found = one(db, "SELECT max(at) AS at FROM reminder_log WHERE round_id = ? "
                "AND kind = ? AND target = ? AND status != 'failed'", (round_id, kind, target))
    return found["at"] if found else None


def log_of_round(db: Database, round_id: int, limit: int = 200) -> list[dict]:
    """The newest entries first, with the 所属 name and who pressed "send now"."""
    return rows(db, "SELECT reminder_log.*, departments.name AS department_name, "
                "users.login AS sent_by_login FROM reminder_log "
                "LEFT JOIN departments ON departments.code = reminder_log.department_code "
                "LEFT JOIN users ON users.id = reminder_log.sent_by "
                "WHERE reminder_log.round_id = ? ORDER BY reminder_log.at DESC, "
                "reminder_log.id DESC LIMIT ?", (round_id, limit))
