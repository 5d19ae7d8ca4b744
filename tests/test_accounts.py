"""services.accounts without the web: passwords, lockout, admin actions, API tokens."""

import json

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyapp.refusals import Refusal
from surveyapp.services import accounts
from surveyapp.store import users as user_store
from tests.conftest import TEST_PASSWORD


def audit_actions(db):
    return [row["action"] for row in db.query("SELECT action FROM audit_log ORDER BY id")]


def test_passwords_are_stored_as_argon2id(make_user):
    user = make_user("kikaku")
    assert user["password_hash"].startswith("$argon2id$")
    assert TEST_PASSWORD not in user["password_hash"]


def test_password_shorter_than_twelve_characters_is_refused(db):
    with pytest.raises(Refusal, match="12文字以上"):
        accounts.create_user(db, "kikaku", "admin", "x" * 11)


def test_unknown_role_is_refused(db):
    with pytest.raises(Refusal, match="権限"):
        accounts.create_user(db, "kikaku", "superuser", TEST_PASSWORD)


def test_department_user_needs_a_department(db):
    with pytest.raises(Refusal, match="所属を指定"):
        accounts.create_user(db, "soumu", "department", TEST_PASSWORD)


def test_department_user_needs_an_existing_department(db):
    with pytest.raises(Refusal, match="登録されていません"):
        accounts.create_user(db, "soumu", "department", TEST_PASSWORD, "NOPE")


def test_department_user_belongs_to_a_unit_not_a_bureau(db, make_user):
    make_user("first", "department", "S01")  # creates 部局 TEST-BU with 所属 S01
    with pytest.raises(Refusal, match="部局"):
        accounts.create_user(db, "soumu", "department", TEST_PASSWORD, "TEST-BU")


def test_admin_cannot_have_a_department(db, make_user):
    make_user("first", "department", "S01")
    with pytest.raises(Refusal, match="department 権限"):
        accounts.create_user(db, "kikaku", "admin", TEST_PASSWORD, "S01")


def test_login_names_are_unique_ignoring_case(db, make_user):
    make_user("Kikaku")
    with pytest.raises(Refusal, match="既に使われています"):
        accounts.create_user(db, "kikaku", "auditor", TEST_PASSWORD)


def test_creating_a_user_is_audit_logged(db, make_user):
    admin = make_user("kikaku")
    accounts.create_user(db, "kansa", "auditor", TEST_PASSWORD, actor_id=admin["id"])
    entry = db.execute("SELECT user_id, detail FROM audit_log "
                       "WHERE action = 'user.create' ORDER BY id DESC").fetchone()
    assert entry[0] == admin["id"]
    assert json.loads(entry[1])["login"] == "kansa"


def test_authenticate_returns_the_user_for_the_right_password(db, make_user):
    make_user("kikaku")
    assert accounts.authenticate(db, "KIKAKU", TEST_PASSWORD)["login"] == "kikaku"


def test_wrong_password_and_unknown_login_both_give_none(db, make_user):
    make_user("kikaku")
    assert accounts.authenticate(db, "kikaku", "wrong password!") is None
    assert accounts.authenticate(db, "nobody", TEST_PASSWORD) is None


