"""services/directory_accounts.py against a real OpenLDAP: what a directory user gets,
what happens at each login, local accounts beside them, and switching between the two."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveyapp import config
from surveyapp.refusals import Invalid
from surveyapp.services import accounts, directory, directory_accounts
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD
from tests.ldap_server import APPROVERS, DEPARTMENTS, USERS, replace_values, set_membership

pytestmark = pytest.mark.usefixtures("directory_departments")


@pytest.fixture
def settings_of(directory_config):
    """settings_of(**overrides) -> the config mapping sign_in reads."""
    return lambda **overrides: {**config.DEFAULTS, **directory_config, **overrides}


def sign_in(db, settings_of, login, password=None, **overrides):
    password = USERS[login].password if password is None else password
    return directory_accounts.sign_in(db, login, password, settings_of(**overrides))


def audit_actions(db):
    return [row["action"] for row in db.query("SELECT action FROM audit_log ORDER BY id")]


def test_first_login_creates_a_directory_account(db, settings_of):
    row = sign_in(db, settings_of, "tanaka")
    assert (row["auth_source"], row["role"], row["department_code"], row["approver"],
            row["email"], row["display_name"]) == (
        "directory", "department", "0101", 1, "tanaka@pref.example.lg.jp", "田中 一郎")
    assert row["directory_dn"] == USERS["tanaka"].dn and row["directory_synced_at"]


def test_no_directory_password_is_stored(db, settings_of, app):
    sign_in(db, settings_of, "tanaka")
    assert user_store.get_user_by_login(db, "tanaka")["password_hash"] == ""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = Path(app.config["DATABASE"]).read_bytes()
    assert USERS["tanaka"].password.encode() not in stored


def test_the_first_mapped_group_decides_the_role(db, settings_of):
    """`both` is in the admin and the department group: admin comes first."""
    row = sign_in(db, settings_of, "both")
    assert (row["role"], row["department_code"], row["approver"]) == ("admin", None, 0)


def test_an_auditor_gets_no_department(db, settings_of):
    assert sign_in(db, settings_of, "sato")["role"] == "auditor"


def test_a_user_in_no_mapped_group_is_refused(db, settings_of):
    with pytest.raises(directory_accounts.NotGranted):
        sign_in(db, settings_of, "ito")
    assert user_store.get_user_by_login(db, "ito") is None


@pytest.mark.parametrize("login, code", [("kato", "9999"), ("bureau", "01")],
                         ids=["unknown", "a-bureau"])
def test_a_department_code_that_is_no_shozoku_here_is_refused(db, settings_of, login, code):
    with pytest.raises(directory_accounts.UnknownDepartment) as refused:
        sign_in(db, settings_of, login)
    assert refused.value.params == {"code": code}
    assert user_store.get_user_by_login(db, login) is None


def test_the_mapping_table_turns_directory_codes_into_shozoku_codes(db, settings_of,
                                                                   tmp_path):
    table = tmp_path / "map.csv"
    table.write_text("directory_code,department_code\nD-0102,0102\n", encoding="utf-8")
    row = sign_in(db, settings_of, "suzuki", LDAP_DEPARTMENT_MAP_FILE=str(table))
    assert row["department_code"] == "0102"


def test_without_the_mapping_table_the_directory_code_is_unknown(db, settings_of):
    with pytest.raises(directory_accounts.UnknownDepartment):
        sign_in(db, settings_of, "suzuki")


def test_a_broken_mapping_table_is_a_configuration_error(db, settings_of, tmp_path):
    table = tmp_path / "map.csv"
    table.write_text("directory_code,department_code\nD-0102\n", encoding="utf-8")
    with pytest.raises(directory.MisConfigured) as refused:
        sign_in(db, settings_of, "suzuki", LDAP_DEPARTMENT_MAP_FILE=str(table))
    assert "map.csv:2" in refused.value.detail


def test_a_wrong_directory_password_gives_none_like_a_wrong_local_one(db, settings_of):
    assert sign_in(db, settings_of, "tanaka", "wrong password!") is None


def test_what_the_directory_says_is_taken_at_each_login(db, settings_of, slapd):
    sign_in(db, settings_of, "mover")
    replace_values(slapd, USERS["mover"].dn, "mail", ["moved@pref.example.lg.jp"])
    replace_values(slapd, USERS["mover"].dn, "departmentNumber", ["0102"])
    set_membership(slapd, APPROVERS, "mover", True)
    try:
        row = sign_in(db, settings_of, "mover")
    finally:
        replace_values(slapd, USERS["mover"].dn, "mail", [USERS["mover"].mail])
        replace_values(slapd, USERS["mover"].dn, "departmentNumber", ["0101"])
        set_membership(slapd, APPROVERS, "mover", False)
    assert (row["email"], row["department_code"], row["approver"]) == (
        "moved@pref.example.lg.jp", "0102", 1)
    assert "user.directory_update" in audit_actions(db)


def test_a_user_who_lost_the_group_loses_access_at_the_next_login(db, settings_of, slapd):
    epoch = sign_in(db, settings_of, "mover")["session_epoch"]
    set_membership(slapd, DEPARTMENTS, "mover", False)
    try:
        with pytest.raises(directory_accounts.NotGranted):
            sign_in(db, settings_of, "mover")
    finally:
        set_membership(slapd, DEPARTMENTS, "mover", True)
    row = user_store.get_user_by_login(db, "mover")
    assert row["session_epoch"] > epoch  # the sessions still open end too
    assert "user.directory_refused" in audit_actions(db)


def test_a_deactivated_directory_account_stays_out(db, settings_of):
    row = sign_in(db, settings_of, "tanaka")
    accounts.deactivate(db, None, row["id"])
    assert sign_in(db, settings_of, "tanaka") is None


def test_a_local_account_of_the_same_name_wins_over_the_directory(db, settings_of,
                                                                  make_user):
    make_user("tanaka", "department", "0101")
    assert sign_in(db, settings_of, "tanaka") is None  # the directory password
    assert sign_in(db, settings_of, "tanaka", TEST_PASSWORD)["auth_source"] == "local"


def test_local_accounts_work_while_the_directory_is_down(db, settings_of, make_user):
    from tests.serving import free_port

    make_user("kikaku")
    row = sign_in(db, settings_of, "kikaku", TEST_PASSWORD,
                  LDAP_URL=f"ldap://127.0.0.1:{free_port()}")
    assert row["login"] == "kikaku"


def test_local_accounts_work_while_the_directory_settings_are_broken(db, settings_of,
                                                                    make_user):
    make_user("kikaku")
    assert sign_in(db, settings_of, "kikaku", TEST_PASSWORD, LDAP_ROLE_GROUPS="x")


def test_a_directory_account_cannot_log_in_with_directory_login_off(db, settings_of):
    sign_in(db, settings_of, "tanaka")
    assert sign_in(db, settings_of, "tanaka", LDAP_URL="") is None
    assert user_store.get_user_by_login(db, "tanaka")["failed_logins"] == 0


# --- switching between local and directory -----------------------------------------------

def test_switching_to_the_directory_drops_the_local_password(db, make_user, settings_of):
    user = make_user("tanaka", "department", "0101")
    directory_accounts.make_directory_account(db, None, user["id"], directory_on=True)
    row = user_store.get_user(db, user["id"])
    assert (row["auth_source"], row["password_hash"]) == ("directory", "")
    assert row["session_epoch"] > user["session_epoch"]
    assert sign_in(db, settings_of, "tanaka")["auth_source"] == "directory"


def test_switching_to_local_sets_a_password_and_keeps_role_and_shozoku(db, settings_of):
    row = sign_in(db, settings_of, "tanaka")
    directory_accounts.make_local_account(db, None, row["id"], TEST_PASSWORD)
    after = sign_in(db, settings_of, "tanaka", TEST_PASSWORD)
    assert (after["auth_source"], after["role"], after["department_code"]) == (
        "local", "department", "0101")


def test_the_last_local_admin_stays_local(db, make_user):
    admin = make_user("kikaku")
    with pytest.raises(Invalid, match="最後のローカル管理者"):
        directory_accounts.make_directory_account(db, None, admin["id"], directory_on=True)


def test_switching_to_the_directory_needs_directory_login(db, make_user):
    user = make_user("tanaka", "department", "0101")
    with pytest.raises(Invalid, match="LDAP_URL"):
        directory_accounts.make_directory_account(db, None, user["id"], directory_on=False)


def test_a_directory_accounts_password_and_shozoku_are_not_set_here(db, settings_of):
    row = sign_in(db, settings_of, "tanaka")
    with pytest.raises(Invalid, match="ディレクトリのアカウント"):
        accounts.reset_password(db, None, row["id"], TEST_PASSWORD)
    with pytest.raises(Invalid, match="ディレクトリのアカウント"):
        accounts.set_department(db, None, row["id"], "0102")


# --- what the directory grants, checked without writing ---------------------------------------

def test_check_reports_the_grant_and_writes_nothing(db, directory_config):
    settings = directory.settings_from({**config.DEFAULTS, **directory_config})
    grant = directory_accounts.check(db, settings, "tanaka", USERS["tanaka"].password)
    assert (grant.role, grant.department_code, grant.approver) == ("department", "0101", True)
    assert user_store.get_user_by_login(db, "tanaka") is None


# --- email and approver of local accounts (DESIGN.md §10) -------------------------------------

def test_a_local_department_user_may_be_an_approver_with_an_email(db, make_user):
    user = make_user("soumu", "department", "0101")
    accounts.set_contact(db, None, user["id"], "soumu@pref.example.lg.jp", True)
    row = user_store.get_user(db, user["id"])
    assert (row["email"], row["approver"]) == ("soumu@pref.example.lg.jp", 1)


def test_only_department_users_are_approvers(db, make_user):
    admin = make_user("kikaku")
    with pytest.raises(Invalid, match="承認者"):
        accounts.set_contact(db, None, admin["id"], "", True)


@pytest.mark.parametrize("email", ["no-at-sign", "a@b", "two@@x.jp", "a b@x.jp", "@x.jp"])
def test_a_malformed_email_is_refused(db, make_user, email):
    user = make_user("soumu", "department", "0101")
    with pytest.raises(Invalid, match="メールアドレス"):
        accounts.set_contact(db, None, user["id"], email, False)


# --- surveyapp ldap sync -------------------------------------------------------------------

def sync(db, settings_of, **overrides):
    return directory_accounts.sync(db, directory.settings_from(settings_of(**overrides)))


def test_the_sync_withdraws_an_account_taken_out_of_its_group_and_revokes_its_tokens(
        db, settings_of, slapd):
    sign_in(db, settings_of, "mover")
    token = accounts.create_api_token(db, "mover")
    set_membership(slapd, DEPARTMENTS, "mover", False)
    try:
        lines = sync(db, settings_of)
    finally:
        set_membership(slapd, DEPARTMENTS, "mover", True)
    assert directory_accounts.SyncLine("mover", "withdrawn", "NotGranted") in lines
    assert accounts.user_for_token(db, token) is None
    assert "user.directory_refused" in audit_actions(db)


def test_the_sync_withdraws_an_account_the_directory_no_longer_knows(db, settings_of):
    user_store.insert_directory_user(db, "retired", {
        "dn": "uid=retired,ou=people,dc=example", "role": "department",
        "department_code": "0101", "approver": False, "email": "", "display_name": ""})
    token = accounts.create_api_token(db, "retired")
    assert sync(db, settings_of) == [
        directory_accounts.SyncLine("retired", "withdrawn", "WrongCredentials")]
    assert accounts.user_for_token(db, token) is None


def test_the_sync_keeps_and_updates_an_account_the_directory_still_grants(
        db, settings_of, slapd):
    sign_in(db, settings_of, "mover")
    token = accounts.create_api_token(db, "mover")
    replace_values(slapd, USERS["mover"].dn, "mail", ["moved@pref.example.lg.jp"])
    try:
        lines = sync(db, settings_of)
    finally:
        replace_values(slapd, USERS["mover"].dn, "mail", [USERS["mover"].mail])
    assert lines == [directory_accounts.SyncLine("mover", "kept")]
    assert user_store.get_user_by_login(db, "mover")["email"] == "moved@pref.example.lg.jp"
    assert accounts.user_for_token(db, token)["login"] == "mover"


def test_an_unreachable_directory_stops_the_sync_and_withdraws_nobody(db, settings_of):
    sign_in(db, settings_of, "tanaka")
    token = accounts.create_api_token(db, "tanaka")
    with pytest.raises(directory.Unreachable):
        sync(db, settings_of, LDAP_URL="ldap://127.0.0.1:9", LDAP_TIMEOUT=2)
    assert accounts.user_for_token(db, token)["login"] == "tanaka"
    assert "user.directory_refused" not in audit_actions(db)


def test_the_sync_leaves_local_accounts_alone(db, settings_of, make_user):
    make_user("localclerk", "department", "0101")
    assert sync(db, settings_of) == []
