"""Closed-network readiness (issue 16, DESIGN.md §11): on a government network without
internet, nothing the app serves may name another host, and the running app may open no
connection but to the configured directory and mail relay.

The pages and PDFs are walked as every role over the demo data; the connections are
watched from inside the real server process (waitress, forked workers included) with a
Python audit hook (`sys.addaudithook`) on `socket.connect`, `socket.getaddrinfo` and
the other events that reach the network, while a directory user logs in and works.
An audit hook sees every socket the interpreter opens, whichever library opens it.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from surveyapp import create_app
from surveyapp.services.backup import backup_database
from tests import closed_network
from tests.e2e.conftest import load_demo_instance
from tests.ldap_server import USERS, directory_settings
from tests.serving import Browser, csrf_token, serve
from tests.smtp_server import body_of, smtp_server

ROOT = Path(__file__).resolve().parent.parent
DEMO_LOGINS = {"admin": "demo-admin-2021", "auditor": "demo-auditor-2021",
               "dept": "demo-dept-2021"}


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory) -> Path:
    instance = tmp_path_factory.mktemp("closed-network") / "instance"
    instance.mkdir()
    load_demo_instance(instance)
    return instance


@pytest.fixture(scope="module")
def fetched(demo_instance) -> dict[str, list[tuple[str, str, bytes]]]:
    """Everything a crawl of the demo serves, per role (and without logging in)."""
    app = create_app({"INSTANCE_PATH": str(demo_instance), "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    found = {}
    for login in (None, *DEMO_LOGINS):
        client = app.test_client()
        if login:
            response = client.post("/login", data={"login": login,
                                                   "password": DEMO_LOGINS[login]})
            assert response.status_code == 302

        def get(path, client=client):
            with client.get(path) as response:  # closes a static file's handle
                return response.mimetype, response.get_data()
        found[login or "anonymous"] = closed_network.crawl(get, ["/", "/help", "/login"])
    return found


def references_by_page(fetched_pages, content_type, find) -> dict[str, list[str]]:
    return {path: find(body) for path, kind, body in fetched_pages
            if kind == content_type and find(body)}


@pytest.mark.parametrize("role", ["anonymous", *DEMO_LOGINS])
def test_no_page_refers_to_another_host(fetched, role):
    pages = [item for item in fetched[role] if item[1] == "text/html"]
    assert len(pages) >= 3, "the crawl must reach the pages"
    found = references_by_page(fetched[role], "text/html",
                               lambda body: closed_network.html_references(body.decode()))
    assert found == {}


@pytest.mark.parametrize("content_type, find", [
    ("text/css", closed_network.css_references),
    ("text/javascript", closed_network.script_references)], ids=["css", "javascript"])
def test_no_stylesheet_or_script_the_pages_load_refers_to_another_host(fetched, content_type,
                                                                       find):
    served = [item for role in fetched.values() for item in role if item[1] == content_type]
    assert served, f"the pages load {content_type}"
    assert {path: find(body.decode()) for path, _kind, body in served
            if find(body.decode())} == {}


def test_no_pdf_refers_to_another_host(fetched):
    pdfs = [item for role in fetched.values() for item in role
            if item[1] == "application/pdf"]
    assert pdfs, "the crawl must reach the scorecard PDFs"
    assert {path: closed_network.pdf_references(body) for path, _kind, body in pdfs
            if closed_network.pdf_references(body)} == {}


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.html")) +
                         sorted((ROOT / "static").rglob("*.*")),
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_no_template_or_static_file_names_another_host(path):
    """Covers the pages a crawl does not reach (staff forms, error pages)."""
    assert closed_network.text_references(path.read_text(encoding="utf-8")) == []


# --- the checks can fail ----------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    '<script src="https://cdn.example.com/x.js"></script>',
    '<link rel="stylesheet" href="//fonts.example.com/css">',
    '<img srcset="/a.png 1x, http://img.example.com/b.png 2x">',
    '<div style="background: url(https://img.example.com/b.png)"></div>',
    '<style>@import "https://fonts.example.com/a.css";</style>',
    '<form action="https://elsewhere.example.com/post"></form>',
    '<meta http-equiv="refresh" content="0; url=https://elsewhere.example.com/">',
])
def test_an_external_reference_in_a_page_is_found(html):
    assert closed_network.html_references(html)


def test_a_page_on_the_own_site_has_no_external_reference():
    html = ('<a href="/results?x=1">x</a><img src="data:image/png;base64,AAAA">'
            '<a href="mailto:kikaku@pref.example.lg.jp">mail</a><a href="#top">top</a>')
    assert closed_network.html_references(html) == []


def test_a_link_in_a_pdf_is_found():
    import zlib

    annotation = b"<< /S /URI /URI (https://example.com/) >>"
    pdf = (b"%PDF-1.4\n1 0 obj\n<< /Length 3 /Filter /FlateDecode >>\nstream\n"
           + zlib.compress(annotation) + b"\nendstream\nendobj\n")
    assert closed_network.pdf_references(pdf)


# --- the running server's connections -----------------------------------------------------------

# Run first in the server process: every event that reaches the network is written down.
CONNECTION_AUDIT = """
import sys
_network_log = open({path!r}, "a", buffering=1, encoding="utf-8")
def _watch_network(event, args):
    if event == "socket.connect":
        _network_log.write(repr(("connect", args[1])) + "\\n")
    elif event in ("socket.sendto", "socket.sendmsg") and args[1] is not None:
        _network_log.write(repr(("send", args[1])) + "\\n")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        _network_log.write(repr(("resolve", args[0])) + "\\n")
    elif event in ("urllib.Request", "http.client.connect", "smtplib.connect"):
        _network_log.write(repr((event, str(args[1]))) + "\\n")
