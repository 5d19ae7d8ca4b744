"""Concurrency through the real server (two processes): 20 people of one 所属 autosave,
save and submit the same self-check while 200 staff answers arrive.

Rules checked: no 5xx and no failed connection; no accepted write is lost (every
version the response went through was reported to exactly one client as a success);
the stored answers equal the last accepted write; the history holds every accepted
change and nothing else; every staff answer that was accepted is stored.

"Accepted" means the server reported success: autosave 200 with the new version, a
draft save 302, a confirmed submission 302. Version conflicts (409) and the locked
response after the submission are expected outcomes, not errors.
"""

from __future__ import annotations

import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest

from surveyapp import migrations, store
from surveyapp.services import accounts, questionnaires, rounds, staff
from surveyapp.services import responses as service
from surveyapp.store import departments as department_store
from tests.conftest import department_row
from tests.serving import (
    FAST_PASSWORD_HASHING,
    Browser,
    csrf_token,
    fast_hasher,
    hidden_value,
    serve,
)

FORM = Path(__file__).resolve().parent / "fixtures" / "forms" / "selfcheck.yaml"
PASSWORD = "reliability-test-password"  # nosec B105: a throwaway test account
EDITORS = 20
STAFF_ANSWERS = 200
WRITES_PER_EDITOR = 6
# One staff link takes every answer here; the per-link limit is not what is tested.
SERVER_ENV = {"SURVEYAPP_STAFF_RATE_LIMIT": "100000 per minute",
              "SURVEYAPP_LOGIN_RATE_LIMIT_PER_ADDRESS": "1000 per minute"}


# --- the instance ------------------------------------------------------------------


def prepare_instance(instance: Path) -> SimpleNamespace:
    """A round open on the small test form, 20 users of 所属 U1 and a staff link."""
    instance.mkdir(parents=True, exist_ok=True)
    db = store.connect(instance / "surveyapp.sqlite3")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hasher", fast_hasher())
        migrations.apply(db)
        with store.transaction(db):
            department_store.upsert_departments(db, [department_row("BU", None),
                                                     department_row("U1", "BU")])
        admin = accounts.create_user(db, "admin", "admin", PASSWORD, None)
        logins = [f"editor{number:02d}" for number in range(EDITORS)]
        for login in logins:
            accounts.create_user(db, login, "department", PASSWORD, "U1")
        questionnaires.publish(db, FORM.read_bytes(), str(FORM))
        round_id = rounds.create_round(db, 2021, "form-test", "1").id
        rounds.open_round(db, round_id)
        token = staff.issue_link(db, round_id, "U1", admin)
    db.close()
    return SimpleNamespace(path=instance, logins=logins, round_id=round_id, token=token,
                           form_url=f"/rounds/{round_id}/self-check/U1")


# --- what the clients saw ----------------------------------------------------------


@dataclass
class Outcomes:
    """Every answer the clients got, collected from many threads."""

    accepted: list[tuple[int, str, str]] = field(default_factory=list)  # version, note, kind
    staff_accepted: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, version: int, note: str, kind: str) -> None:
        with self.lock:
            self.accepted.append((version, note, kind))

    def staff_stored(self) -> None:
        with self.lock:
            self.staff_accepted += 1

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text)


class Editor:
    """One department user working on the form: autosaves, draft saves, a submission."""

    def __init__(self, url: str, setup: SimpleNamespace, login: str, outcomes: Outcomes,
                 stop: threading.Event) -> None:
        self.browser = Browser(url)
        self.setup, self.login, self.outcomes, self.stop = setup, login, outcomes, stop
        self.version = 0
        self.token = ""
        self.locked = False

    def run(self) -> None:
        self.browser.login(self.login, PASSWORD)
        for step in range(WRITES_PER_EDITOR):
            if self.locked or self.stop.is_set() or not self.reload():
                return
            note = f"{self.login}-{step}"
            if step % 3 == 2:
                self.save_draft(note)
            else:
                self.autosave(note)
        if not self.locked and not self.stop.is_set() and self.reload():
            self.submit(f"{self.login}-submit")

    def reload(self) -> bool:
        page = self.browser.get(self.setup.form_url)
        if page.status == 302:  # submitted by someone: the form now shows the result
            self.locked = True
            return False
        self.expect(page.status == 200, "form page", page)
        self.version = int(hidden_value(page.text, "version"))
        self.token = csrf_token(page.text)
        return True

    def fields(self, note: str) -> dict:
        # Every write carries a note nobody else writes, so the stored state and the
        # history name the write they came from.
        return {"csrf_token": self.token, "version": str(self.version), "q_SYS-00": "no",
                "q_PWD-06": random.choice(["done", "partial", "none"]),  # nosec B311
                "q_NOTE-01": note}

    def autosave(self, note: str) -> None:
        reply = self.browser.post(self.setup.form_url + "/autosave", self.fields(note), {
            "X-CSRFToken": self.token, "Accept": "application/json"})
        if reply.status == 200:
            self.outcomes.accept(reply.json()["version"], note, "autosave")
        else:
            self.expect_refusal(reply)

    def save_draft(self, note: str) -> None:
        reply = self.browser.post(self.setup.form_url, {**self.fields(note), "action": "draft"})
        if reply.status == 302:
            self.outcomes.accept(self.version + 1, note, "draft")
        else:
            self.expect_refusal(reply)

    def submit(self, note: str) -> None:
        reply = self.browser.post(self.setup.form_url, {**self.fields(note), "action": "submit"})
        if reply.status != 200:
            return self.expect_refusal(reply)
        self.outcomes.accept(self.version + 1, note, "draft")  # saved, then asked to confirm
        confirm = self.browser.post(self.setup.form_url + "/confirm", confirm_fields(reply.text))
        if confirm.status == 302:
            self.outcomes.accept(self.version + 2, note, "submit")
        else:
            self.expect_refusal(confirm)

    def expect_refusal(self, reply) -> None:
        """A conflict or the locked response: expected; anything else is a failure."""
        self.expect(reply.status == 409, "refusal", reply)
        if reply.headers.get_content_type() == "application/json":
            self.locked = reply.json().get("code") == "locked"
        else:
            self.locked = "提出済み" in reply.text

    def expect(self, condition: bool, what: str, reply) -> None:
        if not condition:
            self.outcomes.fail(f"{self.login} {what}: {reply.status} {reply.text[:300]}")


