"""Directory login through the login page (DESIGN.md §11), against a real OpenLDAP:
the page says which account to use, a directory user logs in, and every fault gives a
clear message and a log line, never a 500 and never a session."""

from __future__ import annotations

import logging

import pytest
from flask import jsonify
from flask_login import current_user, login_required

from tests.conftest import TEST_PASSWORD
from tests.ldap_server import USERS
from tests.serving import free_port

pytestmark = pytest.mark.usefixtures("directory_departments")

WHOAMI = "/test-whoami"


@pytest.fixture
def app_config(app_config, directory_config):
    return {**app_config, **directory_config}


@pytest.fixture
def app(app):
    @login_required
    def whoami():
        return jsonify(login=current_user.login, role=current_user.role,
                       department=current_user.department_code)

    app.add_url_rule(WHOAMI, "test_whoami", whoami)
    return app


def log_in(client, login, password=None):
    password = USERS[login].password if password is None else password
    return client.post("/login", data={"login": login, "password": password})


def logged_in_as(client) -> str | None:
    response = client.get(WHOAMI)
    return response.json["login"] if response.status_code == 200 else None


def test_the_login_page_asks_for_the_staff_account(client):
    assert "Windows にログオンするときのユーザー名とパスワード" in client.get("/login").text


def test_without_a_directory_the_login_page_asks_for_the_own_account(app_config):
    from surveyapp import create_app

    plain = create_app({**app_config, "LDAP_URL": ""})
    text = plain.test_client().get("/login").text
    assert "このシステム専用のアカウント" in text and "Windows にログオン" not in text


def test_a_directory_user_logs_in_with_the_directory_password(client):
    response = log_in(client, "tanaka")
    assert response.status_code == 302
    assert client.get(WHOAMI).json == {"login": "tanaka", "role": "department",
                                       "department": "0101"}


def test_the_break_glass_admin_logs_in_with_the_local_password(client, make_user):
    make_user("kikaku")
    assert log_in(client, "kikaku", TEST_PASSWORD).status_code == 302
    assert logged_in_as(client) == "kikaku"


FAULTS = {
    # name: (login, password or None for the right one, settings, status, Japanese text)
    "wrong-password": ("tanaka", "wrong password!", {}, 401, "パスワードが正しくありません"),
    "unknown-user": ("nobody", "some password", {}, 401, "パスワードが正しくありません"),
    "two-entries": ("twin", "some password", {}, 403, "ディレクトリに複数あるため"),
    "filter-star": ("*", USERS["tanaka"].password, {}, 401, "パスワードが正しくありません"),
    "filter-injection": (")(uid=*", USERS["tanaka"].password, {}, 401,
                         "パスワードが正しくありません"),
    "unmapped-group": ("ito", None, {}, 403, "権限（グループ）が割り当てられていません"),
    "unknown-department": ("kato", None, {}, 403, "所属コード 9999 に当たる所属"),
    "down": ("tanaka", None, {"LDAP_URL": "down"}, 503, "接続できないため"),
    "slow": ("tanaka", None, {"LDAP_URL": "silent", "LDAP_TIMEOUT": 1}, 503,
             "接続できないため"),
    "wrong-service-password": ("tanaka", None, {"LDAP_BIND_PASSWORD": "wrong"}, 503,
                               "検索用のアカウント"),
    "expired-certificate": ("tanaka", None, {"LDAP_URL": "expired"}, 503,
                            "証明書を確認できない"),
    "broken-setting": ("tanaka", None, {"LDAP_ROLE_GROUPS": "boss=cn=x"}, 503,
                       "設定に誤りがある"),
}


@pytest.fixture
def fault_app(request, app_config, ldap_certificates, silent_directory, expired_slapd):
    """An app whose directory settings carry the fault's overrides."""
    from surveyapp import create_app, migrations, store

    overrides = dict(request.param)
    urls = {"down": f"ldap://127.0.0.1:{free_port()}", "silent": silent_directory,
            "expired": expired_slapd.ldaps_url}
    if overrides.get("LDAP_URL") in urls:
        overrides["LDAP_URL"] = urls[overrides["LDAP_URL"]]
        overrides["LDAP_CA_FILE"] = str(ldap_certificates.ca_file)
    app = create_app({**app_config, **overrides})
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    database.close()
    return app


@pytest.mark.parametrize("fault_app, login, password, status, text", [
    pytest.param(settings, login, password, status, text, id=name)
    for name, (login, password, settings, status, text) in FAULTS.items()],
    indirect=["fault_app"])
def test_each_fault_gives_a_clear_message_and_no_session(fault_app, login, password,
                                                         status, text, caplog):
    client = fault_app.test_client()
    with caplog.at_level(logging.INFO):
        response = log_in(client, login, password)
    assert response.status_code == status
    assert text in response.text
    assert client.get("/account/password").status_code == 302  # not logged in
    assert any(repr(login) in record.getMessage() for record in caplog.records)


def test_a_directory_fault_is_explained_in_english_too(fault_app_english):
    response = log_in(fault_app_english, "tanaka")
    assert response.status_code == 503
    assert "cannot be reached" in response.text


@pytest.fixture
def fault_app_english(app_config):
    from surveyapp import create_app

    app = create_app({**app_config, "LDAP_URL": f"ldap://127.0.0.1:{free_port()}"})
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client


def test_no_password_reaches_the_log(client, caplog):
    with caplog.at_level(logging.DEBUG):
        log_in(client, "tanaka", "wrong password!")
        log_in(client, "ito")
    assert "wrong password!" not in caplog.text
    assert USERS["ito"].password not in caplog.text


def test_a_directory_user_has_no_password_to_change_here(client):
    log_in(client, "tanaka")
    page = client.get("/account/password")
    assert "ディレクトリ（Active Directory）のアカウント" in page.text
    assert 'name="new_password"' not in page.text
    assert 'href="/account/password"' not in client.get("/").text


@pytest.fixture
def limited_app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}


def test_the_login_rate_limit_applies_to_directory_logins(limited_app_config):
    from surveyapp import create_app

    client = create_app(limited_app_config).test_client()
    statuses = [log_in(client, "tanaka", "wrong password!").status_code for _n in range(2)]
    assert statuses == [401, 401]
    assert log_in(client, "tanaka").status_code == 429
