"""`surveyapp backup FILE` and the restore procedure of docs/operations.md.

A backup is a single file that opens, passes the integrity check and holds the data
as it was, even when taken while the server keeps writing. Restoring is: stop the
server, copy the backup over `instance/surveyapp.sqlite3`, delete the `-wal` and
`-shm` files beside it, start again; the app then serves the backed-up data.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404: runs our own CLI
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from surveyapp import create_app, store
from surveyapp.cli import cli
from surveyapp.services import accounts
from surveyapp.services import responses as service
from tests.serving import CLI_CODE, FAST_PASSWORD_HASHING, fast_hasher, serve
from tests.test_reliability import (
    PASSWORD,
    SERVER_ENV,
    Outcomes,
    prepare_instance,
    staff_answer,
    staff_count,
)
from tests.test_responses import publish_form

STREAMS = 2
BACKUPS = 2


@pytest.fixture
def backup(instance_path, monkeypatch):
    """backup(target) -> the CLI result of `surveyapp --instance <instance> backup`."""
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))  # restored afterwards

    def run(target: Path):
        return CliRunner().invoke(cli, ["--instance", str(instance_path), "backup",
                                        str(target)])
    return run


@pytest.fixture
def draft(db, make_user):
    """A department draft whose note says what it was when the backup was taken."""
    survey = publish_form(db)
    user = make_user("unit1", "department", "U1")
    make_user("admin1", "admin")
    response = service.get_or_create_department_response(db, survey.round_id, "U1",
                                                         user["id"])
    service.save_draft(db, response["id"], 1, {"NOTE-01": "バックアップ前の記入"}, {},
                       user["id"])
    survey.response_id, survey.user_id = response["id"], user["id"]
    return survey


def note_of(db, response_id: int) -> str | None:
    return service.load_answers(db, response_id)[0].get("NOTE-01")


def test_backup_opens_passes_the_integrity_check_and_holds_the_data(backup, draft,
                                                                     tmp_path):
    result = backup(tmp_path / "copy.sqlite3")
    assert result.exit_code == 0, result.output
    copy = store.connect(tmp_path / "copy.sqlite3")
    try:
        assert store.integrity_check(copy) == "ok"
        assert note_of(copy, draft.response_id) == "バックアップ前の記入"
    finally:
        copy.close()


def test_backup_is_one_self_contained_file(backup, draft, tmp_path):
    backup(tmp_path / "copy.sqlite3")
    assert sorted(path.name for path in tmp_path.iterdir()
                  if path.name.startswith("copy")) == ["copy.sqlite3"]
    header = (tmp_path / "copy.sqlite3").read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # rollback journal, not WAL: no -wal needed


def test_backup_refuses_to_overwrite_a_file(backup, draft, tmp_path):
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"an older backup")
    result = backup(target)
    assert result.exit_code != 0 and "既に存在します" in result.output
    assert target.read_bytes() == b"an older backup"


def test_backup_of_a_missing_database_fails_and_creates_nothing(tmp_path, monkeypatch):
    instance = tmp_path / "mistyped-instance"
    instance.mkdir()
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance))
    result = CliRunner().invoke(cli, ["--instance", str(instance), "backup",
                                      str(tmp_path / "copy.sqlite3")])
    assert result.exit_code != 0 and "データベース" in result.output
    assert not (tmp_path / "copy.sqlite3").exists()
    assert not (instance / "surveyapp.sqlite3").exists()


def restore(backup_file: Path, instance: Path) -> None:
    """The documented procedure, with the server stopped."""
    database = instance / "surveyapp.sqlite3"
    shutil.copyfile(backup_file, database)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def test_restored_backup_is_served_as_it_was_backed_up(backup, draft, db, app_config,
                                                       instance_path, tmp_path, login_as):
    backup(tmp_path / "copy.sqlite3")
    service.save_draft(db, draft.response_id, 2, {"NOTE-01": "バックアップ後の記入"}, {},
                       draft.user_id)
    db.close()
    restore(tmp_path / "copy.sqlite3", instance_path)
    client = create_app(app_config).test_client()
    login_as(client, "admin1")
    page = client.get(f"/responses/{draft.response_id}").get_data(as_text=True)
    assert "バックアップ前の記入" in page and "バックアップ後の記入" not in page


# --- online: backups taken while the real server takes writes -------------------------


def start_cli_backup(instance: Path, target: Path) -> subprocess.Popen:
    """`surveyapp backup` as an operator runs it: its own process, beside the server."""
    command = [sys.executable, "-c", CLI_CODE, "--instance", str(instance), "backup",
               str(target)]
    return subprocess.Popen(command, stdout=subprocess.PIPE,  # nosec B603
                            stderr=subprocess.STDOUT, text=True)


def steady_staff_answers(url: str, token: str, outcomes: Outcomes,
                         until: threading.Event) -> None:
    while not until.is_set():
        staff_answer(url, token, outcomes, threading.Event())


@pytest.fixture(scope="module")
def online_backups(tmp_path_factory):
    """Two backups taken at once while staff answers stream into the real server."""
    folder = tmp_path_factory.mktemp("online")
    setup = prepare_instance(folder / "instance")
    outcomes, done = Outcomes(), threading.Event()
    with serve(setup.path, env=SERVER_ENV, prelude=FAST_PASSWORD_HASHING) as server:
        streams = [threading.Thread(target=steady_staff_answers,
                                    args=(server.url, setup.token, outcomes, done))
                   for _ in range(STREAMS)]
        for stream in streams:
            stream.start()
        processes: list[subprocess.Popen] = []
        try:  # streams and backups stop whatever happens, or the session would never end
            deadline = time.monotonic() + 60
            while outcomes.staff_accepted < 10 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the streams are flowing
            before = outcomes.staff_accepted
            processes = [start_cli_backup(setup.path, folder / f"backup-{number}.sqlite3")
                         for number in range(BACKUPS)]
            results = [(process.communicate(timeout=60)[0], process.returncode)
                       for process in processes]
            during = outcomes.staff_accepted - before
        finally:
            done.set()
            for stream in streams:
                stream.join(60)
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return SimpleNamespace(setup=setup, folder=folder, results=results,
                           outcomes=outcomes, written_during=during)


@pytest.mark.slow
def test_backups_taken_while_answers_arrive_succeed(online_backups):
    assert [code for _output, code in online_backups.results] == [0] * BACKUPS, \
        online_backups.results
    assert online_backups.written_during > 0  # the server took writes meanwhile
    assert online_backups.outcomes.failures == []


@pytest.mark.slow
@pytest.mark.parametrize("number", range(BACKUPS))
def test_backup_under_load_is_sound_and_consistent(online_backups, number):
    copy = store.connect(online_backups.folder / f"backup-{number}.sqlite3")
    try:
        assert store.integrity_check(copy) == "ok"
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        half_written = store.rows(copy, "SELECT id FROM responses r WHERE NOT EXISTS "
                                  "(SELECT 1 FROM answers a WHERE a.response_id = r.id) "
                                  "AND r.audience = 'staff'")
        assert half_written == []
        assert 10 <= staff_count(copy) <= online_backups.outcomes.staff_accepted
    finally:
        copy.close()


@pytest.mark.slow
def test_backup_taken_under_load_restores_and_is_served(online_backups, tmp_path):
    setup = online_backups.setup
    instance = tmp_path / "restored"
    shutil.copytree(setup.path, instance, ignore=shutil.ignore_patterns("surveyapp.sqlite3*"))
    restore(online_backups.folder / "backup-0.sqlite3", instance)
    copy = store.connect(instance / "surveyapp.sqlite3")
    expected_staff = staff_count(copy)
    copy.close()
    client = create_app({"INSTANCE_PATH": str(instance), "TESTING": True,
                         "WTF_CSRF_ENABLED": False}).test_client()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hasher", fast_hasher())
        login = client.post("/login", data={"login": "admin", "password": PASSWORD})
    assert login.status_code == 302
    page = client.get(f"/staff/{setup.round_id}/U1").get_data(as_text=True)
    assert f"回答数</dt><dd>{expected_staff}</dd>" in page
