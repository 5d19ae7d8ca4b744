"""The admin user pages and the audit log page."""

import pytest

from surveyapp.services import accounts
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def admin_client(client, make_user, login_as):
    make_user("kikaku", "admin")
    login_as(client, "kikaku")
    return client


def last_action(db):
    return db.execute("SELECT action FROM audit_log ORDER BY id DESC").fetchone()[0]


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/users/1"])
@pytest.mark.parametrize("role", ["auditor", "department"])
def test_user_pages_are_404_for_everyone_but_admins(client, make_user, login_as, role, path):
    make_user("kikaku", "admin")
    make_user("someone", role, "S01" if role == "department" else None)
    login_as(client, "someone")
    assert client.get(path).status_code == 404


def test_user_actions_are_404_for_non_admins(client, make_user, login_as):
    target = make_user("kikaku", "admin")
    make_user("kansa", "auditor")
    login_as(client, "kansa")
    assert client.post(f"/admin/users/{target['id']}/deactivate").status_code == 404


def test_user_pages_send_anonymous_visitors_to_login(client):
    assert client.get("/admin/users").status_code == 302


def test_user_list_shows_every_account(admin_client, make_user):
    make_user("soumu", "department", "S01")
    page = admin_client.get("/admin/users").text
    assert "kikaku" in page and "soumu" in page and "S01" in page


def test_admin_creates_a_department_user(admin_client, db, make_user):
    make_user("other", "department", "S01")  # makes 所属 S01 selectable
    response = admin_client.post("/admin/users/new", data={
        "login": "soumu", "display_name": "総務 花子", "role": "department",
        "department_code": "S01", "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert response.status_code == 302
    assert user_store.get_user_by_login(db, "soumu")["department_code"] == "S01"
    assert last_action(db) == "user.create"


def test_create_form_refuses_a_short_password_in_japanese(admin_client):
    response = admin_client.post("/admin/users/new", data={
        "login": "kansa", "role": "auditor", "department_code": "",
        "new_password": "short", "new_password_again": "short"})
    assert response.status_code == 400
    assert "12文字以上" in response.text


def test_create_form_refuses_a_department_user_without_department(admin_client):
    response = admin_client.post("/admin/users/new", data={
        "login": "soumu", "role": "department", "department_code": "",
        "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert response.status_code == 400
    assert "所属を指定してください" in response.text


def test_admin_resets_a_password(admin_client, db, make_user):
    user = make_user("kansa", "auditor")
    response = admin_client.post(f"/admin/users/{user['id']}/password", data={
        "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert response.status_code == 303
    assert accounts.authenticate(db, "kansa", NEW_PASSWORD) is not None
    assert last_action(db) == "user.password_reset"


def test_admin_deactivates_and_reactivates(admin_client, db, make_user):
    user = make_user("kansa", "auditor")
    admin_client.post(f"/admin/users/{user['id']}/deactivate")
    assert user_store.get_user(db, user["id"])["active"] == 0
    admin_client.post(f"/admin/users/{user['id']}/reactivate")
    assert user_store.get_user(db, user["id"])["active"] == 1
    assert last_action(db) == "user.reactivate"


def test_admin_cannot_deactivate_themselves_on_the_page(admin_client, db):
    admin = user_store.get_user_by_login(db, "kikaku")
    response = admin_client.post(f"/admin/users/{admin['id']}/deactivate")
    assert response.status_code == 400
    assert "自分自身" in response.text


def test_locked_user_gets_in_after_admin_unlocks(app, admin_client, db, make_user):
    app.config["LOGIN_LOCK_AFTER"] = 3
    user = make_user("kansa", "auditor")
    other = app.test_client()
    for _attempt in range(3):
        other.post("/login", data={"login": "kansa", "password": "wrong password!"})
    locked = other.post("/login", data={"login": "kansa", "password": TEST_PASSWORD})
    assert locked.status_code == 401
    admin_client.post(f"/admin/users/{user['id']}/unlock")
    unlocked = other.post("/login", data={"login": "kansa", "password": TEST_PASSWORD})
    assert unlocked.status_code == 302


def test_admin_moves_a_user_to_another_department(admin_client, db, make_user):
    make_user("other", "department", "S02")
    user = make_user("soumu", "department", "S01")
    response = admin_client.post(f"/admin/users/{user['id']}/department",
                                 data={"department_code": "S02"})
    assert response.status_code == 303
    assert user_store.get_user(db, user["id"])["department_code"] == "S02"


def test_unknown_user_page_is_404(admin_client):
    assert admin_client.get("/admin/users/9999").status_code == 404


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_audit_log_is_readable_by_admins_and_auditors(client, make_user, login_as, role):
    make_user("reader", role)
    login_as(client, "reader")
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert "user.create" in response.text


def test_audit_log_is_404_for_department_users(client, make_user, login_as):
    make_user("soumu", "department", "S01")
    login_as(client, "soumu")
    assert client.get("/admin/audit").status_code == 404


def test_audit_log_filters_by_action(admin_client, db, make_user):
    user = make_user("kansa", "auditor")
    accounts.unlock(db, None, user["id"])
    page = admin_client.get("/admin/audit?action=user.unlock").text
    assert "user.unlock" in page and "&#34;login&#34;: &#34;kansa&#34;" in page
    assert "<td>user.create</td>" not in page


def test_audit_log_shows_detail_escaped(admin_client, db, make_user):
    from surveyapp.services import audit

    audit.record(db, None, "test.markup", note="<script>alert(1)</script>")
    page = admin_client.get("/admin/audit?action=test.markup").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_audit_log_is_paginated_newest_first(admin_client, db):
    from surveyapp.services import audit

    for n in range(55):
        audit.record(db, None, "test.page", n=n)
    first = admin_client.get("/admin/audit?action=test.page").text
    second = admin_client.get("/admin/audit?action=test.page&page=2").text
    assert "&#34;n&#34;: 54" in first and "&#34;n&#34;: 4\n" not in first
    assert "&#34;n&#34;: 4\n" in second and "page=3" not in second


def test_audit_log_ignores_a_malformed_page_number(admin_client):
    assert admin_client.get("/admin/audit?page=abc&user=-1").status_code == 200


def test_create_page_offers_units_grouped_by_bureau(admin_client, make_user):
    make_user("other", "department", "S01")
    page = admin_client.get("/admin/users/new").text
    assert '<optgroup label="テストTEST-BU">' in page
    assert '<option value="S01">S01 テストS01</option>' in page


def test_user_page_shows_actions_for_a_locked_department_user(admin_client, db, make_user):
    user = make_user("soumu", "department", "S01")
    for _attempt in range(10):
        accounts.authenticate(db, "soumu", "wrong password!")
    page = admin_client.get(f"/admin/users/{user['id']}").text
    assert "ロックを解除する" in page and "所属の変更" in page


def test_admin_revokes_every_api_token_of_a_user(admin_client, db, make_user):
    user = make_user("kansa", "auditor")
    tokens = [accounts.create_api_token(db, "kansa") for _n in range(2)]
    assert "APIトークンをすべて無効にする" in admin_client.get(f"/admin/users/{user['id']}").text
    admin_client.post(f"/admin/users/{user['id']}/revoke-tokens")
    assert [accounts.user_for_token(db, token) for token in tokens] == [None, None]
    assert last_action(db) == "api_token.revoke_all"