sys.addaudithook(_watch_network)
"""


@pytest.fixture
def mail_relay():
    """The prefecture's mail relay: a real SMTP server on loopback (aiosmtpd)."""
    with smtp_server() as relay:
        yield relay


@pytest.fixture
def served_demo(demo_instance, tmp_path, slapd, mail_relay) -> tuple[str, Path]:
    """A copy of the demo, served by `surveyapp serve` (two processes) with directory
    login and mail on, and the file its connection audit writes to. The `dept` user's
    所属 has its deadline tomorrow, so "send now" has a reminder to mail any day."""
    instance = tmp_path / "instance"
    instance.mkdir()
    backup_database(demo_instance / "surveyapp.sqlite3", instance / "surveyapp.sqlite3")
    shutil.copy(demo_instance / "secret_key", instance / "secret_key")
    due_tomorrow(instance / "surveyapp.sqlite3")
    log = tmp_path / "network.log"
    env = {f"SURVEYAPP_{name}": str(value)
           for name, value in {**directory_settings(slapd.url),
                               **mail_relay.settings(REMINDER_DAYS_BEFORE_CLOSE="1")}.items()}
    env["SURVEYAPP_LOGIN_RATE_LIMIT"] = "100 per minute"
    with serve(instance, env=env, processes=2,
               prelude=CONNECTION_AUDIT.format(path=str(log))) as server:
        yield server.url, log


def due_tomorrow(database_file: Path) -> None:
    """The demo's open round: the `dept` account's 所属 gets its deadline tomorrow."""
    from datetime import timedelta

    from surveyapp import store
    from surveyapp.demo.cast import DEPT_LOGIN_UNIT
    from surveyapp.readmodels import deadlines as deadline_reads
    from surveyapp.readmodels import rounds
    from surveyapp.services import deadlines

    database = store.connect(database_file)
    today = deadline_reads.local_today()
    try:
        open_round = rounds.current_open_round(database)
        # The demo's open round closes months ahead: closed yesterday instead (the others
        # are late, as in a round near its end), so that tomorrow is an extension.
        with store.transaction(database):
            database.execute("UPDATE rounds SET closes_on = ? WHERE id = ?",
                             [(today - timedelta(days=1)).isoformat(), open_round.id])
        deadlines.extend(database, open_round.id, DEPT_LOGIN_UNIT,
                         today + timedelta(days=1), "閉域網テスト", None)
    finally:
        database.close()


def recorded(log: Path) -> set[tuple]:
    return {ast.literal_eval(line) for line in log.read_text(encoding="utf-8").splitlines()}


def test_the_running_app_connects_to_nothing_but_the_directory_and_the_mail_relay(
        served_demo, slapd, mail_relay):
    url, log = served_demo
    anonymous = Browser(url)
    for path in ("/", "/help", "/login"):
        anonymous.get(path)
    browser = Browser(url)
    browser.login("yamada", USERS["yamada"].password)  # a directory admin
    visited = closed_network.crawl(lambda path: browser_get(browser, path), ["/"],
                                   max_pages=60, per_pattern=1)
    assert any(kind == "application/pdf" for _path, kind, _body in visited)
    send_now(browser)
    assert mail_relay.messages, "send now mailed the reminder due today"
    events = reaching_the_network(recorded(log))
    directory = ("connect", ("127.0.0.1", slapd.port))
    relay = {("connect", ("127.0.0.1", mail_relay.port)), ("smtplib.connect", "127.0.0.1")}
    assert directory in events, "the audit hook saw the directory login"
    assert ("connect", ("127.0.0.1", mail_relay.port)) in events, "and the mail relay"
    assert events - {directory} - relay == set()


def send_now(browser: Browser) -> None:
    """"Send now" on the open round's progress board, as an admin presses it."""
    rounds_page = browser.get("/rounds/").text
    round_id = re.search(r'href="/rounds/(\d+)/"', rounds_page).group(1)
    board = browser.get(f"/rounds/{round_id}/").text
    reply = browser.post(f"/rounds/{round_id}/reminders", {"csrf_token": csrf_token(board)})
    assert reply.status in (302, 303)


def test_no_mail_names_another_host(served_demo, mail_relay):
    url, _log = served_demo
    browser = Browser(url)
    browser.login("yamada", USERS["yamada"].password)
    send_now(browser)
    base = mail_relay.settings()["MAIL_BASE_URL"] + "/"
    assert mail_relay.messages
    for message in mail_relay.messages:
        text = f"{message['Subject']}\n{body_of(message)}"
        assert [ref for ref in closed_network.text_references(text)
                if not ref.startswith(base)] == [], message["Subject"]


def reaching_the_network(events: set[tuple]) -> set[tuple]:
    """Resolving an address literal (waitress resolves "0.0.0.0" as it starts, ldap3 the
    directory's "127.0.0.1") asks no name server; every other event counts."""
    return {event for event in events
            if not (event[0] == "resolve" and is_address_literal(event[1]))}


def is_address_literal(host: object) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


def browser_get(browser: Browser, path: str) -> tuple[str, bytes]:
    reply = browser.get(path)
    return reply.headers.get_content_type(), reply.text.encode("utf-8")
