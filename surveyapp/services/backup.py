"""Consistent online backups through SQLite's backup API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from surveyapp import store


def backup_database(source: str | Path, target: str | Path) -> str:
    """Copy `source` to `target` while writers may be running; return the integrity
    check result of the copy, refusing to leave a broken copy behind."""
    target = Path(target)
    if target.exists():
        raise ValueError(f"{target} は既に存在します / already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(str(source)) as src, sqlite3.connect(str(target)) as dst:
        src.backup(dst, pages=1024)
    copy = store.connect(target)
    try:
        result = store.integrity_check(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
    if result != "ok":
        target.unlink()
        raise ValueError(f"backup failed the integrity check: {result}")
    return result
