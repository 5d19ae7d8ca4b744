import sqlite3

import pytest

from surveyapp import config, migrations, store


def test_every_connection_has_foreign_keys_and_wal(db):
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_are_idempotent(db):
    assert migrations.apply(db) == []


def test_transaction_rolls_back_on_error(db):
    with pytest.raises(RuntimeError), store.transaction(db):
        db.execute("INSERT INTO audit_log (at, action) VALUES ('x', 'test')")
        raise RuntimeError
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_audit_log_is_append_only(db):
    with store.transaction(db):
        db.execute("INSERT INTO audit_log (at, action) VALUES ('x', 'test')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM audit_log")


def test_secret_key_file_is_private(tmp_path):
    key = config.load_secret_key(tmp_path)
    assert len(key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config.load_secret_key(tmp_path) == key


def test_environment_overrides_typed_setting():
    overrides = config.env_overrides({"SURVEYAPP_ANONYMITY_MIN_RESPONSES": "7"})
    assert overrides == {"ANONYMITY_MIN_RESPONSES": 7}


def test_security_headers_on_every_response(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
