"""Search-and-bind against a real OpenLDAP (DESIGN.md §11), services/directory.py:
the right entry, its groups, TLS checked, and every fault a DirectoryError with a
Japanese message and a detail for the log."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveyapp import config
from surveyapp.services import directory
from tests.ldap_server import (
    ADMINS,
    APPROVERS,
    DEPARTMENTS,
    HIDDEN_DEPARTMENTS,
    USERS,
    directory_settings,
)


@pytest.fixture
def settings_for(slapd):
    """settings_for(**overrides) -> DirectorySettings for the test tree."""
    def make(**overrides):
        return directory.settings_from(
            {**config.DEFAULTS, **directory_settings(slapd.url), **overrides})
    return make


def password_of(login: str) -> str:
    return USERS[login].password


def test_search_and_bind_gives_the_entry_with_its_attributes(settings_for):
    entry = directory.authenticate(settings_for(), "tanaka", password_of("tanaka"))
    assert entry.dn == USERS["tanaka"].dn
    assert (entry.department, entry.email, entry.display_name) == (
        "0101", "tanaka@pref.example.lg.jp", "田中 一郎")


def test_groups_come_from_the_group_entries_members(settings_for):
    entry = directory.authenticate(settings_for(), "tanaka", password_of("tanaka"))
    assert entry.groups == {DEPARTMENTS, APPROVERS}


def test_membership_the_service_account_cannot_read_counts_through_memberof(settings_for):
    """The group under ou=restricted is unreadable; the user's memberOf names it."""
    restricted = settings_for(LDAP_ROLE_GROUPS=f"department={HIDDEN_DEPARTMENTS}")
    entry = directory.authenticate(restricted, "hidden", password_of("hidden"))
    assert entry.groups == {HIDDEN_DEPARTMENTS}


def test_a_wrong_password_is_refused(settings_for):
    with pytest.raises(directory.WrongCredentials) as refused:
        directory.authenticate(settings_for(), "tanaka", "not-the-password")
    assert "invalidCredentials" in refused.value.detail


def test_an_unknown_login_is_refused_as_a_wrong_password_is(settings_for):
    with pytest.raises(directory.WrongCredentials) as refused:
        directory.authenticate(settings_for(), "nobody", "whatever-password")
    assert refused.value.message == directory.WrongCredentials("").message


def test_an_empty_password_never_reaches_the_directory(settings_for):
    """An empty password would be an unauthenticated bind, which some servers accept:
    it is refused before connecting (here to a port nobody listens on)."""
    from tests.serving import free_port

    with pytest.raises(directory.WrongCredentials):
        directory.authenticate(settings_for(LDAP_URL=f"ldap://127.0.0.1:{free_port()}"),
                               "tanaka", "")


def test_two_entries_for_one_login_are_refused(settings_for):
    with pytest.raises(directory.AmbiguousLogin) as refused:
        directory.authenticate(settings_for(), "twin", USERS["tanaka"].password)
    assert refused.value.params == {"login": "twin"}


@pytest.mark.parametrize("login", ["*", ")(uid=*", "*)(|(uid=*", "tanaka)(|(uid=*)",
                                   "tan*", "(uid=tanaka)", "tanaka\\", "\x00"])
def test_filter_characters_in_the_login_match_only_themselves(settings_for, login):
    with pytest.raises(directory.WrongCredentials):
        directory.authenticate(settings_for(), login, password_of("tanaka"))


def test_a_login_holding_a_star_logs_in_as_itself(settings_for):
    entry = directory.authenticate(settings_for(), "star*user", password_of("star*user"))
    assert entry.dn == USERS["star*user"].dn


@settings(max_examples=40)
@given(st.text(alphabet="*()\\=|&!<>~ta nk", min_size=1, max_size=12))
def test_no_typed_login_other_than_the_own_binds_with_tanakas_password(slapd, login):
    settings_ = directory.settings_from({**config.DEFAULTS, **directory_settings(slapd.url)})
    if login == "tanaka":
        return
    with pytest.raises(directory.WrongCredentials):
        directory.authenticate(settings_, login, password_of("tanaka"))


def test_ldaps_with_the_ca_file_checks_the_server(settings_for, slapd, ldap_certificates):
    secure = settings_for(LDAP_URL=slapd.ldaps_url, LDAP_CA_FILE=str(ldap_certificates.ca_file))
    assert directory.authenticate(secure, "yamada", password_of("yamada")).groups == {ADMINS}


