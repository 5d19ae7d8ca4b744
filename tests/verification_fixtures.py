"""Fixtures of the verification tests: a copy of the hand-computed aggregation fixture
(tests/fixtures/aggregate) per test, its rounds, an admin and an auditor, and helpers
that sample and record verdicts through the services."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from surveyapp import migrations, store
from surveyapp.services import verification as service
from surveyapp.services import verification_sampling as sampling
from surveyapp.services.verification import VerdictInput
from tests.fixtures.aggregate import builder

MIN = 5
__all__ = ["admin", "agg_template", "app_config", "auditor", "round_id"]


@pytest.fixture(scope="session")
def agg_template(tmp_path_factory) -> tuple[Path, dict[int, int]]:
    path = tmp_path_factory.mktemp("verification") / "template.sqlite3"
    database = store.connect(path)
    migrations.apply(database)
    built = builder.build(database)
    database.close()
    return path, built


@pytest.fixture
def app_config(app_config, agg_template, tmp_path):
    copy = tmp_path / "verification.sqlite3"
    shutil.copyfile(agg_template[0], copy)
    return {**app_config, "DATABASE": str(copy)}


@pytest.fixture
def round_id(db, agg_template):
    return agg_template[1][2021]


@pytest.fixture
def auditor(make_user):
    return make_user("kansa", "auditor")["id"]


@pytest.fixture
def admin(make_user):
    return make_user("chief", "admin")["id"]


def add(db, round_id, code, user_id, note="抜き打ちで確認する"):
    sampling.add_department(db, round_id, code, note, user_id)


def verdict(db, round_id, code, question_id, kind, found=None, user_id=None, **kw):
    return service.record_verdict(db, round_id, code,
                                  VerdictInput(question_id, kind, found, **kw), user_id,
                                  anonymity_min=MIN)


def verified_u1(db, round_id, user_id):
    """U1 sampled: D-00 confirmed, D-01 found partial, D-02 unverifiable."""
    add(db, round_id, "U1", user_id)
    verdict(db, round_id, "U1", "D-00", "confirmed", user_id=user_id)
    verdict(db, round_id, "U1", "D-01", "discrepancy", "partial", user_id,
            note="アカウント棚卸しの記録が一部の月しかない", proof_location="ID管理台帳")
    verdict(db, round_id, "U1", "D-02", "unverifiable", user_id=user_id)
