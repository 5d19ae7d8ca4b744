"""Published questionnaire versions (table questionnaire_versions, immutable rows)."""

from __future__ import annotations

from sqlite_utils import Database

from surveyapp.store import one, rows


def insert_version(db: Database, row: dict) -> int:
    cursor = db.execute(
        "INSERT INTO questionnaire_versions (questionnaire_id, version, fiscal_year, title, "
        "source, sha256, canonical_json, published_at, published_by) VALUES (:questionnaire_id,"
        " :version, :fiscal_year, :title, :source, :sha256, :canonical_json, :published_at, "
        ":published_by)", row)
    return cursor.lastrowid


def find_version(db: Database, questionnaire_id: str, version: str) -> dict | None:
    """The full row (source bytes and canonical JSON included), or None."""
    row = one(db, "SELECT * FROM questionnaire_versions WHERE questionnaire_id = ? "
                  "AND version = ?", (questionnaire_id, version))
    return dict(row) if row is not None else None


def find_by_sha256(db: Database, sha256: str) -> dict | None:
    row = one(db, "SELECT id, questionnaire_id, version, fiscal_year, title, sha256, "
                  "published_at, published_by FROM questionnaire_versions "
                  "WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,))
    return dict(row) if row is not None else None


def list_versions(db: Database) -> list[dict]:
    """Every published version (without its source bytes) and the publisher's login."""
    return rows(db, "SELECT v.id, v.questionnaire_id, v.version, v.fiscal_year, v.title, "
                    "v.sha256, v.published_at, v.published_by, "
                    "users.login AS published_by_login FROM questionnaire_versions AS v "
                    "LEFT JOIN users ON users.id = v.published_by "
                    "ORDER BY questionnaire_id, fiscal_year DESC, published_at DESC")


def source_and_sha256(db: Database, questionnaire_id: str, version: str) -> tuple | None:
    row = one(db, "SELECT source, sha256 FROM questionnaire_versions "
                  "WHERE questionnaire_id = ? AND version = ?", (questionnaire_id, version))
    return (bytes(row["source"]), row["sha256"]) if row is not None else None


def document_and_sha256(db: Database, questionnaire_id: str, version: str) -> tuple | None:
    """The canonical JSON of the parsed definition and the sha256 of its source."""
    row = one(db, "SELECT canonical_json, sha256 FROM questionnaire_versions "
                  "WHERE questionnaire_id = ? AND version = ?", (questionnaire_id, version))
    return (row["canonical_json"], row["sha256"]) if row is not None else None


def sha256_of(db: Database, questionnaire_id: str, version: str) -> str | None:
    row = one(db, "SELECT sha256 FROM questionnaire_versions "
                  "WHERE questionnaire_id = ? AND version = ?", (questionnaire_id, version))
    return row["sha256"] if row is not None else None
