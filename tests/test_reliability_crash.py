"""Server processes killed with SIGKILL in the middle of the load of tests/test_reliability.py
leave a sound database: it passes the integrity check, every write the clients were
told was accepted is there, nothing is half written, and the app serves it again.

SQLite in WAL mode commits by appending to the -wal file; a killed process leaves that
file behind and the next connection replays the committed transactions and drops the
unfinished one. These rules hold whatever moment the kill hits.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from surveyapp import store
from tests.serving import FAST_PASSWORD_HASHING, Browser, serve, start
from tests.test_reliability import (
    PASSWORD,
    SERVER_ENV,
    Outcomes,
    department_state,
    prepare_instance,
    run_load,
    staff_answer,
    staff_count,
)

pytestmark = pytest.mark.slow
# Kill once this much has been accepted: the load is then in full swing.
KILL_AFTER_STAFF = 40
KILL_AFTER_WRITES = 2


def wait_for_load(outcomes: Outcomes, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (outcomes.staff_accepted >= KILL_AFTER_STAFF
                and len(outcomes.accepted) >= KILL_AFTER_WRITES):
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """The instance right after a SIGKILL under load, and what the clients saw."""
    setup = prepare_instance(tmp_path_factory.mktemp("crash") / "instance")
    outcomes, stop = Outcomes(), threading.Event()
    server = start(setup.path, env=SERVER_ENV, prelude=FAST_PASSWORD_HASHING, processes=2)
    try:
        futures = run_load(server.url, setup, outcomes, stop)
        progressed = wait_for_load(outcomes)
        stop.set()  # from here on a dropped connection is what the test asked for
        server.kill()
    finally:
        server.stop()
    for future in futures:
        future.result(timeout=60)
    with outcomes.lock:
        seen = SimpleNamespace(accepted=list(outcomes.accepted),
                               staff_accepted=outcomes.staff_accepted,
                               failures=list(outcomes.failures))
    return SimpleNamespace(setup=setup, seen=seen, progressed=progressed,
                           killed_with=server.process.returncode)


@pytest.fixture
def db(crashed):
    database = store.connect(crashed.setup.path / "surveyapp.sqlite3")
    yield database
    database.close()


def test_the_server_was_killed_in_the_middle_of_the_load(crashed):
    assert crashed.progressed and crashed.killed_with == -9
    assert crashed.seen.staff_accepted < 200
    assert crashed.seen.failures == []  # no errors before the kill


def test_database_passes_the_integrity_and_foreign_key_checks(crashed, db):
    assert store.integrity_check(db) == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_every_accepted_staff_answer_survived(crashed, db):
    assert staff_count(db) >= crashed.seen.staff_accepted


def test_no_staff_response_is_stored_without_its_answer_and_history(db):
    incomplete = store.rows(db, """
        SELECT r.id FROM responses r WHERE r.audience = 'staff' AND (
            NOT EXISTS (SELECT 1 FROM answers a WHERE a.response_id = r.id)
            OR NOT EXISTS (SELECT 1 FROM answer_history h WHERE h.response_id = r.id))""")
    assert incomplete == []


def test_every_accepted_department_write_survived(crashed, db):
    state = department_state(db)
    written = {note for _version, note, kind in crashed.seen.accepted if kind != "submit"}
    assert written <= set(state["history_notes"])
    assert state["response"]["version"] >= max(v for v, _n, _k in crashed.seen.accepted)


def test_department_answers_versions_and_history_agree(db):
    """Each content write bumps the version once and adds one history row in the same
    transaction: no bump without its history, no history without its stored answer."""
    state = department_state(db)
    submitted = 1 if state["response"]["status"] == "submitted" else 0
    assert len(state["history_notes"]) == state["response"]["version"] - 1 - submitted
    assert state["answers"]["NOTE-01"] == state["history_notes"][-1]


def test_the_restarted_app_serves_the_data_and_takes_new_answers(crashed, db):
    before = staff_count(db)
    final_note = department_state(db)["answers"]["NOTE-01"]
    with serve(crashed.setup.path, env=SERVER_ENV, prelude=FAST_PASSWORD_HASHING) as server:
        browser = Browser(server.url)
        browser.login(crashed.setup.logins[0], PASSWORD)
        page = browser.get(crashed.setup.form_url)
        if page.status == 302:  # submitted before the kill: the read-only view
            page = browser.get(page.location.removeprefix(server.url))
        assert page.status == 200 and final_note in page.text
        outcomes = Outcomes()
        staff_answer(server.url, crashed.setup.token, outcomes, threading.Event())
        assert outcomes.failures == [] and outcomes.staff_accepted == 1
    assert staff_count(db) == before + 1
