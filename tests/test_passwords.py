"""The password rule beyond length (NIST SP 800-63B §5.1.1.2): no login name, no long
repeats, no simple sequences, nothing from the shipped list of common passwords; each
refusal says why in Japanese (and in English on an English page)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.refusals import Invalid
from surveyapp.services import accounts, passwords
from tests.conftest import TEST_PASSWORD


def reason(password: str, login: str = "someone") -> str | None:
    found = passwords.weakness(password, login)
    return found[0] if found else None


@pytest.mark.parametrize("password", [TEST_PASSWORD, "紫陽花が咲く頃に会いましょう",
                                      "Tr0ub4dor&3-lamp-7", "kagawa-udon-ga-suki-2021"])
def test_a_long_unusual_password_is_accepted(password):
    assert reason(password) is None


@pytest.mark.parametrize("password", ["tanaka-1234567", "MyTanakaPassphrase!", "surveyapp-2021-pw"])
def test_a_password_containing_the_login_or_the_tool_name_is_refused(password):
    assert reason(password, login="Tanaka") == passwords.CONTAINS_NAME


def test_a_one_or_two_letter_login_is_not_looked_for():
    assert reason("correct horse battery staple", login="or") is None


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcabcabcabc", "passwordpassword",
                                      "horse-battery!!!!!"])
def test_repeats_are_refused(password):
    assert reason(password) == passwords.REPEATS


@pytest.mark.parametrize("password", ["123456789012", "abcdefghijkl", "qwertyuiop12",
                                      "1qaz2wsx3edc", "zyxwvutsrqpo", "9876543210987"])
def test_simple_sequences_are_refused(password):
    assert reason(password) == passwords.SEQUENCE


@pytest.mark.parametrize("password", ["1q2w3e4r5t6y", "iloveyou2024!", "!!sunshine!!2021",
                                      "Password123456"])
def test_common_passwords_and_their_decorated_forms_are_refused(password):
    assert reason(password) == passwords.COMMON


def test_the_shipped_list_is_a_real_list_of_common_passwords():
    common = passwords.common_passwords()
    assert len(common) > 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= common


@given(st.text(max_size=80), st.text(max_size=20))
def test_any_text_gets_a_verdict_never_an_error(password, login):
    found = passwords.weakness(password, login)
    assert found is None or found[0] in (passwords.CONTAINS_NAME, passwords.REPEATS,
                                         passwords.SEQUENCE, passwords.COMMON)


def test_creating_a_user_with_a_weak_password_is_refused_with_the_reason(db):
    with pytest.raises(Invalid) as refused:
        accounts.create_user(db, "suzuki", "admin", "aaaaaaaaaaaa")
    assert refused.value.message == passwords.REPEATS
    assert "繰り返した" in str(refused.value)


def test_changing_to_a_password_with_the_own_login_is_refused(db, make_user):
    user = make_user("yamada")
    with pytest.raises(Invalid) as refused:
        accounts.change_password(db, user["id"], TEST_PASSWORD, "yamada-no-password")
    assert refused.value.message == passwords.CONTAINS_NAME


def test_an_admin_reset_to_a_common_password_is_refused(db, make_user):
    user = make_user("sato")
    with pytest.raises(Invalid) as refused:
        accounts.reset_password(db, None, user["id"], "qwertyuiopasdfgh")
    assert refused.value.message in (passwords.SEQUENCE, passwords.COMMON)


def test_the_web_form_shows_the_reason_in_japanese_and_in_english(client, make_user, login_as):
    make_user("kobayashi")
    login_as(client, "kobayashi")
    form = {"current_password": TEST_PASSWORD, "new_password": "123456789012",
            "new_password_again": "123456789012"}
    page = client.post("/account/password", data=form, follow_redirects=True)
    assert "単純な並び" in page.text
    client.post("/lang", data={"lang": "en"})
    page = client.post("/account/password", data=form, follow_redirects=True)
    assert "Simple sequences" in page.text
