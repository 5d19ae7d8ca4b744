"""The directory (Active Directory or OpenLDAP) over LDAP with ldap3: search-and-bind.

DESIGN.md §11. Bind as the service account, find exactly one entry with the configured
filter (the login escaped as RFC 4515 asks, so `*` or `)(uid=*` match only themselves),
then bind as that entry with the user's password. Group membership is read from the
configured group entries' `member` (or `uniqueMember`) values and from the user's
`memberOf`. Only the configured directory is contacted: referrals are never followed.

Every failure raises a `DirectoryError`: a refusal (surveyapp.refusals; `Denied` when the
directory says no, `Unavailable` when it cannot be asked) for the user, and `detail`, a
technical line for the administrator's log that never holds a password.
Nothing here knows about users of surveyapp; `directory_accounts` maps an entry to one.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from surveyapp.model import N_
from surveyapp.refusals import Denied, Refusal, Unavailable

if TYPE_CHECKING:
    from ldap3 import Connection, Server


@functools.cache
def ldap3() -> SimpleNamespace:
    """The parts of ldap3 used here, imported on first use: it costs a quarter of a
    second, which a server start and every command without a directory login need not
    pay (tests/test_startup.py)."""
    modules = {name: importlib.import_module(name) for name in (
        "ldap3", "ldap3.core.exceptions", "ldap3.utils.conv", "ldap3.utils.dn")}
    parts = {"ldap3": ("BASE", "NONE", "SUBTREE", "Connection", "Server", "Tls"),
             "ldap3.core.exceptions": ("LDAPException", "LDAPSSLConfigurationError",
                                       "LDAPStartTLSError"),
             "ldap3.utils.conv": ("escape_filter_chars",), "ldap3.utils.dn": ("parse_dn",)}
    found = {name: getattr(modules[module], name)
             for module, names in parts.items() for name in names}
    return SimpleNamespace(**found, VerifiedTls=verified_tls_class(found["Tls"]))

# The order in which a user's groups decide the role: the first mapped group wins.
ROLE_ORDER = ("admin", "auditor", "department")
MEMBER_OF = "memberOf"


class DirectoryError(Refusal):
    """A refused directory login; `detail` is for the log, `message` for the user."""

    def __init__(self, message: str, detail: str = "", **params: object) -> None:
        super().__init__(message, **params)
        self.detail = detail


class WrongCredentials(DirectoryError, Denied):
    """Unknown login or wrong password: the caller shows the one message for both."""

    def __init__(self, detail: str) -> None:
        super().__init__(N_("ログイン名またはパスワードが正しくありません。"), detail)


class AmbiguousLogin(DirectoryError, Denied):
    def __init__(self, login: str, count: int) -> None:
        super().__init__(N_("ログイン名 %(login)s に当たる利用者がディレクトリに複数あるため、"
                            "ログインできません。情報企画課にお問い合わせください。"),
                         f"{count} entries match the login", login=login)


class Unreachable(DirectoryError, Unavailable):
    def __init__(self, detail: str) -> None:
        super().__init__(N_("ディレクトリサーバー（Active Directory）に接続できないため、"
                            "ログインできません。しばらくしてからもう一度お試しください。"
                            "続く場合は情報企画課にお問い合わせください。"), detail)


class CertificateRefused(DirectoryError, Unavailable):
    def __init__(self, detail: str) -> None:
        super().__init__(N_("ディレクトリサーバーの証明書を確認できないため、ログインできません"
                            "（期限切れ・発行元の違いなど）。情報企画課にお問い合わせください。"),
                         detail)


class ServiceAccountRefused(DirectoryError, Unavailable):
    def __init__(self, detail: str) -> None:
        super().__init__(N_("ディレクトリ検索用のアカウントでディレクトリに接続できないため、"
                            "ログインできません。情報企画課にお問い合わせください。"), detail)


class MisConfigured(DirectoryError, Unavailable):
    def __init__(self, detail: str) -> None:
        super().__init__(N_("ディレクトリ連携の設定に誤りがあるため、ログインできません。"
                            "情報企画課にお問い合わせください。"), detail)


@dataclass(frozen=True)
class DirectorySettings:
    """The LDAP_* settings, checked. `role_groups` pairs each role with its group DN,
    in ROLE_ORDER."""

    url: str
    starttls: bool
    ca_file: str
    bind_dn: str
    bind_password: str
    user_base: str
    user_filter: str
    department_attribute: str
    email_attribute: str
    name_attribute: str
    role_groups: tuple[tuple[str, str], ...]
    approver_group: str
    timeout: int
    department_map_file: str = ""

    @property
    def group_dns(self) -> tuple[str, ...]:
        return tuple(dn for _, dn in self.role_groups) + tuple(
            filter(None, [self.approver_group]))


def settings_from(config: Mapping) -> DirectorySettings | None:
    """The directory settings of an app config; None when LDAP_URL is empty (off).
    A setting that cannot work raises MisConfigured naming it."""
    url = str(config.get("LDAP_URL") or "").strip()
    if not url:
        return None
    if not url.lower().startswith(("ldap://", "ldaps://")):
        raise MisConfigured(f"LDAP_URL must start with ldap:// or ldaps://: {url!r}")
    user_filter = str(config.get("LDAP_USER_FILTER") or "")
    if "{login}" not in user_filter or not user_filter.startswith("("):
        raise MisConfigured(f"LDAP_USER_FILTER must be a filter holding {{login}}: "
                            f"{user_filter!r}")
    return DirectorySettings(
        url=url, starttls=bool(config.get("LDAP_STARTTLS")),
        ca_file=str(config.get("LDAP_CA_FILE") or ""),
        bind_dn=str(config.get("LDAP_BIND_DN") or ""),
        bind_password=str(config.get("LDAP_BIND_PASSWORD") or ""),
        user_base=checked_dn("LDAP_USER_BASE", required(config, "LDAP_USER_BASE")),
        user_filter=user_filter,
        department_attribute=required(config, "LDAP_DEPARTMENT_ATTRIBUTE"),
        email_attribute=required(config, "LDAP_EMAIL_ATTRIBUTE"),
        name_attribute=str(config.get("LDAP_NAME_ATTRIBUTE") or ""),
        role_groups=parse_role_groups(str(config.get("LDAP_ROLE_GROUPS") or "")),
        approver_group=approver_group(config),
        timeout=positive_int(config, "LDAP_TIMEOUT"),
        department_map_file=str(config.get("LDAP_DEPARTMENT_MAP_FILE") or ""))


def required(config: Mapping, name: str) -> str:
    value = str(config.get(name) or "").strip()
    if not value:
        raise MisConfigured(f"{name} is empty")
    return value


def checked_dn(name: str, dn: str) -> str:
    try:
        ldap3().parse_dn(dn)
    except ldap3().LDAPException as error:
        raise MisConfigured(f"{name}: {dn!r} is not a DN ({error})") from error
    return dn


def positive_int(config: Mapping, name: str) -> int:
    """ldap3 hands the receive timeout to setsockopt as whole seconds."""
    try:
        value = int(config.get(name))
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise MisConfigured(f"{name} must be a whole number of seconds, at least 1")
    return value


def approver_group(config: Mapping) -> str:
    dn = str(config.get("LDAP_APPROVER_GROUP") or "").strip()
    return checked_dn("LDAP_APPROVER_GROUP", dn) if dn else ""


def parse_role_groups(text: str) -> tuple[tuple[str, str], ...]:
    """`admin=<DN>;auditor=<DN>;department=<DN>` -> pairs in ROLE_ORDER. A DN holds
    commas and equals signs, so each part splits at its first `=` only."""
    groups = {}
    for part in filter(None, (part.strip() for part in text.split(";"))):
        role, _, dn = part.partition("=")
        role, dn = role.strip().lower(), dn.strip()
        if role not in ROLE_ORDER or not dn:
            raise MisConfigured(f"LDAP_ROLE_GROUPS: {part!r} is not role=<group DN> "
                                f"(roles: {', '.join(ROLE_ORDER)})")
        groups[role] = checked_dn("LDAP_ROLE_GROUPS", dn)
    if not groups:
        raise MisConfigured("LDAP_ROLE_GROUPS names no group")
    return tuple((role, groups[role]) for role in ROLE_ORDER if role in groups)


@dataclass(frozen=True)
class DirectoryEntry:
    """What the directory says about one user. `groups` holds the configured group DNs
    (as configured) that the user belongs to."""

    dn: str
    department: str
    email: str
    display_name: str
    groups: frozenset[str]


# --- the two ways in ---------------------------------------------------------------------

def authenticate(settings: DirectorySettings, login: str, password: str) -> DirectoryEntry:
    """Search-and-bind: the entry of `login` when `password` is its password."""
    if not password:
        # An empty password would be an "unauthenticated bind", which some directories
        # answer with success without checking anything (RFC 4513 5.1.2).
        raise WrongCredentials("empty password")
    with service_connection(settings) as connection:
        entry = find_entry(connection, settings, login)
        bind_as(connection, entry.dn, password)
    return entry


def look_up(settings: DirectorySettings, login: str) -> DirectoryEntry:
    """The entry of `login` found by the service account alone, for a user the web
    server in front has already authenticated (TRUSTED_USER_HEADER) and for checks."""
    with service_connection(settings) as connection:
        return find_entry(connection, settings, login)


# --- connecting ---------------------------------------------------------------------------

@contextlib.contextmanager
def service_connection(settings: DirectorySettings) -> Iterator[Connection]:
    """A connection bound as the service account (TLS first when configured); every
    ldap3 failure inside becomes a DirectoryError."""
    connection = ldap3().Connection(
        server_for(settings), user=settings.bind_dn or None,
        password=settings.bind_password or None, auto_bind=False, read_only=True,
        receive_timeout=settings.timeout, auto_referrals=False, raise_exceptions=False)
    try:
        with translated_failures(connection):
            connection.open()
            if settings.starttls and not connection.server.ssl:
                connection.start_tls()
            if settings.bind_dn and not connection.bind():
                raise ServiceAccountRefused(f"bind as {settings.bind_dn}: "
                                            f"{result_text(connection)}")
            yield connection
    finally:
        close(connection)


def close(connection: Connection) -> None:
    """Unbind; and close the socket ourselves, which ldap3 leaves open when opening
    failed half-way (a refused TLS handshake)."""
    with contextlib.suppress(ldap3().LDAPException, OSError):
        connection.unbind()
    with contextlib.suppress(OSError):
        if connection.socket is not None:
            connection.socket.close()


def server_for(settings: DirectorySettings) -> Server:
    with translated_failures():
        use_ssl = settings.url.lower().startswith("ldaps://")
        tls = ldap3().VerifiedTls(ca_certs_file=settings.ca_file or None,
                                  validate=ssl.CERT_REQUIRED)
        return ldap3().Server(settings.url, use_ssl=use_ssl, tls=tls, get_info=ldap3().NONE,
                              connect_timeout=settings.timeout)


def verified_tls_class(tls: type) -> type:
    class VerifiedTls(tls):
        """ldap3's Tls, but certificate and host name are checked by the standard library
        (`check_hostname`), since ldap3's own check calls `ssl.match_hostname`, which is
        deprecated and gone from Python 3.12."""

        def wrap_socket(self, connection, do_handshake=False):
            context = ssl.create_default_context(cafile=self.ca_certs_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            connection.socket = context.wrap_socket(
                connection.socket, server_hostname=connection.server.host,
                do_handshake_on_connect=do_handshake)
    return VerifiedTls


@contextlib.contextmanager
def translated_failures(connection: Connection | None = None) -> Iterator[None]:
    """ldap3 raises classes made from its own and the socket's exception (e.g. an
    LDAPSocketOpenError that is also an SSLCertVerificationError): sort them into
    what the user is told."""
    try:
        yield
    except DirectoryError:
        raise
    except ldap3().LDAPSSLConfigurationError as error:
        raise MisConfigured(f"TLS settings (LDAP_CA_FILE): {error}") from error
    except (ldap3().LDAPException, OSError) as error:
        detail = failure_text(connection, error)
        if isinstance(error, TimeoutError) or "timed out" in detail:
            raise Unreachable(detail) from error
        if isinstance(error, ssl.SSLError | ssl.CertificateError | ldap3().LDAPStartTLSError) \
                or "ssl" in detail.lower() or "certificate" in detail.lower():
            raise CertificateRefused(f"TLS: {detail}") from error
        raise Unreachable(detail) from error


def failure_text(connection: Connection | None, error: Exception) -> str:
    """ldap3 keeps the readable reason on the connection; its exceptions repr tuples."""
    last_error = getattr(connection, "last_error", None)
    return f"{type(error).__name__}: {last_error or error}"


def result_text(connection: Connection) -> str:
    result = connection.result or {}
    return f"{result.get('description', '')} {result.get('message', '')}".strip()


# --- searching and binding ------------------------------------------------------------

def user_filter(settings: DirectorySettings, login: str) -> str:
    """The configured filter with the login escaped (RFC 4515: `*`, `(`, `)`, `\\` and
    NUL become `\\2a` ...), so a login can never change the filter's meaning."""
    return settings.user_filter.replace("{login}", ldap3().escape_filter_chars(login))


