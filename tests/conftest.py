"""Fixtures mirror `create_app`'s inputs: an instance folder and a test config."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveyapp import create_app, migrations, store

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRES = ROOT / "questionnaires"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def app_config(instance_path: Path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def app(app_config: dict):
    app = create_app(app_config)
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    database.close()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    database = store.connect(app.config["DATABASE"])
    yield database
    database.close()
