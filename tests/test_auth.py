"""Logging in and out through the web: sessions, revocation, redirects, bearer tokens."""

import time

import pytest
from flask import jsonify
from flask_login import current_user, login_required
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.services import accounts
from surveyapp.web.views.auth import safe_next_path
from tests.conftest import TEST_PASSWORD

PROTECTED = "/account/password"


@pytest.fixture
def app(app):
    """The app plus two probe routes: one under /api/, one outside it."""
    @login_required
    def whoami():
        return jsonify(login=current_user.login)

    app.add_url_rule("/api/test-whoami", "api_test_whoami", whoami)
    app.add_url_rule("/test-whoami", "test_whoami", whoami)
    return app


def session_cookie(client):
    return client.get_cookie("session").value


def test_login_page_is_in_japanese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "ログイン名" in response.text


def test_right_password_logs_in_and_lands_on_home(client, make_user):
    make_user("kikaku")
    response = client.post("/login", data={"login": "kikaku", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.location == "/results/"  # the landing page (LANDING_ENDPOINTS)
    assert client.get(PROTECTED).status_code == 200


def test_wrong_password_and_unknown_login_get_the_same_message(client, make_user):
    make_user("kikaku")
    wrong = client.post("/login", data={"login": "kikaku", "password": "wrong password!"})
    unknown = client.post("/login", data={"login": "nobody", "password": "wrong password!"})
    assert wrong.status_code == unknown.status_code == 401
    assert "ログイン名またはパスワードが正しくありません" in wrong.text
    assert wrong.text.replace("kikaku", "X") == unknown.text.replace("nobody", "X")


def test_protected_page_sends_anonymous_visitors_to_login_with_next(client):
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response.location == "/login?next=/account/password"


def test_login_starts_a_fresh_session(client, make_user):
    make_user("kikaku")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"login": "kikaku", "password": TEST_PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_old_cookie_is_worthless_after_logout(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    stolen = session_cookie(client)
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", stolen)
    assert client.get(PROTECTED).status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_user, login_as):
    make_user("kikaku")
    this, other = app.test_client(), app.test_client()
    login_as(this, "kikaku")
    login_as(other, "kikaku")
    response = this.post(PROTECTED, data={
        "current_password": TEST_PASSWORD, "new_password": "another long password",
        "new_password_again": "another long password"})
    assert response.status_code == 302
    assert this.get(PROTECTED).status_code == 200
    assert other.get(PROTECTED).status_code == 302


def test_password_change_with_mismatched_repeat_is_refused(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    response = client.post(PROTECTED, data={
        "current_password": TEST_PASSWORD, "new_password": "another long password",
        "new_password_again": "another long passwort"})
    assert response.status_code == 400
    assert "一致しません" in response.text


def test_deactivation_ends_the_users_sessions(client, db, make_user, login_as):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    login_as(client, "kansa")
    accounts.deactivate(db, admin["id"], user["id"])
    assert client.get(PROTECTED).status_code == 302


def test_offsite_next_is_ignored(client, make_user):
    make_user("kikaku")
    response = client.post("/login?next=//evil.example/", data={
        "login": "kikaku", "password": TEST_PASSWORD})
    assert response.location == "/results/"  # the landing page (LANDING_ENDPOINTS)


def test_local_next_is_followed(client, make_user):
    make_user("kikaku")
    response = client.post("/login?next=/account/password", data={
        "login": "kikaku", "password": TEST_PASSWORD})
    assert response.location == "/account/password"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "", None, "evil.example"])
def test_next_must_be_a_local_path(target):
    assert safe_next_path(target) is None


@given(st.text(max_size=60))
def test_accepted_next_never_leaves_the_site(target):
    accepted = safe_next_path(target)
    if accepted is not None:
        assert accepted.startswith("/") and not accepted.startswith("//")
        assert "\\" not in accepted and not any(ch.isspace() for ch in accepted)


def test_idle_session_expires(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert "一定時間操作がなかった" in client.get("/login").text


def test_active_session_stays_alive(client, make_user, login_as):
    make_user("kikaku")
    login_as(client, "kikaku")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 29 * 60
    assert client.get(PROTECTED).status_code == 200


def test_session_cookie_is_httponly_lax_and_short_lived(client, make_user):
    make_user("kikaku")
    response = client.post("/login", data={"login": "kikaku", "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_bearer_token_authenticates_api_requests(client, db, make_user):
    make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    response = client.get("/api/test-whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.json == {"login": "kansa"}


def test_bearer_token_is_ignored_outside_the_api(client, db, make_user):
    make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    response = client.get("/test-whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302


def test_api_without_credentials_gets_json_401(client):
    response = client.get("/api/test-whoami", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert "error" in response.json


def test_unknown_page_gets_the_japanese_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


def test_unknown_api_path_gets_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json == {"error": "ページが見つかりません。"}


def test_oversized_request_gets_the_japanese_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"login": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "大きすぎます" in response.text
