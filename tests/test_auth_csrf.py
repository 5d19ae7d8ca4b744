"""Every POST of the account pages needs the CSRF token (DESIGN §8)."""

import re

import pytest

from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def log_in(client, login):
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": TEST_PASSWORD,
                                       "csrf_token": token})


def test_login_without_csrf_token_is_refused_in_japanese(client, make_user):
    make_user("kikaku")
    response = client.post("/login", data={"login": "kikaku", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "もう一度送信してください" in response.text


def test_login_with_csrf_token_succeeds(client, make_user):
    make_user("kikaku")
    assert log_in(client, "kikaku").status_code == 302


def test_admin_action_without_csrf_token_changes_nothing(client, db, make_user):
    make_user("kikaku")
    user = make_user("kansa", "auditor")
    log_in(client, "kikaku")
    response = client.post(f"/admin/users/{user['id']}/deactivate")
    assert response.status_code == 400
    assert user_store.get_user(db, user["id"])["active"] == 1


def test_logout_without_csrf_token_does_not_log_out(client, make_user):
    make_user("kikaku")
    log_in(client, "kikaku")
    assert client.post("/logout").status_code == 400
    assert client.get("/account/password").status_code == 200
