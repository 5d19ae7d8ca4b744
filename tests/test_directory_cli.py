"""`surveyapp ldap check LOGIN` against a real OpenLDAP, configured the way an
administrator does it: LDAP_* settings in `instance/config.py`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from surveyapp import store
from surveyapp.cli import cli
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD, department_row
from tests.ldap_server import USERS, directory_settings


@pytest.fixture
def run(instance_path, monkeypatch):
    """run(*args, input=None) -> click Result against a fresh instance."""
    monkeypatch.setenv("SURVEYAPP_INSTANCE", str(instance_path))
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--instance", str(instance_path), *args], input=input)
    assert invoke("init").exit_code == 0
    database = store.connect(instance_path / "surveyapp.sqlite3")
    with store.transaction(database):
        department_store.upsert_departments(database, [department_row("01", None),
                                                       department_row("0101", "01")])
    database.close()
    return invoke


@pytest.fixture
def configured(instance_path, slapd):
    """instance/config.py with the directory settings of the test tree."""
    lines = [f"{name} = {value!r}" for name, value in directory_settings(slapd.url).items()]
    (instance_path / "config.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.usefixtures("configured")
def test_check_prints_what_the_user_would_get(run):
    result = run("ldap", "check", "tanaka", "--password-stdin",
                 input=USERS["tanaka"].password + "\n")
    assert result.exit_code == 0, result.output
    assert f"DN: {USERS['tanaka'].dn}" in result.output
    for fact in ("role: department", "department: 0101", "approver: yes",
                 "email: tanaka@pref.example.lg.jp"):
        assert fact in result.output


@pytest.mark.usefixtures("configured")
def test_check_prompts_for_the_password_without_echoing_it(run):
    result = run("ldap", "check", "yamada", input=USERS["yamada"].password + "\n")
    assert result.exit_code == 0, result.output
    assert "role: admin" in result.output
    assert USERS["yamada"].password not in result.output


@pytest.mark.usefixtures("configured")
def test_check_says_why_not_and_exits_1(run):
    result = run("ldap", "check", "ito", "--password-stdin",
                 input=USERS["ito"].password + "\n")
    assert result.exit_code == 1
    assert "グループ" in result.output and "LDAP_ROLE_GROUPS" in result.output


@pytest.mark.usefixtures("configured")
def test_check_with_a_wrong_password_exits_1(run):
    result = run("ldap", "check", "tanaka", "--password-stdin", input="wrong password\n")
    assert result.exit_code == 1
    assert "invalidCredentials" in result.output


@pytest.mark.usefixtures("configured")
def test_check_without_password_looks_up_as_single_sign_on_does(run):
    result = run("ldap", "check", "tanaka", "--without-password")
    assert result.exit_code == 0, result.output
    assert "department: 0101" in result.output


@pytest.mark.usefixtures("configured")
def test_check_writes_nothing(run, instance_path):
    run("ldap", "check", "tanaka", "--password-stdin", input=USERS["tanaka"].password + "\n")
    database = store.connect(instance_path / "surveyapp.sqlite3")
    try:
        assert user_store.get_user_by_login(database, "tanaka") is None
    finally:
        database.close()


def test_check_with_directory_login_off_exits_1(run):
    result = run("ldap", "check", "tanaka", "--without-password")
    assert result.exit_code == 1
    assert "LDAP_URL" in result.output


def test_users_create_takes_an_email_and_the_approver_flag(run, instance_path):
    result = run("users", "create", "kacho", "--role", "department", "--department", "0101",
                 "--email", "kacho@pref.example.lg.jp", "--approver", "--password-stdin",
                 input=TEST_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    database = store.connect(instance_path / "surveyapp.sqlite3")
    try:
        row = user_store.get_user_by_login(database, "kacho")
    finally:
        database.close()
    assert (row["email"], row["approver"]) == ("kacho@pref.example.lg.jp", 1)


@pytest.mark.usefixtures("configured")
def test_sync_prints_each_directory_account_and_the_count(run, instance_path):
    database = store.connect(instance_path / "surveyapp.sqlite3")
    with store.transaction(database):
        user_store.insert_directory_user(database, "retired", {
            "dn": "uid=retired,ou=people,dc=example", "role": "department",
            "department_code": "0101", "approver": False, "email": "", "display_name": ""})
    database.close()
    result = run("ldap", "sync")
    assert result.exit_code == 0, result.output
    assert "retired\twithdrawn\tWrongCredentials" in result.output
    assert "1 account(s) checked, 1 withdrawn" in result.output


def test_sync_without_a_directory_says_so(run):
    result = run("ldap", "sync")
    assert result.exit_code == 1 and "LDAP_URL" in result.output
