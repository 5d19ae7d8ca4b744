"""Whole-database operations: online backup and integrity checks."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from surveyapp.store import connect, integrity_check


def backup_to(source: str | Path, target: str | Path) -> str:
    """Copy the live database page by page with SQLite's backup API (writers may keep
    writing meanwhile) and return the copy's integrity check result."""
    # closing(): a sqlite3 connection's own `with` only commits, it does not close.
    with closing(sqlite3.connect(str(source))) as src, \
            closing(sqlite3.connect(str(target))) as dst:
        src.backup(dst, pages=1024)
    copy = connect(target)
    try:
        result = integrity_check(copy)
        # A backup is a single self-contained file: no -wal beside it.
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
    return result


def attachment_files_of(copy: str | Path) -> list[dict]:
    """The attachment files (sha256, size) a database copy references, read without
    changing the copy (read-only: no journal mode switched, no -wal left beside it)."""
    uri = Path(copy).resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(
            "SELECT sha256, size FROM attachment_files ORDER BY sha256")]