def confirm_fields(html: str) -> list[tuple[str, str]]:
    """The hidden fields of the confirmation form, as the browser would post them."""
    form = html[html.index('/confirm"'):]
    return [(name, unescape(value)) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)]


def staff_answer(url: str, token: str, outcomes: Outcomes, stop: threading.Event) -> None:
    if stop.is_set():
        return
    browser = Browser(url)
    page = browser.get(f"/s/{token}")
    if page.status != 200:
        return outcomes.fail(f"staff form: {page.status}")
    choice = random.choice(["yes", "no"])  # nosec B311
    reply = browser.post(f"/s/{token}", {"csrf_token": csrf_token(page.text),
                                         "q_ST-01": choice})
    if reply.status == 303:
        outcomes.staff_stored()
    else:
        outcomes.fail(f"staff answer: {reply.status} {reply.text[:300]}")


def guarded(task, outcomes: Outcomes, stop: threading.Event):
    """Run one client; a dropped connection is a failure unless the test stopped it."""
    def run(*args):
        try:
            task(*args)
        except OSError as error:
            if not stop.is_set():
                outcomes.fail(f"connection: {error!r}")
    return run


def run_load(url: str, setup: SimpleNamespace, outcomes: Outcomes,
             stop: threading.Event) -> list:
    """Start every editor and staff member at once; returns their futures."""
    pool = ThreadPoolExecutor(max_workers=EDITORS + 20)
    editors = [pool.submit(guarded(lambda login: Editor(url, setup, login, outcomes, stop)
                                   .run(), outcomes, stop), login)
               for login in setup.logins]
    answers = [pool.submit(guarded(staff_answer, outcomes, stop), url, setup.token,
                           outcomes, stop) for _ in range(STAFF_ANSWERS)]
    pool.shutdown(wait=False)
    return editors + answers


# --- reading the result back -----------------------------------------------------------


def department_state(db) -> dict:
    response = store.one(db, "SELECT * FROM responses WHERE audience = 'department'")
    answers, _evidence = service.load_answers(db, response["id"])
    notes = [row["new_value"] for row in db.query(
        "SELECT new_value FROM answer_history WHERE response_id = ? AND question_id = "
        "'NOTE-01' ORDER BY id", [response["id"]])]
    return {"response": response, "answers": answers, "history_notes": notes}


def staff_count(db) -> int:
    return db.execute("SELECT count(*) FROM responses WHERE audience = 'staff'").fetchone()[0]


@pytest.fixture(scope="module")
def finished_load(tmp_path_factory):
    """One full run of the load against a real server, shared by this module's rules."""
    setup = prepare_instance(tmp_path_factory.mktemp("load") / "instance")
    outcomes, stop = Outcomes(), threading.Event()
    with serve(setup.path, env=SERVER_ENV, prelude=FAST_PASSWORD_HASHING,
               processes=2) as server:
        for future in run_load(server.url, setup, outcomes, stop):
            future.result(timeout=120)
        log = server.log_text()
    db = store.connect(setup.path / "surveyapp.sqlite3")
    yield SimpleNamespace(outcomes=outcomes, state=department_state(db),
                          staff=staff_count(db), log=log)
    db.close()


pytestmark = pytest.mark.slow


def test_no_server_error_and_no_dropped_connection(finished_load):
    assert finished_load.outcomes.failures == []
    assert "Traceback" not in finished_load.log


def test_every_version_was_reported_to_exactly_one_client(finished_load):
    versions = sorted(version for version, _note, _kind in finished_load.outcomes.accepted)
    final = finished_load.state["response"]["version"]
    assert versions == list(range(2, final + 1))


def test_stored_answers_equal_the_last_accepted_write(finished_load):
    _version, note, _kind = max(finished_load.outcomes.accepted)
    assert finished_load.state["answers"]["NOTE-01"] == note


def test_history_holds_every_accepted_change_and_nothing_else(finished_load):
    written = sorted(note for _v, note, kind in finished_load.outcomes.accepted
                     if kind != "submit")  # the confirmation re-sends the saved answers
    assert sorted(finished_load.state["history_notes"]) == written


def test_exactly_one_submission_was_accepted_and_it_is_stored(finished_load):
    submits = [entry for entry in finished_load.outcomes.accepted if entry[2] == "submit"]
    assert len(submits) == 1
    assert finished_load.state["response"]["status"] == "submitted"


def test_every_staff_answer_was_accepted_and_stored(finished_load):
    assert finished_load.outcomes.staff_accepted == STAFF_ANSWERS
    assert finished_load.staff == STAFF_ANSWERS
