"""Shared data for the staff-survey tests (no tests here): a 部局 with two 所属 and a
round, inserted through sqlite-utils or the services, so no SQL is written by hand."""

from __future__ import annotations

import re
from pathlib import Path

from surveyapp import store

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRE_DIR = ROOT / "questionnaires" / "infosec-selfcheck"
DEPARTMENT = "D01"
OTHER_DEPARTMENT = "D02"


def seed_departments(db) -> None:
    stamp = store.now()
    db["departments"].insert_all([
        {"code": "B01", "name": "総務部", "parent_code": None, "headcount": 0,
         "updated_at": stamp},
        {"code": DEPARTMENT, "name": "総務課", "parent_code": "B01", "headcount": 20,
         "updated_at": stamp},
        {"code": OTHER_DEPARTMENT, "name": "人事課", "parent_code": "B01", "headcount": 0,
         "updated_at": stamp},
    ])


def seed(db, status: str = "open") -> int:
    """Departments and one round over a placeholder version row; returns the round id.
    For the service tests, which never read the definition."""
    seed_departments(db)
    stamp = store.now()
    db["questionnaire_versions"].insert({
        "questionnaire_id": "infosec-selfcheck", "version": "2021.1", "fiscal_year": 2021,
        "title": "令和3年度", "source": b"", "sha256": "0" * 64,
        "canonical_json": "{}", "published_at": stamp})
    return db["rounds"].insert({
        "fiscal_year": 2021, "questionnaire_id": "infosec-selfcheck", "version": "2021.1",
        "status": status, "created_at": stamp}).last_pk


def seed_published(db) -> int:
    """Departments, the real FY2021 questionnaire published, and its round opened."""
    from surveyapp.services import questionnaires, rounds

    seed_departments(db)
    for version in ("2020.1", "2021.1"):
        path = QUESTIONNAIRE_DIR / f"{version}.yaml"
        questionnaires.publish(db, path.read_bytes(), str(path))
    round_ = rounds.create_round(db, 2021, "infosec-selfcheck", "2021.1")
    rounds.open_round(db, round_.id)
    return round_.id


def definition(db):
    from surveyapp.readmodels import definitions

    return definitions.get_definition(db, "infosec-selfcheck", "2021.1")


def complete_answers(questionnaire) -> dict[str, str]:
    """A valid staff submission: the first choice of every choice question."""
    return {f"q_{q.id}": q.choices[0].value
            for q in questionnaire.questions_for("staff") if q.choices}


def set_round_status(db, round_id: int, status: str) -> None:
    db["rounds"].update(round_id, {"status": status})


def token_in(page: bytes) -> str:
    """The token of the staff link shown once on a page."""
    return re.search(rb"/s/([A-Za-z0-9_-]{43})", page).group(1).decode()


def database_bytes(db) -> bytes:
    """Everything SQLite has written: the main file plus its write-ahead log."""
    path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
