"""Fixtures mirror `create_app`'s inputs: an instance folder and a test config."""

from __future__ import annotations

import contextlib
import os
import signal
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from surveyapp import create_app, migrations, store

# Timing limits are for benchmarks, not tests: a busy CI machine must not fail a
# property test because one example ran slowly.
settings.register_profile("surveyapp", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("surveyapp")

ROOT = Path(__file__).resolve().parent.parent
QUESTIONNAIRES = ROOT / "questionnaires"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def publish_shipped(db, version: str = "2021.1") -> None:
    """A shipped questionnaire version published as `surveyapp questionnaires publish`
    does it (its earlier versions read from the same folder): pages that name a round
    by its questionnaire's title need a real definition, not a placeholder row."""
    from surveyapp.services import questionnaires

    path = QUESTIONNAIRES / "infosec-selfcheck" / f"{version}.yaml"
    questionnaires.publish(db, path.read_bytes(), str(path), folder=path.parent)


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


# --- accounts: fast hashing, users and logging in (tests/test_accounts*.py, test_auth*) ---

TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """argon2id with the smallest costs: the same code paths in a fraction of the time."""
    from argon2 import PasswordHasher

    from surveyapp.services import accounts

    monkeypatch.setattr(accounts, "hasher",
                        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    accounts.dummy_hash.cache_clear()
    yield
    accounts.dummy_hash.cache_clear()


@pytest.fixture
def make_user(db):
    """make_user(login, role="admin", department_code=None, *, password=TEST_PASSWORD,
    display_name="") -> user row. A missing 所属 is created under 部局 TEST-BU."""
    from surveyapp.services import accounts
    from surveyapp.store import departments as department_store
    from surveyapp.store import users as user_store

    def make(login, role="admin", department_code=None, *, password=TEST_PASSWORD,
             display_name=""):
        if department_code and department_store.get_department(db, department_code) is None:
            with store.transaction(db):
                department_store.upsert_departments(db, [
                    department_row("TEST-BU", None),
                    department_row(department_code, "TEST-BU")])
        user_id = accounts.create_user(db, login, role, password, department_code,
                                       display_name)
        return user_store.get_user(db, user_id)
    return make


def department_row(code, parent_code):
    return {"code": code, "name": f"テスト{code}", "parent_code": parent_code,
            "headcount": 10, "valid_from": None, "valid_to": None, "successor_code": None}


@pytest.fixture
def login_as():
    """login_as(client, login, password=TEST_PASSWORD) -> the login response (a redirect)."""
    def log_in(client, login, password=TEST_PASSWORD):
        response = client.post("/login", data={"login": login, "password": password})
        assert response.status_code == 302, f"login as {login} failed"
        return response
    return log_in


# --- a real directory: OpenLDAP's slapd on loopback (tests/ldap_server.py) -----------------

@pytest.fixture(scope="session")
def ldap_certificates(tmp_path_factory):
    """A test CA, another CA, and server certificates (valid, expired, foreign)."""
    from tests.e2e.conftest import require
    from tests.ldap_server import SLAPD, make_certificates

    require(SLAPD.exists(), f"{SLAPD} is missing (apt-get install slapd ldap-utils)")
    return make_certificates(tmp_path_factory.mktemp("ldap-certs"))


@pytest.fixture(scope="session")
def slapd(tmp_path_factory, ldap_certificates):
    """slapd with the test tree, a valid certificate, StartTLS and ldaps."""
    from tests.ldap_server import start_slapd

    server = start_slapd(tmp_path_factory.mktemp("slapd"), ldap_certificates.ca_file,
                         ldap_certificates.server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def expired_slapd(tmp_path_factory, ldap_certificates):
    """A second slapd whose certificate expired yesterday."""
    from tests.ldap_server import start_slapd

    server = start_slapd(tmp_path_factory.mktemp("slapd-expired"), ldap_certificates.ca_file,
                         ldap_certificates.expired, populate=False)
    yield server
    server.stop()


@pytest.fixture
def silent_directory():
    """A port that accepts connections and never answers: a directory that hangs."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def hold() -> None:
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:
            return  # closed at teardown

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"ldap://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    thread.join(5)
    for connection in accepted:
        connection.close()


@pytest.fixture
def directory_config(slapd) -> dict:
    """The LDAP_* settings for the test tree (plain ldap://)."""
    from tests.ldap_server import directory_settings

    return directory_settings(slapd.url)


@pytest.fixture
def directory_departments(db):
    """部局 01 with the 所属 0101 and 0102, the codes the test tree's users carry."""
    from surveyapp.store import departments as department_store

    with store.transaction(db):
        department_store.upsert_departments(db, [department_row("01", None),
                                                 department_row("0101", "01"),
                                                 department_row("0102", "01")])


# --- a stopped run leaves no server or Chromium behind ------------------------------------


def pytest_configure(config):
    """SIGTERM (a CI timeout, `kill`) ends the run as Ctrl-C does, so fixtures tear down
    and stop their servers and Chromium; children started by tests also die with their
    test process (tests.serving.die_with_parent)."""
    signal.signal(signal.SIGTERM, partial(stop_like_ctrl_c, controller=is_xdist_controller(config)))


def is_xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", 0))


def stop_like_ctrl_c(_signal, _frame, controller: bool = False):
    """The xdist controller passes the signal on to its workers first (they are its only
    children): each then tears its own fixtures down."""
    if controller:
        for pid in child_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    raise KeyboardInterrupt


def child_processes() -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                children.append(int(stat.parent.name))
    return children


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under xdist (`-n`, `--dist loadgroup`): the browser journeys share one server and
    one Chromium, so they run in one worker; the other tests spread over the workers."""
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.xdist_group("e2e"))
