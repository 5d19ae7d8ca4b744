"""Shared data for the staff-survey tests (no tests here): a 部局 with two 所属 and an
open round, inserted through sqlite-utils so no SQL is written by hand."""

from __future__ import annotations

from pathlib import Path

from surveyapp import store

DEPARTMENT = "D01"
OTHER_DEPARTMENT = "D02"


def seed(db, status: str = "open", version: str = "2021.1",
         canonical_json: str = "{}", source: bytes = b"") -> int:
    """Departments and one round; returns the round id."""
    stamp = store.now()
    db["departments"].insert_all([
        {"code": "B01", "name": "総務部", "parent_code": None, "headcount": 0,
         "updated_at": stamp},
        {"code": DEPARTMENT, "name": "総務課", "parent_code": "B01", "headcount": 20,
         "updated_at": stamp},
        {"code": OTHER_DEPARTMENT, "name": "人事課", "parent_code": "B01", "headcount": 0,
         "updated_at": stamp},
    ])
    db["questionnaire_versions"].insert({
        "questionnaire_id": "infosec-selfcheck", "version": version, "fiscal_year": 2021,
        "title": "令和3年度", "source": source, "sha256": "0" * 64,
        "canonical_json": canonical_json, "published_at": stamp})
    return db["rounds"].insert({
        "fiscal_year": 2021, "questionnaire_id": "infosec-selfcheck", "version": version,
        "status": status, "created_at": stamp}).last_pk


def set_round_status(db, round_id: int, status: str) -> None:
    db["rounds"].update(round_id, {"status": status})


def database_bytes(db) -> bytes:
    """Everything SQLite has written: the main file plus its write-ahead log."""
    path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
