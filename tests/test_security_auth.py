"""Authentication attacks through the web, filling the gaps of the area tests.

Already proven elsewhere (not repeated here): `safe_next_path` refuses every hostile
target and the login refuses `//evil` (tests/test_auth.py); a value planted in the
session before login is gone, logout and a password change kill old cookies
(tests/test_auth.py); 429 per login and per address (tests/test_auth_rate_limit.py);
lockout and the admin's unlock (tests/test_accounts_admin.py); the staff link limit and
code guessing (tests/test_staff_web.py); oversized and alias-bomb definition files
(tests/test_questionnaires_web.py). Here: the same attacks end to end on the demo
world, and what those tests leave out.
"""

from __future__ import annotations

import inspect
import io
import secrets
from urllib.parse import quote, urlsplit

import pytest

from surveyapp.services import accounts, staff
from surveyapp.store import users as user_store
from tests import security_world as sw
from tests.conftest import FIXTURES
from tests.security_world import discard_copies  # noqa: F401  (autouse)

AUDITOR_LOGIN, AUDITOR_PASSWORD = sw.PASSWORDS["auditor"]
HOSTILE_TARGETS = ["//evil.example/", "https://evil.example/", "/\\evil.example",
                   "javascript:alert(1)", "/\t/evil.example", "http:/evil.example",
                   "%2F%2Fevil.example", "/%2F%2Fevil.example", "\\\\evil.example"]


@pytest.fixture(scope="module")
def module_world(tmp_path_factory):
    return sw.world_copy(tmp_path_factory, "auth")


@pytest.fixture
def world(module_world, tmp_path):
    """A private copy per test: these tests log in, lock and change passwords."""
    return module_world.copy(tmp_path)


def log_in(client, login: str, password: str, next_path: str | None = None, **kwargs):
    query = "" if next_path is None else "?next=" + _quoted(next_path)
    with sw.fast_hashing():
        return client.post(f"/login{query}", data={"login": login, "password": password},
                           **kwargs)


def _quoted(text: str) -> str:
    return quote(text, safe="")


def stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/") \
        and not location.startswith("//") and "\\" not in location


# --- open redirect -----------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_login_never_redirects_off_the_site(world, target):
    response = log_in(world.app().test_client(), AUDITOR_LOGIN, AUDITOR_PASSWORD, target)
    assert response.status_code == 302
    assert stays_on_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_logged_in_visit_of_the_login_page_never_redirects_off_the_site(world, target):
    client = sw.log_in(world.app(), "auditor")
    response = client.get(f"/login?next={_quoted(target)}")
    assert stays_on_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("referrer", ["https://evil.example/", "http://localhost.evil.example/x",
                                      "//evil.example/"])
def test_language_switch_never_redirects_off_the_site(world, referrer):
    response = world.app().test_client().post("/lang", data={"lang": "en"},
                                              headers={"Referer": referrer})
    assert response.status_code == 302
    assert stays_on_site(response.headers["Location"]), response.headers["Location"]


# --- sessions --------------------------------------------------------------------------------


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_login_issues_a_new_session_cookie(world):
    client = world.app().test_client()
    client.get("/login")  # the CSRF token: a pre-login session exists
    before = session_cookie(client)
    assert before
    assert log_in(client, AUDITOR_LOGIN, AUDITOR_PASSWORD).status_code == 302
    assert session_cookie(client) not in (None, before)


