"""services/attachments.py with a save: files stored once by sha256 under the instance,
kept when replaced, refused where they may not go, and nothing left on disk that the
database does not reference (DESIGN.md §13). Also the storage page's figures and the
backup of the attachments."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from surveyapp.cli import cli
from surveyapp.evidence import AnswerEvidence
from surveyapp.formats.attachments import check_attachment
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels import response_history as answer_history
from surveyapp.readmodels.attachment_storage import storage
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import attachments, backup, rounds
from surveyapp.services import responses as service
from surveyapp.store import responses as response_store
from tests.test_responses import publish_form

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OTHER_PDF = PDF + b"% a second document\n"


@pytest.fixture
def survey(db, make_user, instance_path):
    setup = publish_form(db)
    rounds.set_attachments(db, setup.round_id, True)
    setup.user = make_user("unit1", "department", "U1")
    setup.other_user = make_user("unit2", "department", "U2")
    setup.response_id = service.get_or_create_department_response(
        db, setup.round_id, "U1", setup.user["id"])["id"]
    setup.blobs = attachments.Blobs.of_instance(instance_path)
    return setup


def save(db, survey, files: dict, removed: dict | None = None, answers=None,
         version: int | None = None, response_id: int | None = None):
    """A draft save with `files` {question id: [(name, bytes)]} attached."""
    response_id = response_id or survey.response_id
    version = version if version is not None else response_store.get_response(
        db, response_id)["version"]
    accepted = {question_id: [check_attachment(name, data, 1024 * 1024)
                              for name, data in items] for question_id, items in files.items()}
    with attachments.staged(db, survey.blobs, accepted) as added:
        return service.save_draft(db, response_id, version, answers or {}, {},
                                  survey.user["id"],
                                  files=attachments.Changes(survey.blobs, added, removed or {}))


def disk(survey) -> set[str]:
    """Every file under the attachments folder, temporary ones included."""
    root = survey.blobs.root
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_attachment_is_stored_by_sha256_under_the_instance(db, survey):
    save(db, survey, {"PWD-05": [("確認記録.pdf", PDF)]})
    assert disk(survey) == {f"{sha(PDF)[:2]}/{sha(PDF)}"}
    assert survey.blobs.path(sha(PDF)).read_bytes() == PDF
    [file] = answer_reads.attachments_of(db, survey.response_id)["PWD-05"]
    assert (file.filename, file.size, file.media_type) == ("確認記録.pdf", len(PDF),
                                                          "application/pdf")


def test_the_same_content_on_two_answers_is_stored_once(db, survey):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)], "PWD-06": [("b.pdf", PDF)]})
    assert len(disk(survey)) == 1
    found = answer_reads.attachments_of(db, survey.response_id)
    assert {found["PWD-05"][0].sha256, found["PWD-06"][0].sha256} == {sha(PDF)}


def test_the_same_file_twice_on_one_answer_is_linked_once(db, survey):
    save(db, survey, {"PWD-05": [("a.pdf", PDF), ("a (2).pdf", PDF)]})
    assert len(answer_reads.attachments_of(db, survey.response_id)["PWD-05"]) == 1


def test_a_replaced_attachment_stays_in_the_history_and_downloadable(db, survey):
    save(db, survey, {"PWD-05": [("旧.pdf", PDF)]})
    [old] = answer_reads.attachments_of(db, survey.response_id)["PWD-05"]
    save(db, survey, {"PWD-05": [("新.pdf", OTHER_PDF)]}, removed={"PWD-05": [old.id]})
    [new] = answer_reads.attachments_of(db, survey.response_id)["PWD-05"]
    assert new.filename == "新.pdf" and survey.blobs.path(sha(PDF)).is_file()
    newest = answer_history.response_history(db, response_id=survey.response_id)[0]
    assert (newest["old_attachments"], newest["new_attachments"]) == (str(old.id), str(new.id))
    kept = answer_reads.download(db, old.id).attachment
    assert kept.removed_at is not None and kept.filename == "旧.pdf"


def test_an_answers_proof_names_the_current_attachments(db, survey):
    """What the audit verification shows of an answer: note, location, date, files."""
    save(db, survey, {"PWD-05": [("旧.pdf", PDF)]})
    [old] = answer_reads.attachments_of(db, survey.response_id)["PWD-05"]
    version = response_store.get_response(db, survey.response_id)["version"]
    service.save_draft(db, survey.response_id, version, {}, {"PWD-05": AnswerEvidence(
        "年1回点検", "情企第12号", "2021-06-30")}, survey.user["id"])
    save(db, survey, {"PWD-05": [("新.pdf", OTHER_PDF)]}, removed={"PWD-05": [old.id]})
    [(question_id, proof)] = answer_reads.proofs(db, survey.response_id).items()
    assert (question_id, proof.filenames) == ("PWD-05", ("新.pdf",))
    assert proof.text() == "年1回点検 / 保管場所: 情企第12号 / 日付: 2021-06-30 / 添付: 新.pdf"


def test_a_save_refused_for_its_version_leaves_no_file(db, survey):
    save(db, survey, {"PWD-06": [("a.pdf", PDF)]})
    with pytest.raises(Conflict):
        save(db, survey, {"PWD-05": [("b.pdf", OTHER_PDF)]}, version=1)
    assert disk(survey) == {f"{sha(PDF)[:2]}/{sha(PDF)}"}


def test_a_save_failing_after_the_file_is_in_place_removes_it(db, survey, monkeypatch):
    def fail(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(response_store, "insert_history_rows", fail)
    with pytest.raises(sqlite3.OperationalError):
        save(db, survey, {"PWD-05": [("a.pdf", PDF)]})
    assert disk(survey) == set()
    assert answer_reads.attachments_of(db, survey.response_id) == {}


def test_a_failing_save_keeps_a_file_another_answer_references(db, survey, monkeypatch):
    save(db, survey, {"PWD-06": [("a.pdf", PDF)]})
    monkeypatch.setattr(response_store, "insert_history_rows",
                        lambda *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("x")))
    with pytest.raises(sqlite3.OperationalError):
        save(db, survey, {"PWD-05": [("same.pdf", PDF)]})
    assert survey.blobs.path(sha(PDF)).read_bytes() == PDF


def test_attachments_are_refused_when_the_round_does_not_allow_them(db, survey):
    rounds.set_attachments(db, survey.round_id, False)
    with pytest.raises(Invalid) as refused:
        save(db, survey, {"PWD-05": [("a.pdf", PDF)]})
    assert "受け付けていません" in refused.value.errors["ea_PWD-05"]
    assert disk(survey) == set()


def test_uploads_for_a_round_that_does_not_allow_them_are_refused_when_checked():
    accepted, refused = attachments.check_uploads({"PWD-05": [("a.pdf", PDF)]}, 1024, False)
    assert accepted == {} and "受け付けていません" in refused["PWD-05"][0]


def test_attachments_are_refused_on_a_question_without_evidence(db, survey):
    with pytest.raises(Invalid) as refused:
        save(db, survey, {"SYS-00": [("a.pdf", PDF)]})
    assert "根拠を添付できません" in refused.value.errors["ea_SYS-00"]


def test_an_answer_holds_at_most_ten_attachments(db, survey):
    files = [(f"{n}.pdf", PDF + str(n).encode()) for n in range(attachments.MAX_PER_ANSWER)]
    save(db, survey, {"PWD-05": files})
    with pytest.raises(Invalid) as refused:
        save(db, survey, {"PWD-05": [("11.pdf", PDF + b"11")]})
    assert "10件まで" in refused.value.errors["ea_PWD-05"]


def test_another_answers_attachment_cannot_be_removed_through_this_one(db, survey):
    save(db, survey, {"PWD-06": [("keep.pdf", PDF)]})
    [kept] = answer_reads.attachments_of(db, survey.response_id)["PWD-06"]
    other = service.get_or_create_department_response(db, survey.round_id, "U2",
                                                      survey.other_user["id"])
    save(db, survey, {}, removed={"PWD-05": [kept.id]}, response_id=other["id"])
    save(db, survey, {}, removed={"PWD-05": [kept.id]})
    assert answer_reads.attachments_of(db, survey.response_id)["PWD-06"] == [kept]


def test_attachment_links_are_never_deleted_nor_rewritten(db, survey):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)]})
    for sql in ("DELETE FROM answer_attachments",
                "UPDATE answer_attachments SET filename = 'x.pdf'",
                "UPDATE answer_attachments SET sha256 = 'x'"):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(sql)


def test_attachments_are_saved_with_the_answers_in_one_version(db, survey):
    result = save(db, survey, {"PWD-05": [("a.pdf", PDF)]}, answers={"SYS-00": "yes"})
    assert result.version == 2 and set(result.changed) == {"SYS-00", "PWD-05"}
    history = answer_history.response_history(db, response_id=survey.response_id)
    assert {row["question_id"] for row in history} == {"SYS-00", "PWD-05"}


def test_stale_temporary_files_are_removed_by_the_next_upload(db, survey):
    survey.blobs.tmp.mkdir(parents=True)
    leftover = survey.blobs.tmp / "crashed.part"
    leftover.write_bytes(b"half")
    old = time.time() - 2 * 24 * 3600
    os.utime(leftover, (old, old))
    save(db, survey, {"PWD-05": [("a.pdf", PDF)]})
    assert not leftover.exists()


def test_the_storage_summary_counts_each_content_once_and_checks_the_disk(db, survey):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)], "PWD-06": [("b.pdf", PDF), ("c.pdf",
                                                                              OTHER_PDF)]})
    (survey.blobs.root / "ab").mkdir()
    (survey.blobs.root / "ab" / ("ab" + "0" * 62)).write_bytes(b"stray")
    survey.blobs.path(sha(OTHER_PDF)).unlink()
    found = storage(db, survey.blobs)
    assert (found.files, found.bytes, found.links) == (2, len(PDF) + len(OTHER_PDF), 3)
    assert found.saved_bytes == len(PDF)
    assert found.missing == (sha(OTHER_PDF),) and found.unreferenced == ("ab" + "0" * 62,)
    [this_round] = [r for r in found.rounds if r.round_id == survey.round_id]
    assert (this_round.links, this_round.files, this_round.attachments_allowed) == (3, 2, True)


def test_backup_copies_the_referenced_attachments(db, survey, tmp_path, app):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)], "PWD-06": [("b.pdf", OTHER_PDF)]})
    target = tmp_path / "backups" / "copy.sqlite3"
    backup.backup_database(app.config["DATABASE"], target)
    copied = backup.backup_attachments(target, survey.blobs)
    assert (copied.files, copied.bytes) == (2, len(PDF) + len(OTHER_PDF))
    folder = tmp_path / "backups" / "copy.sqlite3.attachments"
    assert (folder / sha(PDF)[:2] / sha(PDF)).read_bytes() == PDF
    assert sorted(path.name for path in (tmp_path / "backups").iterdir()) == [
        "copy.sqlite3", "copy.sqlite3.attachments"]


def test_the_backup_command_copies_the_attachments_and_says_how_many(
        db, survey, tmp_path, instance_path, monkeypatch):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)], "PWD-06": [("b.pdf", PDF)]})
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    target = tmp_path / "copy.sqlite3"
    result = CliRunner().invoke(cli, ["--instance", str(instance_path), "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"attachments copied: 1 files ({len(PDF)} bytes)" in result.output
    assert (tmp_path / "copy.sqlite3.attachments" / sha(PDF)[:2] / sha(PDF)).read_bytes() == PDF


def test_backup_reports_an_attachment_that_is_missing_or_changed(db, survey, tmp_path, app):
    save(db, survey, {"PWD-05": [("a.pdf", PDF)], "PWD-06": [("b.pdf", OTHER_PDF)]})
    survey.blobs.path(sha(PDF)).write_bytes(b"tampered")
    target = tmp_path / "copy.sqlite3"
    backup.backup_database(app.config["DATABASE"], target)
    with pytest.raises(Refusal, match="1 件が見つからないか内容が変わっていた"):
        backup.backup_attachments(target, survey.blobs)
    assert (tmp_path / "copy.sqlite3.attachments" / sha(OTHER_PDF)[:2]
            / sha(OTHER_PDF)).is_file()


def test_a_path_outside_the_store_is_never_built():
    blobs = attachments.Blobs(Path("/srv/instance/attachments"))
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            blobs.path(bad)
