"""A read-only, full, failing or locked database gives a clear Japanese 503 page that
keeps what the user typed, never a traceback, and leaves the stored data as it was.

The faults are real SQLite conditions, not fakes: the web layer's connection is opened
with `?mode=ro` (what SQLite does for a file it may not write; chmod alone would not
stop root, who runs CI), limited with `PRAGMA max_page_count` (SQLITE_FULL), or kept
waiting behind another connection's write lock past a shortened busy timeout. Only a
disk I/O error, which SQLite cannot be made to raise on demand, comes from a stand-in
(`disk_error`).
"""

from __future__ import annotations

import re
import sqlite3
from html import unescape

import pytest
import sqlite_utils

from surveyapp import store
from surveyapp.readmodels import response_history as answer_history
from surveyapp.readmodels import rounds as round_reads
from surveyapp.services import responses as service
from surveyapp.services import staff
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store
from surveyapp.web import db as web_db
from tests.serving import hidden_value
from tests.test_responses import publish_form
from tests.test_staff_web import checked

TYPED = "入力中の大切なメモ"


@pytest.fixture
def setup(db, make_user, client, login_as):
    survey = publish_form(db)
    survey.user = make_user("unit1", "department", "U1")
    survey.admin = make_user("admin1", "admin")
    survey.url = f"/rounds/{survey.round_id}/self-check/U1"
    survey.token = staff.issue_link(db, survey.round_id, "U1", survey.admin["id"])
    login_as(client, "unit1")
    assert client.get(survey.url).status_code == 200  # creates the draft (version 1)
    return survey


def disk_error(code: int):
    """A stand-in for a store function that meets a disk I/O error (SQLite raises
    these only on real hardware faults)."""
    def fail(*_args, **_kwargs):
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = code
        raise error
    return fail


def open_read_only(path) -> sqlite_utils.Database:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)
    return sqlite_utils.Database(conn)


@pytest.fixture
def read_only(monkeypatch):
    monkeypatch.setattr(store, "connect", open_read_only)
    web_db.close_idle()  # the next request opens its connection the new way


@pytest.fixture
def disk_full(monkeypatch):
    """No page may be added to the file: the next growing write fails with SQLITE_FULL."""
    original = store.connect

    def connect_full(path):
        database = original(path)
        pages = database.execute("PRAGMA page_count").fetchone()[0]
        database.execute(f"PRAGMA max_page_count = {pages}")
        return database
    monkeypatch.setattr(store, "connect", connect_full)
    web_db.close_idle()


def save(client, setup, note=TYPED, action="draft"):
    # A long note needs new pages, so a full disk is reached for certain.
    return client.post(setup.url, data={"version": "1", "action": action,
                                        "q_SYS-00": "yes", "q_NOTE-01": note * 200})


def stored_note(db) -> str | None:
    return service.load_answers(db, 1)[0].get("NOTE-01")


def test_read_only_database_rerenders_the_form_with_the_input_and_a_message(
        client, setup, read_only):
    response = save(client, setup)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "データベースが読み取り専用になっているため、保存できませんでした" in html
    assert TYPED in html and 'name="q_NOTE-01"' in html
    assert "Traceback" not in html


def test_full_disk_rerenders_the_form_with_the_input_and_a_message(client, setup,
                                                                   disk_full):
    response = save(client, setup)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "ディスクの空きがないため" in html
    assert TYPED in html and 'name="q_NOTE-01"' in html


def test_failed_save_leaves_the_stored_response_unchanged(client, db, setup, disk_full):
    save(client, setup)
    assert stored_note(db) is None
    assert response_store.get_response(db, 1)["version"] == 1
    assert answer_history.response_history(db, response_id=1) == []


def test_failed_submission_keeps_the_input_and_the_response_open(client, db, setup,
                                                                 disk_full):
    response = client.post(setup.url + "/confirm", data={
        "version": "1", "q_SYS-00": "no", "q_NOTE-01": TYPED * 200})
    assert response.status_code == 503
    assert TYPED in response.get_data(as_text=True)
    assert response_store.get_response(db, 1)["status"] == "draft"


def test_autosave_on_a_read_only_database_answers_json_503(client, setup, read_only):
    response = client.post(setup.url + "/autosave", data={"version": "1", "q_NOTE-01": TYPED},
                           headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert "読み取り専用" in response.get_json()["error"]


def test_staff_answer_on_a_read_only_database_comes_back_checked_with_a_message(
        app, setup, read_only):
    response = app.test_client().post(f"/s/{setup.token}", data={"q_ST-01": "yes"})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "読み取り専用" in html
    assert checked(html, "q_ST-01") == ["yes"]


def test_disk_io_error_is_a_503_with_a_clear_message(client, setup, monkeypatch):
    monkeypatch.setattr(response_store, "upsert_answers",
                        disk_error(sqlite3.SQLITE_IOERR_WRITE))
    response = save(client, setup)
    assert response.status_code == 503
    assert "ディスクの読み書きで問題が起きた" in response.get_data(as_text=True)


def test_database_locked_past_the_busy_timeout_is_a_503(client, setup, app, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.2)
    web_db.close_idle()  # connections take their busy timeout when opened
    holder = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = save(client, setup)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert "サーバーが混み合っているため" in response.get_data(as_text=True)


def test_other_pages_fall_back_to_the_503_page_with_the_posted_text(app, setup,
                                                                   read_only):
    # A failed login is recorded (a write), so it meets the read-only database.
    response = app.test_client().post("/login", data={"login": "admin1", "password": TYPED})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "読み取り専用" in html and "admin1" in html
    assert TYPED not in html  # passwords are never echoed


def test_api_callers_get_json_for_a_storage_failure(client, setup, monkeypatch):
    monkeypatch.setattr(round_reads, "list_rounds", disk_error(sqlite3.SQLITE_IOERR_READ))
    response = client.get("/api/v1/rounds")
    assert response.status_code == 503
    assert "ディスク" in response.get_json()["error"]


def test_a_wrong_statement_stays_a_500_not_a_storage_message(client, setup, monkeypatch):
    def broken(db, *_args, **_kwargs):
        return store.rows(db, "SELECT no_such_column FROM responses")
    monkeypatch.setattr(response_store, "list_answers", broken)
    response = save(client, setup)
    assert response.status_code == 500
    assert "ただいま処理できません" not in response.get_data(as_text=True)


def test_failure_while_reading_the_logged_in_user_still_gets_the_503_page(client, setup,
                                                                          monkeypatch):
    monkeypatch.setattr(user_store, "get_user", disk_error(sqlite3.SQLITE_IOERR_READ))
    response = client.get(setup.url)
    assert response.status_code == 503
    assert "ディスクの読み書きで問題が起きたため、ページを表示できませんでした" in \
        response.get_data(as_text=True)


def test_the_form_shown_after_a_full_disk_saves_once_there_is_room(client, db, setup,
                                                                   monkeypatch, disk_full):
    page = save(client, setup).get_data(as_text=True)
    monkeypatch.undo()  # space freed
    web_db.close_idle()  # (the limit was a setting of the connections opened meanwhile)
    again = client.post(setup.url, data={"version": hidden_value(page, "version"),
                                         "action": "draft", "q_SYS-00": "yes",
                                         "q_NOTE-01": hidden_text(page)})
    assert again.status_code == 302
    assert stored_note(db) == TYPED * 200


def hidden_text(page: str) -> str:
    """The note as the re-rendered form holds it."""
    found = re.search(r'<textarea[^>]*name="q_NOTE-01"[^>]*>\s*(.*?)</textarea>', page, re.S)
    return unescape(found.group(1))