def find_entry(connection: Connection, settings: DirectorySettings,
               login: str) -> DirectoryEntry:
    """The one entry the filter finds for `login`, with its groups."""
    attributes = [settings.department_attribute, settings.email_attribute, MEMBER_OF,
                  *filter(None, [settings.name_attribute])]
    # Two are enough to know there is more than one.
    connection.search(settings.user_base, user_filter(settings, login), ldap3().SUBTREE,
                      attributes=attributes, size_limit=2)
    entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
    if not entries:
        if connection.result.get("description") not in ("success", "noSuchObject"):
            raise Unreachable(f"search for the login: {result_text(connection)}")
        raise WrongCredentials("no entry matches the login")
    if len(entries) > 1:
        raise AmbiguousLogin(login, len(entries))
    dn, values = entries[0]["dn"], entries[0]["attributes"]
    return DirectoryEntry(
        dn=dn, department=first(values, settings.department_attribute),
        email=first(values, settings.email_attribute),
        display_name=first(values, settings.name_attribute) if settings.name_attribute else "",
        groups=groups_of(connection, settings, dn, values.get(MEMBER_OF) or []))


def first(values: Mapping, attribute: str) -> str:
    value = values.get(attribute)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def groups_of(connection: Connection, settings: DirectorySettings, dn: str,
              member_of: list) -> frozenset[str]:
    """The configured groups the entry belongs to: by its `memberOf`, else by asking
    each group entry whether it lists the entry among its members (a base search, so a
    large group is never read whole)."""
    listed = {normalised_dn(value) for value in member_of}
    member_filter = "(|(member={0})(uniqueMember={0}))".format(ldap3().escape_filter_chars(dn))
    found = set()
    for group in settings.group_dns:
        if normalised_dn(group) in listed:
            found.add(group)
            continue
        connection.search(group, member_filter, ldap3().BASE, attributes=["1.1"])
        if any(item.get("type") == "searchResEntry" for item in connection.response or []):
            found.add(group)
    return frozenset(found)


def normalised_dn(dn: str) -> str:
    """DNs compare without regard to case or the spaces around separators."""
    try:
        parts = ldap3().parse_dn(str(dn))
    except ldap3().LDAPException:
        return str(dn).strip().lower()
    return ",".join(f"{name.strip().lower()}={value.strip().lower()}"
                    for name, value, _ in parts)


def bind_as(connection: Connection, dn: str, password: str) -> None:
    """Bind as the user on the same connection: the directory checks the password."""
    if not connection.rebind(user=dn, password=password):
        # invalidCredentials, or (Active Directory) a disabled, expired or locked account
        raise WrongCredentials(f"bind as {dn}: {result_text(connection)}")