def test_starttls_upgrades_the_plain_connection(settings_for, ldap_certificates):
    secure = settings_for(LDAP_STARTTLS=True, LDAP_CA_FILE=str(ldap_certificates.ca_file))
    assert directory.authenticate(secure, "yamada", password_of("yamada")).groups == {ADMINS}


@pytest.mark.parametrize("starttls", [False, True], ids=["ldaps", "starttls"])
def test_an_expired_certificate_is_refused(settings_for, expired_slapd, ldap_certificates,
                                           starttls):
    url = expired_slapd.url if starttls else expired_slapd.ldaps_url
    expired = settings_for(LDAP_URL=url, LDAP_STARTTLS=starttls,
                           LDAP_CA_FILE=str(ldap_certificates.ca_file))
    with pytest.raises(directory.CertificateRefused) as refused:
        directory.authenticate(expired, "yamada", password_of("yamada"))
    assert "certificate has expired" in refused.value.detail


def test_a_certificate_from_another_ca_is_refused(settings_for, slapd, ldap_certificates):
    other = settings_for(LDAP_URL=slapd.ldaps_url,
                         LDAP_CA_FILE=str(ldap_certificates.other_ca_file))
    with pytest.raises(directory.CertificateRefused):
        directory.authenticate(other, "yamada", password_of("yamada"))


def test_a_missing_ca_file_is_a_configuration_error(settings_for, slapd):
    with pytest.raises(directory.MisConfigured):
        directory.authenticate(settings_for(LDAP_URL=slapd.ldaps_url,
                                            LDAP_CA_FILE="/nonexistent/ca.pem"),
                               "yamada", password_of("yamada"))


def test_a_directory_that_is_down_is_unreachable(settings_for):
    from tests.serving import free_port

    with pytest.raises(directory.Unreachable) as refused:
        directory.authenticate(settings_for(LDAP_URL=f"ldap://127.0.0.1:{free_port()}"),
                               "yamada", password_of("yamada"))
    assert "refused" in refused.value.detail.lower()


@pytest.mark.parametrize("scheme", ["ldap", "ldaps"])
def test_a_directory_that_does_not_answer_times_out(settings_for, silent_directory, scheme):
    url = silent_directory.replace("ldap://", f"{scheme}://")
    with pytest.raises(directory.Unreachable) as refused:
        directory.authenticate(settings_for(LDAP_URL=url, LDAP_TIMEOUT=1), "yamada",
                               password_of("yamada"))
    assert "timed out" in refused.value.detail


def test_a_wrong_service_account_password_is_refused(settings_for):
    with pytest.raises(directory.ServiceAccountRefused) as refused:
        directory.authenticate(settings_for(LDAP_BIND_PASSWORD="wrong"), "yamada",
                               password_of("yamada"))
    assert "invalidCredentials" in refused.value.detail


def test_look_up_finds_the_entry_without_the_users_password(settings_for):
    assert directory.look_up(settings_for(), "tanaka").groups == {DEPARTMENTS, APPROVERS}


# --- settings, no server needed ------------------------------------------------------------

def test_directory_login_is_off_without_a_url():
    assert directory.settings_from(config.DEFAULTS) is None


def test_role_groups_are_kept_in_the_order_admin_auditor_department():
    parsed = directory.parse_role_groups("department=cn=d,dc=x; admin=cn=a,dc=x")
    assert parsed == (("admin", "cn=a,dc=x"), ("department", "cn=d,dc=x"))


@pytest.mark.parametrize("name, value", [
    ("LDAP_URL", "http://dc01"),
    ("LDAP_USER_FILTER", "(uid=tanaka)"),
    ("LDAP_ROLE_GROUPS", "boss=cn=a,dc=x"),
    ("LDAP_ROLE_GROUPS", ""),
    ("LDAP_ROLE_GROUPS", "admin=not a dn"),
    ("LDAP_APPROVER_GROUP", "cn=x,,=y"),
    ("LDAP_USER_BASE", ""),
    ("LDAP_TIMEOUT", 0),
])
def test_a_setting_that_cannot_work_is_named(name, value):
    values = {**config.DEFAULTS, **directory_settings("ldap://127.0.0.1:389"), name: value}
    with pytest.raises(directory.MisConfigured) as refused:
        directory.settings_from(values)
    assert name in refused.value.detail
