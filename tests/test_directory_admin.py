"""The admin user pages with directory accounts: where each account comes from, switching
between local and directory, and the email and approver flag (DESIGN.md §10, §11)."""

from __future__ import annotations

import pytest

from surveyapp.services import directory_accounts
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD
from tests.ldap_server import USERS

pytestmark = pytest.mark.usefixtures("directory_departments")
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def app_config(app_config, directory_config):
    return {**app_config, **directory_config}


@pytest.fixture
def admin_client(client, make_user, login_as):
    make_user("kikaku", "admin")
    login_as(client, "kikaku")
    return client


@pytest.fixture
def directory_user(db, app):
    """tanaka, logged in once through the directory."""
    return directory_accounts.sign_in(db, "tanaka", USERS["tanaka"].password, app.config)


def test_the_user_list_shows_where_each_account_comes_from(admin_client, directory_user):
    page = admin_client.get("/admin/users").text
    assert "ローカル" in page and "ディレクトリ" in page


def test_a_directory_users_page_shows_the_dn_and_offers_no_password_reset(
        admin_client, directory_user):
    page = admin_client.get(f"/admin/users/{directory_user['id']}").text
    assert USERS["tanaka"].dn in page
    assert "パスワードの再設定" not in page
    assert "ローカルのアカウントにする" in page


def test_an_admin_switches_a_local_user_to_the_directory(admin_client, client, db,
                                                         make_user):
    user = make_user("tanaka", "department", "0101")
    response = admin_client.post(f"/admin/users/{user['id']}/to-directory")
    assert response.status_code == 303
    assert user_store.get_user(db, user["id"])["auth_source"] == "directory"


def test_an_admin_switches_a_directory_user_to_local(admin_client, db, directory_user):
    response = admin_client.post(f"/admin/users/{directory_user['id']}/to-local", data={
        "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert response.status_code == 303
    row = user_store.get_user(db, directory_user["id"])
    assert row["auth_source"] == "local" and row["password_hash"].startswith("$argon2id$")


def test_switching_to_local_needs_the_password_twice(admin_client, directory_user):
    response = admin_client.post(f"/admin/users/{directory_user['id']}/to-local", data={
        "new_password": NEW_PASSWORD, "new_password_again": "something else!!"})
    assert response.status_code == 400
    assert "一致しません" in response.text


def test_the_last_local_admin_cannot_be_switched(admin_client, db):
    admin = user_store.get_user_by_login(db, "kikaku")
    response = admin_client.post(f"/admin/users/{admin['id']}/to-directory")
    assert response.status_code == 400
    assert "最後のローカル管理者" in response.text


def test_a_department_users_email_and_approver_flag_are_set_on_the_page(admin_client, db,
                                                                       make_user):
    user = make_user("soumu", "department", "0101")
    response = admin_client.post(f"/admin/users/{user['id']}/contact", data={
        "email": "soumu@pref.example.lg.jp", "approver": "y"})
    assert response.status_code == 303
    row = user_store.get_user(db, user["id"])
    assert (row["email"], row["approver"]) == ("soumu@pref.example.lg.jp", 1)
    assert "承認者" in admin_client.get("/admin/users").text


def test_a_malformed_email_is_refused_on_the_page(admin_client, make_user):
    user = make_user("soumu", "department", "0101")
    response = admin_client.post(f"/admin/users/{user['id']}/contact",
                                 data={"email": "not an address"})
    assert response.status_code == 400
    assert "形式が正しくありません" in response.text


def test_an_admin_creates_an_approver_with_an_email(admin_client, db):
    response = admin_client.post("/admin/users/new", data={
        "login": "kacho", "role": "department", "department_code": "0101",
        "email": "kacho@pref.example.lg.jp", "approver": "y",
        "new_password": TEST_PASSWORD, "new_password_again": TEST_PASSWORD})
    assert response.status_code == 302
    row = user_store.get_user_by_login(db, "kacho")
    assert (row["email"], row["approver"]) == ("kacho@pref.example.lg.jp", 1)


def test_without_directory_login_there_is_no_switch_to_the_directory(app_config, make_user,
                                                                    login_as):
    from surveyapp import create_app

    client = create_app({**app_config, "LDAP_URL": ""}).test_client()
    make_user("kikaku")
    user = make_user("soumu", "department", "0101")
    login_as(client, "kikaku")
    page = client.get(f"/admin/users/{user['id']}").text
    assert "ディレクトリのアカウントにする" not in page
    assert client.post(f"/admin/users/{user['id']}/to-directory").status_code == 400
