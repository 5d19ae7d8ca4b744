"""Publishing versions: immutable, audit-logged, checked against earlier versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from surveyapp.questionnaires import DefinitionError
from surveyapp.readmodels import definitions
from surveyapp.refusals import Conflict, NotFound
from surveyapp.services import questionnaires as service
from surveyapp.store import audit as audit_store

DEFINITIONS = Path(__file__).parent / "fixtures" / "definitions"
VALID = DEFINITIONS / "valid"
FY2020 = (VALID / "2020.1.yaml").read_bytes()
FY2021 = (VALID / "2021.1.yaml").read_bytes()


def test_publish_stores_bytes_sha256_and_canonical_json(db):
    result = service.publish(db, FY2020, "2020.1.yaml", user_id=None)
    assert (result.status, result.questionnaire_id, result.version) == (
        "published", "demo-check", "2020.1")
    row = db.execute("SELECT * FROM questionnaire_versions").fetchone()
    columns = [c[0] for c in db.execute("SELECT * FROM questionnaire_versions").description]
    stored = dict(zip(columns, row, strict=True))
    assert bytes(stored["source"]) == FY2020
    assert stored["sha256"] == hashlib.sha256(FY2020).hexdigest()
    assert json.loads(stored["canonical_json"])["questionnaire"]["version"] == "2020.1"
    assert (stored["fiscal_year"], stored["title"]) == (2020, "令和2年度 テスト点検")


def test_publishing_identical_bytes_again_is_unchanged(db):
    service.publish(db, FY2020, "2020.1.yaml")
    again = service.publish(db, FY2020, "copy.yaml")
    assert again.status == "unchanged" and "unchanged" in again.message
    assert len(definitions.list_versions(db)) == 1


def test_different_bytes_under_a_published_version_are_refused(db):
    service.publish(db, FY2020, "2020.1.yaml")
    edited = FY2020.replace("テスト点検".encode(), "テスト点検（改）".encode())
    with pytest.raises(Conflict, match="公開済みの版は変更できません"):
        service.publish(db, edited, "2020.1.yaml")
    assert definitions.get_definition(db, "demo-check", "2020.1").title.ja == "令和2年度 テスト点検"


def test_publish_is_audit_logged(db):
    service.publish(db, FY2020, "2020.1.yaml", user_id=None)
    entry = audit_store.list_entries(db, action="questionnaire.publish")[0]
    assert entry["target_id"] == "demo-check/2020.1"
    assert json.loads(entry["detail"])["sha256"] == hashlib.sha256(FY2020).hexdigest()


def test_invalid_definition_is_not_stored(db):
    with pytest.raises(DefinitionError) as raised:
        service.publish(db, (DEFINITIONS / "duplicate_keys.yaml").read_bytes(), "dup.yaml")
    assert raised.value.problems[0].line == 36
    assert definitions.list_versions(db) == []


def test_next_version_is_checked_against_the_published_previous_version(db):
    service.publish(db, FY2020, "2020.1.yaml")
    result = service.publish(db, FY2021, "2021.1.yaml")
    assert result.status == "published"
    assert [w.line for w in result.warnings] == [39]


def test_upload_without_published_previous_version_is_refused(db):
    with pytest.raises(DefinitionError) as raised:
        service.publish(db, FY2021, "2021.1.yaml")
    assert "版 2020.1 が見つかりません" in raised.value.problems[0].message


def test_previous_version_may_come_from_the_files_folder(db):
    result = service.publish(db, FY2021, str(VALID / "2021.1.yaml"), folder=VALID)
    assert result.status == "published"


def test_type_change_against_published_previous_version_is_refused(db):
    service.publish(db, FY2020, "2020.1.yaml")
    with pytest.raises(DefinitionError, match="multi_choice → single_choice"):
        service.publish(db, (DEFINITIONS / "type_changed.yaml").read_bytes(), "t.yaml")


def test_get_definition_parses_stored_bytes_and_is_memoised(db, monkeypatch):
    service.publish(db, FY2020, "2020.1.yaml")
    first = definitions.get_definition(db, "demo-check", "2020.1")
    monkeypatch.setattr(definitions, "parse_stored", lambda *a: pytest.fail("parsed again"))
    assert definitions.get_definition(db, "demo-check", "2020.1") is first
    assert first.question("PWD-05").max_score == 4


def test_unknown_version_raises_version_not_found(db):
    with pytest.raises(NotFound, match="公開されていません"):
        definitions.get_definition(db, "demo-check", "1999.1")
    assert definitions.get_version_row(db, "demo-check", "1999.1") is None


def test_version_row_and_listing_leave_out_the_source(db):
    service.publish(db, FY2020, "2020.1.yaml")
    row = definitions.get_version_row(db, "demo-check", "2020.1")
    assert "source" not in row and row["sha256"] == hashlib.sha256(FY2020).hexdigest()
    assert "source" not in definitions.list_versions(db)[0]


def test_shipped_questionnaires_publish_in_order(db):
    shipped = Path(__file__).resolve().parent.parent / "questionnaires" / "infosec-selfcheck"
    for version in ("2020.1", "2021.1"):
        path = shipped / f"{version}.yaml"
        assert service.publish(db, path.read_bytes(), str(path)).status == "published"
    newer = definitions.get_definition(db, "infosec-selfcheck", "2021.1")
    assert newer.previous_version == "2020.1"
