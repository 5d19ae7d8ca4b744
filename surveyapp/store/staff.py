"""Staff links and one-time codes: the anonymous way in to the awareness survey.

Only hashes of tokens and codes are stored (see `services.staff`). Nothing here ever
stores anything about the person answering.
"""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import now, one


def active_link(db: Database, round_id: int, department_code: str) -> dict | None:
    return one(db, "SELECT * FROM staff_links WHERE round_id = ? AND department_code = ? "
                   "AND revoked_at IS NULL ORDER BY id DESC LIMIT 1",
               (round_id, department_code))


def link_by_hash(db: Database, token_hash: str) -> dict | None:
    """The active link whose token hashes to `token_hash`, with its round's status."""
    return one(db, "SELECT staff_links.*, rounds.status AS round_status "
                   "FROM staff_links JOIN rounds ON rounds.id = staff_links.round_id "
                   "WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,))


def replaced_link_by_hash(db: Database, token_hash: str) -> dict | None:
    """The revoked (reissued) link whose token hashes to `token_hash`."""
    return one(db, "SELECT * FROM staff_links WHERE token_hash = ? AND revoked_at IS NOT NULL",
               (token_hash,))


def revoke_links(db: Database, round_id: int, department_code: str) -> int:
    cursor = db.execute("UPDATE staff_links SET revoked_at = ? WHERE round_id = ? "
                        "AND department_code = ? AND revoked_at IS NULL",
                        (now(), round_id, department_code))
    return cursor.rowcount


def insert_link(db: Database, round_id: int, department_code: str, token_hash: str) -> int:
    cursor = db.execute("INSERT INTO staff_links (round_id, department_code, token_hash, "
                        "created_at) VALUES (?, ?, ?, ?)",
                        (round_id, department_code, token_hash, now()))
    return cursor.lastrowid


def insert_codes(db: Database, round_id: int, department_code: str,
                 code_hashes: list[str]) -> None:
    created = now()
    db.conn.executemany("INSERT INTO staff_codes (round_id, department_code, code_hash, "
                        "created_at) VALUES (?, ?, ?, ?)",
                        [(round_id, department_code, h, created) for h in code_hashes])


def code_by_hash(db: Database, code_hash: str) -> dict | None:
    return one(db, "SELECT staff_codes.*, rounds.status AS round_status "
                   "FROM staff_codes JOIN rounds ON rounds.id = staff_codes.round_id "
                   "WHERE code_hash = ?", (code_hash,))


def use_code(db: Database, code_id: int, used_on: str) -> bool:
    """Mark a code used; False when it already was (the `used_at IS NULL` guard makes
    this safe under concurrency: only one UPDATE can ever match)."""
    cursor = db.execute("UPDATE staff_codes SET used_at = ? WHERE id = ? AND used_at IS NULL",
                        (used_on, code_id))
    return cursor.rowcount == 1


def code_counts(db: Database, round_id: int, department_code: str) -> dict:
    row = one(db, "SELECT count(*) AS total, count(used_at) AS used FROM staff_codes "
                  "WHERE round_id = ? AND department_code = ?", (round_id, department_code))
    return {"total": row["total"], "used": row["used"]}


def staff_response_count(db: Database, round_id: int, department_code: str) -> int:
    row = one(db, "SELECT count(*) AS n FROM responses WHERE round_id = ? "
                  "AND department_code = ? AND audience = 'staff' AND status = 'submitted'",
              (round_id, department_code))
    return row["n"]


def departments_with_link(db: Database, round_id: int) -> set[str]:
    return {row["department_code"] for row in db.query(
        "SELECT DISTINCT department_code FROM staff_links WHERE round_id = ? "
        "AND revoked_at IS NULL", (round_id,))}


def code_totals(db: Database, round_id: int) -> dict[str, dict]:
    """Per 所属 code: how many codes it has and how many were used."""
    return {row["department_code"]: {"total": row["total"], "used": row["used"]}
            for row in db.query(
                "SELECT department_code, count(*) AS total, count(used_at) AS used "
                "FROM staff_codes WHERE round_id = ? GROUP BY department_code", (round_id,))}