class RecordingHasher(PasswordHasher):
    """Remembers which stored hashes were verified."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = []

    def verify(self, stored_hash, password):
        self.verified.append(stored_hash)
        return super().verify(stored_hash, password)


def test_unknown_login_is_verified_against_a_dummy_hash(db, monkeypatch):
    recording = RecordingHasher()
    monkeypatch.setattr(accounts, "hasher", recording)
    accounts.dummy_hash.cache_clear()
    assert accounts.authenticate(db, "nobody", TEST_PASSWORD) is None
    assert recording.verified == [accounts.dummy_hash()]


def test_failed_logins_are_counted_and_reset_on_success(db, make_user):
    user = make_user("kikaku")
    for _attempt in range(3):
        accounts.authenticate(db, "kikaku", "wrong password!")
    assert user_store.get_user(db, user["id"])["failed_logins"] == 3
    accounts.authenticate(db, "kikaku", TEST_PASSWORD)
    assert user_store.get_user(db, user["id"])["failed_logins"] == 0


def test_account_locks_after_the_configured_number_of_failures(db, make_user):
    user = make_user("kikaku")
    for _attempt in range(3):
        accounts.authenticate(db, "kikaku", "wrong password!", lock_after=3)
    assert user_store.get_user(db, user["id"])["locked_at"] is not None
    assert accounts.authenticate(db, "kikaku", TEST_PASSWORD, lock_after=3) is None
    assert "user.lock" in audit_actions(db)


def test_unlock_lets_the_user_in_again(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    for _attempt in range(3):
        accounts.authenticate(db, "kansa", "wrong password!", lock_after=3)
    accounts.unlock(db, admin["id"], user["id"])
    assert accounts.authenticate(db, "kansa", TEST_PASSWORD, lock_after=3) is not None
    assert "user.unlock" in audit_actions(db)


def test_outdated_hash_is_upgraded_on_login(db, make_user, monkeypatch):
    user = make_user("kikaku")
    old_hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    user_store.replace_password_hash(db, user["id"], old_hasher.hash(TEST_PASSWORD))
    accounts.authenticate(db, "kikaku", TEST_PASSWORD)
    new_hash = user_store.get_user(db, user["id"])["password_hash"]
    assert not accounts.hasher.check_needs_rehash(new_hash)
    assert accounts.password_matches(new_hash, TEST_PASSWORD)


def test_inactive_user_cannot_authenticate(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    accounts.deactivate(db, admin["id"], user["id"])
    assert accounts.authenticate(db, "kansa", TEST_PASSWORD) is None


def test_change_password_needs_the_current_password(db, make_user):
    user = make_user("kikaku")
    with pytest.raises(Refusal, match="現在のパスワード"):
        accounts.change_password(db, user["id"], "wrong password!", "another long password")


def test_change_password_raises_the_session_epoch(db, make_user):
    user = make_user("kikaku")
    row = accounts.change_password(db, user["id"], TEST_PASSWORD, "another long password")
    assert row["session_epoch"] == user["session_epoch"] + 1
    assert accounts.authenticate(db, "kikaku", "another long password") is not None


def test_reset_password_ends_sessions_clears_the_lock_and_is_audited(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    for _attempt in range(3):
        accounts.authenticate(db, "kansa", "wrong password!", lock_after=3)
    accounts.reset_password(db, admin["id"], user["id"], "a brand new password")
    row = user_store.get_user(db, user["id"])
    assert row["session_epoch"] == user["session_epoch"] + 1
    assert row["locked_at"] is None
    assert "user.password_reset" in audit_actions(db)


def test_deactivation_raises_the_session_epoch(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    accounts.deactivate(db, admin["id"], user["id"])
    row = user_store.get_user(db, user["id"])
    assert (row["active"], row["session_epoch"]) == (0, user["session_epoch"] + 1)


def test_admin_cannot_deactivate_themselves(db, make_user):
    admin = make_user("kikaku")
    with pytest.raises(Refusal, match="自分自身"):
        accounts.deactivate(db, admin["id"], admin["id"])


def test_last_active_admin_cannot_be_deactivated(db, make_user):
    admin = make_user("kikaku")
    with pytest.raises(Refusal, match="最後の有効な管理者"):
        accounts.deactivate(db, None, admin["id"])


def test_reactivate_restores_login(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    accounts.deactivate(db, admin["id"], user["id"])
    accounts.reactivate(db, admin["id"], user["id"])
    assert accounts.authenticate(db, "kansa", TEST_PASSWORD) is not None


def test_set_department_moves_a_department_user_and_is_audited(db, make_user):
    admin = make_user("kikaku")
    make_user("other", "department", "S02")
    user = make_user("soumu", "department", "S01")
    accounts.set_department(db, admin["id"], user["id"], "S02")
    assert user_store.get_user(db, user["id"])["department_code"] == "S02"
    assert "user.department" in audit_actions(db)


def test_failed_admin_action_leaves_no_audit_entry(db, make_user):
    admin = make_user("kikaku")
    user = make_user("soumu", "department", "S01")
    with pytest.raises(Refusal):
        accounts.set_department(db, admin["id"], user["id"], "NOPE")
    assert "user.department" not in audit_actions(db)


def test_api_token_is_stored_only_as_its_hash(db, make_user):
    make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    stored = [row["token_hash"] for row in db.query("SELECT token_hash FROM api_tokens")]
    assert stored == [accounts.token_hash(token)]
    assert token not in stored


def test_user_for_token_finds_the_owner(db, make_user):
    make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    assert accounts.user_for_token(db, token)["login"] == "kansa"


def test_revoked_token_no_longer_works(db, make_user):
    make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    assert accounts.revoke_api_token(db, token)
    assert accounts.user_for_token(db, token) is None
    assert not accounts.revoke_api_token(db, token)


def test_token_of_a_deactivated_user_no_longer_works(db, make_user):
    admin, user = make_user("kikaku"), make_user("kansa", "auditor")
    token = accounts.create_api_token(db, "kansa")
    accounts.deactivate(db, admin["id"], user["id"])
    assert accounts.user_for_token(db, token) is None


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(guess=st.text(max_size=300))
def test_no_guessed_token_finds_a_user(db, make_user, guess):
    if user_store.get_user_by_login(db, "kansa") is None:
        make_user("kansa", "auditor")
        accounts.create_api_token(db, "kansa")
    assert accounts.user_for_token(db, guess) is None


def test_fiscal_year_starts_in_april():
    from datetime import date

    assert accounts.fiscal_year_of(date(2022, 3, 31)) == 2021
    assert accounts.fiscal_year_of(date(2022, 4, 1)) == 2022
