"""A database written by the previous release migrates forward with `surveyapp init`:
every migration ends up applied, nothing stored before is lost, and the app serves it.

`tests/fixtures/upgrade/v0_1.sqlite3` was built by release 0.1's migrations (see
make_fixture.py there). Each migration added later is pending on it, so this test runs
every future migration against real old data without being edited.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from surveyapp import create_app, migrations, store
from surveyapp.cli import cli
from surveyapp.evidence import AnswerEvidence
from surveyapp.readmodels import response_history as answer_history
from surveyapp.services import accounts
from surveyapp.services import responses as service
from tests.fixtures.upgrade import make_fixture

FIXTURE = Path(make_fixture.__file__).resolve().parent / "v0_1.sqlite3"
RELEASE_0_1_MIGRATIONS = [
    "0001_questionnaire_versions", "0002_departments", "0003_users", "0004_rounds",
    "0005_responses_answers", "0006_history_and_audit", "0007_staff_access",
    "0008_departments_successor_index", "0009_followups"]


@pytest.fixture
def upgraded(tmp_path, monkeypatch):
    """A fresh instance holding a copy of the 0.1 database, after `surveyapp init`."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(FIXTURE, instance / "surveyapp.sqlite3")
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance))  # restored after the test
    result = CliRunner().invoke(cli, ["--instance", str(instance), "init"])
    assert result.exit_code == 0, result.output
    database = store.connect(instance / "surveyapp.sqlite3")
    yield database
    database.close()


def applied_names(database) -> list[str]:
    return [row["name"] for row in database.query(
        "SELECT name FROM _sqlite_migrations ORDER BY applied_at, name")]


def test_the_fixture_is_the_0_1_schema():
    database = store.connect(FIXTURE)
    try:
        assert applied_names(database) == RELEASE_0_1_MIGRATIONS
    finally:
        database.close()


def test_every_migration_is_applied_after_init(upgraded):
    assert migrations.migrations.pending(upgraded) == []
    every = [m.name for m in migrations.migrations.pending(sqlite_utils.Database(memory=True))]
    assert sorted(applied_names(upgraded)) == sorted(every)
    assert len(every) >= len(RELEASE_0_1_MIGRATIONS)


def test_upgraded_database_passes_the_integrity_and_foreign_key_checks(upgraded):
    assert store.integrity_check(upgraded) == "ok"
    assert list(upgraded.execute("PRAGMA foreign_key_check").fetchall()) == []


def test_department_answers_and_evidence_survive(upgraded):
    answers, evidence = service.load_answers(upgraded, 1)
    assert answers == make_fixture.DEPARTMENT_ANSWERS
    # A note of release 0.1 is the note of its evidence; location and date are new (§13).
    assert evidence == {question_id: AnswerEvidence(note=note)
                        for question_id, note in make_fixture.DEPARTMENT_EVIDENCE.items()}


def test_old_answers_carry_no_evidence_location_date_or_marks(upgraded):
    rows = list(upgraded.query("SELECT evidence_location, evidence_date, copied, reconfirmed "
                               "FROM answers"))
    assert rows and {tuple(row.values()) for row in rows} == {(None, None, 0, 0)}
    assert list(upgraded.query("SELECT attachments_allowed FROM rounds")) == [
        {"attachments_allowed": 0}] * upgraded["rounds"].count


def test_submission_state_and_history_survive(upgraded):
    response = service.get_response(upgraded, 1)
    assert response["status"] == "submitted" and response["submitted_at"]
    changed = {row["question_id"] for row in answer_history.response_history(upgraded, 1)}
    assert changed == set(make_fixture.DEPARTMENT_ANSWERS)


def test_staff_answers_survive_without_identity(upgraded):
    rows = upgraded.query("SELECT r.updated_by, a.value FROM responses r JOIN answers a "
                          "ON a.response_id = r.id WHERE r.audience = 'staff'")
    rows = list(rows)
    assert sorted(row["value"] for row in rows) == sorted(make_fixture.STAFF_ANSWERS)
    assert {row["updated_by"] for row in rows} == {None}


def test_old_password_hashes_still_log_in(upgraded):
    assert accounts.authenticate(upgraded, "unit0101", make_fixture.PASSWORD) is not None


def test_the_app_serves_the_upgraded_data(upgraded, tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"login": "admin",
                                           "password": make_fixture.PASSWORD})
    assert response.status_code == 302
    page = client.get("/responses/1")
    assert page.status_code == 200
    assert "令和3年度の点検メモ" in page.get_data(as_text=True)


def test_init_twice_applies_nothing_more(upgraded, tmp_path):
    result = CliRunner().invoke(cli, ["--instance", str(tmp_path / "instance"), "init"])
    assert result.exit_code == 0 and "migrations applied: 0" in result.output
