"""Evidence attachments (DESIGN.md §13): the stored files, one row per sha256, and their
links to answers, never deleted (a removed link keeps `removed_at`, for the history)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from surveyapp.store import one, rows

LINKS = (
    "SELECT answer_attachments.id, answer_attachments.response_id, "
    "answer_attachments.question_id, answer_attachments.sha256, answer_attachments.filename, "
    "answer_attachments.added_at, answer_attachments.added_by, answer_attachments.removed_at, "
    "answer_attachments.removed_by, attachment_files.size, attachment_files.media_type, "
    "responses.department_code, responses.audience, responses.round_id "
    "FROM answer_attachments JOIN attachment_files USING (sha256) "
    "JOIN responses ON responses.id = answer_attachments.response_id ")


def insert_file(db: Database, sha256: str, size: int, media_type: str, at: str) -> None:
    """The file's row, once per content (a second upload of the same bytes adds none)."""
    db.execute("INSERT INTO attachment_files (sha256, size, media_type, stored_at) "
               "VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
               (sha256, size, media_type, at))


def file_known(db: Database, sha256: str) -> bool:
    return one(db, "SELECT 1 AS found FROM attachment_files WHERE sha256 = ?",
               (sha256,)) is not None


def insert_link(db: Database, response_id: int, question_id: str, sha256: str,
                filename: str, user_id: int | None, at: str) -> int:
    cursor = db.execute(
        "INSERT INTO answer_attachments (response_id, question_id, sha256, filename, "
        "added_at, added_by) VALUES (?, ?, ?, ?, ?, ?)",
        (response_id, question_id, sha256, filename, at, user_id))
    return cursor.lastrowid


def mark_removed(db: Database, link_ids: Iterable[int], user_id: int | None, at: str) -> None:
    db.conn.executemany(
        "UPDATE answer_attachments SET removed_at = ?, removed_by = ? "
        "WHERE id = ? AND removed_at IS NULL", [(at, user_id, link) for link in link_ids])


def current_links(db: Database, response_id: int) -> list[dict]:
    """The response's attachments not removed, oldest first per question."""
    return rows(db, LINKS + "WHERE answer_attachments.response_id = ? AND "
                "answer_attachments.removed_at IS NULL "
                "ORDER BY answer_attachments.question_id, answer_attachments.id", (response_id,))


def links_by_id(db: Database, link_ids: Iterable[int]) -> dict[int, dict]:
    """Links, removed ones too (each link carries its response's round, 所属 and
    audience)."""
    found = rows(db, LINKS + "JOIN json_each(?) AS wanted "
                 "ON wanted.value = answer_attachments.id", (_json_ids(link_ids),))
    return {row["id"]: row for row in found}


def _json_ids(link_ids: Iterable[int]) -> str:
    return "[" + ",".join(str(int(link)) for link in link_ids) + "]"


def link_for_file(db: Database, sha256: str) -> dict | None:
    """The earliest link of a file (its name to download it under)."""
    return one(db, LINKS + "WHERE answer_attachments.sha256 = ? "
               "ORDER BY answer_attachments.id LIMIT 1", (sha256,))


# --- the storage page and backups ---------------------------------------------------------


def totals(db: Database) -> dict:
    """Files (each content once), their bytes, and the links to answers."""
    return one(db, "SELECT (SELECT COUNT(*) FROM attachment_files) AS files, "
               "(SELECT COALESCE(SUM(size), 0) FROM attachment_files) AS bytes, "
               "(SELECT COUNT(*) FROM answer_attachments WHERE removed_at IS NULL) AS links, "
               "(SELECT COUNT(*) FROM answer_attachments WHERE removed_at IS NOT NULL) "
               "AS removed_links, (SELECT COALESCE(SUM(size), 0) FROM answer_attachments "
               "JOIN attachment_files USING (sha256)) AS linked_bytes")


def totals_by_round(db: Database) -> list[dict]:
    """Per round: links, distinct files and their bytes (a file in two rounds counts
    in each)."""
    return rows(db, "SELECT rounds.id AS round_id, rounds.fiscal_year, rounds.questionnaire_id, "
                "rounds.version, rounds.attachments_allowed, "
                "COUNT(answer_attachments.id) AS links, "
                "COUNT(DISTINCT answer_attachments.sha256) AS files, "
                "COALESCE((SELECT SUM(size) FROM attachment_files WHERE sha256 IN ("
                "SELECT sha256 FROM answer_attachments AS inner_links JOIN responses AS "
                "inner_responses ON inner_responses.id = inner_links.response_id "
                "WHERE inner_responses.round_id = rounds.id)), 0) AS bytes "
                "FROM rounds LEFT JOIN responses ON responses.round_id = rounds.id "
                "LEFT JOIN answer_attachments ON answer_attachments.response_id = responses.id "
                "GROUP BY rounds.id ORDER BY rounds.fiscal_year DESC, rounds.id DESC")


def all_files(db: Database) -> list[dict]:
    return rows(db, "SELECT sha256, size, media_type FROM attachment_files ORDER BY sha256")