def test_a_cookie_from_before_login_stays_logged_out(world):
    """Fixation: a cookie handed to the victim before login never becomes theirs."""
    app = world.app()
    victim = app.test_client()
    victim.get("/login")
    planted = session_cookie(victim)
    log_in(victim, AUDITOR_LOGIN, AUDITOR_PASSWORD)
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    response = attacker.get("/results/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_admin_password_reset_kills_the_users_old_cookie(world):
    app = world.app()
    auditor = sw.log_in(app, "auditor")
    stolen = session_cookie(auditor)
    admin = sw.log_in(app, "admin")
    with sw.fast_hashing():
        reset = admin.post(f"/admin/users/{world.users['auditor']}/password", data={
            "new_password": "a brand new password", "new_password_again":
            "a brand new password"})
    assert reset.status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/results/").status_code == 302


def test_logout_kills_a_copied_cookie_in_another_browser(world):
    app = world.app()
    client = sw.log_in(app, "department")
    copy = app.test_client()
    copy.set_cookie("session", session_cookie(client))
    assert copy.get("/self-check").status_code == 200
    client.post("/logout")
    assert copy.get("/self-check").status_code == 302


# --- brute force -----------------------------------------------------------------------------


def test_guessing_a_password_meets_the_lock_then_the_limit_and_the_admin_unlocks(world):
    """Lock after LOGIN_LOCK_AFTER failures (the right password no longer works), 429
    once LOGIN_RATE_LIMIT is used up, and an admin's unlock lets the owner in."""
    app = world.app(RATELIMIT_ENABLED=True, LOGIN_LOCK_AFTER=2, LOGIN_RATE_LIMIT="3 per minute")
    attacker = app.test_client()
    statuses = [log_in(attacker, AUDITOR_LOGIN, f"guess {n} wrong").status_code
                for n in range(2)]
    statuses.append(log_in(attacker, AUDITOR_LOGIN, AUDITOR_PASSWORD).status_code)
    statuses.append(log_in(attacker, AUDITOR_LOGIN, AUDITOR_PASSWORD).status_code)
    assert statuses == [401, 401, 401, 429]
    with world.connect() as db:
        assert user_store.get_user(db, world.users["auditor"])["locked_at"]
    admin = sw.log_in(app, "admin")
    assert admin.post(f"/admin/users/{world.users['auditor']}/unlock").status_code == 303
    owner = app.test_client()
    response = log_in(owner, AUDITOR_LOGIN, AUDITOR_PASSWORD,
                      environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 302


def test_guessing_staff_links_is_throttled_per_address(world):
    app = world.app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [client.get(f"/s/{secrets.token_urlsafe(32)}").status_code for _ in range(40)]
    assert statuses[0] == 404
    assert statuses[-1] == 429


def test_guessing_staff_links_does_not_lock_out_other_addresses(world):
    app = world.app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for _ in range(40):
        client.get(f"/s/{secrets.token_urlsafe(32)}")
    colleague = client.get(f"/s/{world.links['own']}", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    assert colleague.status_code == 200


def test_secrets_are_found_by_their_hash_and_compared_in_constant_time():
    """Links, one-time codes and API tokens are looked up by their SHA-256 (no secret
    bytes are compared in SQL), and the stored hash is compared with compare_digest."""
    for function in (staff.find_link, staff.find_code):
        source = inspect.getsource(function)
        assert "hash_secret(" in source and "hmac.compare_digest(" in source, function
    assert "token_hash(" in inspect.getsource(accounts.user_for_token)
    assert "by_token_hash" in inspect.getsource(accounts.user_for_token)


# --- uploads --------------------------------------------------------------------------------


# A small limit keeps the test body in memory (the test client spools a large one to
# a temporary file it never closes when the app refuses to read it).
REQUEST_LIMIT = 64 * 1024


@pytest.mark.parametrize(("role", "path", "field", "name"), [
    ("admin", "/questionnaires/publish", "definition", "big.yaml"),
    ("admin", "/departments/import", "csv_file", "big.csv"),
    ("department", "/exports/rounds/{round}/self-check/{own}/upload", "file", "big.xlsx"),
])
def test_upload_over_the_request_limit_gets_a_clear_413_and_writes_nothing(world, role, path,
                                                                           field, name):
    client = sw.log_in(world.app(MAX_CONTENT_LENGTH=REQUEST_LIMIT), role)
    url = path.format(round=world.rounds["open"], own=sw.OWN)
    body = b"x" * (REQUEST_LIMIT + 1024)
    with sw.no_writes(world.database):
        response = client.post(url, data={field: (io.BytesIO(body), name)},
                               content_type="multipart/form-data")
    assert response.status_code == 413
    assert "大きすぎます" in response.text and "64 KB" in response.text


@pytest.mark.parametrize("fixture", ["python_tag.yaml", "alias_bomb.yaml",
                                     "duplicate_keys.yaml", "anchors.yaml"])
def test_hostile_definition_upload_gets_a_clear_error_and_publishes_nothing(world, fixture):
    client = sw.log_in(world.app(), "admin")
    data = (FIXTURES / "definitions" / fixture).read_bytes()
    with sw.no_writes(world.database):
        response = client.post("/questionnaires/publish", data={
            "definition": (io.BytesIO(data), fixture)}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert ":" in response.text and "pwned" not in response.text


def test_binary_garbage_as_a_definition_gets_a_clear_error(world):
    client = sw.log_in(world.app(), "admin")
    garbage = bytes(range(256)) * 64
    with sw.no_writes(world.database):
        response = client.post("/questionnaires/publish", data={
            "definition": (io.BytesIO(garbage), "garbage.yaml")},
            content_type="multipart/form-data")
    assert response.status_code == 422
