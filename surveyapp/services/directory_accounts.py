"""Directory accounts: who may log in with the directory, and as what (DESIGN.md §11).

`sign_in` is the one entry point of the login form: a local account (the break-glass
administrator, or anyone an admin keeps local) is checked against its argon2id hash; any
other login goes to the directory when one is configured. At each directory login the
local row is created or brought up to date from the directory: role from the first
mapped group in the order admin, auditor, department; 所属 from the department attribute
(through LDAP_DEPARTMENT_MAP_FILE when the directory's codes differ); the approver flag
from its group; email and name. A user the directory no longer grants anything is
refused and their other sessions end. No directory password is ever stored.

A directory refusal raises a `directory.DirectoryError` (`Denied` or `Unavailable`) and
writes one log line for the administrator; admin actions refuse with `Invalid`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlite_utils import Database

from surveyapp import store
from surveyapp.formats import register_csv
from surveyapp.model import N_
from surveyapp.refusals import Denied, Invalid, Refusal
from surveyapp.services import accounts, audit, directory
from surveyapp.services.directory import DirectoryError, DirectorySettings
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store

log = logging.getLogger(__name__)
SOURCES = ("local", "directory")


class NotGranted(DirectoryError, Denied):
    """The directory knows the user, but puts them in no group mapped to a role."""

    def __init__(self, dn: str) -> None:
        super().__init__(N_("ディレクトリ上で、このシステムを使う権限（グループ）が割り当てられて"
                            "いません。必要な場合は情報企画課にお問い合わせください。"),
                         f"{dn} is in none of LDAP_ROLE_GROUPS")


class UnknownDepartment(DirectoryError, Denied):
    def __init__(self, dn: str, raw: str, code: str) -> None:
        super().__init__(N_("ディレクトリに登録された所属コード %(code)s に当たる所属がこの"
                            "システムにありません。情報企画課にお問い合わせください。"),
                         f"{dn}: department {raw!r} -> {code!r} is not a 所属 here",
                         code=raw or "-")


@dataclass(frozen=True)
class Grant:
    """What a directory user gets in surveyapp."""

    dn: str
    role: str
    department_code: str | None
    approver: bool
    email: str
    display_name: str
    directory_department: str
    groups: tuple[str, ...]


# --- what the directory grants ---------------------------------------------------------

def grant_for(db: Database, settings: DirectorySettings,
              entry: directory.DirectoryEntry) -> Grant:
    """Role, 所属, approver flag and email for `entry`, or a refusal. Writes nothing."""
    role = next((role for role, dn in settings.role_groups if dn in entry.groups), None)
    if role is None:
        raise NotGranted(entry.dn)
    department_code = None
    if role == "department":
        department_code = mapped_department(db, settings, entry)
    approver = role == "department" and bool(settings.approver_group) \
        and settings.approver_group in entry.groups
    return Grant(dn=entry.dn, role=role, department_code=department_code,
                 approver=approver, email=entry.email, display_name=entry.display_name,
                 directory_department=entry.department, groups=tuple(sorted(entry.groups)))


def mapped_department(db: Database, settings: DirectorySettings,
                      entry: directory.DirectoryEntry) -> str:
    """The 所属 code for the entry's department value: through the mapping table when
    it lists the value, else the value itself. It must name a 所属 (not a 部局)."""
    table = department_map(settings.department_map_file)
    code = table.get(entry.department, entry.department)
    department = department_store.get_department(db, code) if code else None
    if department is None or department["parent_code"] is None:
        raise UnknownDepartment(entry.dn, entry.department, code)
    return code


def department_map(path: str) -> dict[str, str]:
    """LDAP_DEPARTMENT_MAP_FILE: a CSV `directory_code,department_code` (UTF-8 or
    Shift_JIS, a header line first). Read at each login, so an edit takes effect at once."""
    if not path:
        return {}
    try:
        text, _encoding = register_csv.decode(Path(path).read_bytes())
        records = register_csv.read_records(text)
    except (OSError, Refusal) as error:
        raise directory.MisConfigured(f"LDAP_DEPARTMENT_MAP_FILE {path}: {error}") from error
    table = {}
    for line, cells in records[1:]:
        if len(cells) != 2 or not all(cell.strip() for cell in cells):
            raise directory.MisConfigured(f"LDAP_DEPARTMENT_MAP_FILE {path}:{line}: "
                                          "expected directory_code,department_code")
        table[cells[0].strip()] = cells[1].strip()
    return table


def check(db: Database, settings: DirectorySettings, login: str,
          password: str | None) -> Grant:
    """What `login` would get (with `password`: through a real bind), writing nothing:
    `surveyapp ldap check`."""
    login = accounts.normalise_login(login)
    if not valid_login(login):
        raise directory.WrongCredentials(f"{login!r} is not a possible login name")
    entry = (directory.look_up(settings, login) if password is None
             else directory.authenticate(settings, login, password))
    return grant_for(db, settings, entry)


def valid_login(login: str) -> bool:
    try:
        accounts.check_login(login)
    except Invalid:
        return False
    return True


def describe_grant(grant: Grant) -> list[str]:
    """`surveyapp ldap check`'s report, one fact a line."""
    department = grant.department_code or "-"
    if grant.department_code and grant.directory_department != grant.department_code:
        department += f" (ディレクトリの値 / directory value: {grant.directory_department})"
    return [f"DN: {grant.dn}",
            f"権限 / role: {grant.role}",
            f"所属 / department: {department}",
            f"承認者 / approver: {'yes' if grant.approver else 'no'}",
            f"メール / email: {grant.email or '-'}",
            f"表示名 / name: {grant.display_name or '-'}",
            *[f"グループ / group: {group}" for group in grant.groups]]


# --- logging in --------------------------------------------------------------------------

def sign_in(db: Database, login: str, password: str, config: Mapping) -> dict | None:
    """The user row to log in, None for a wrong login name or password (one message
    for both), or a DirectoryError when the directory refuses or cannot be asked.

    `config` holds the settings (LOGIN_LOCK_AFTER, LDAP_*). The directory settings are
    read only for a login that needs them: a broken one never stops a local account."""
    login = accounts.normalise_login(login)
    row = user_store.get_user_by_login(db, login)
    lock_after = int(config.get("LOGIN_LOCK_AFTER") or accounts.DEFAULT_LOCK_AFTER)
    if row is not None and row["auth_source"] == "local":
        return accounts.authenticate(db, login, password, lock_after)
    settings = directory_settings(config, login)
    if settings is None:
        if row is not None:
            log.warning("login refused: login=%r is a directory account and LDAP_URL is "
                        "empty", login)
            return None
        return accounts.authenticate(db, login, password, lock_after)
    try:
        if not valid_login(login):
            raise directory.WrongCredentials("not a possible login name")
        return directory_sign_in(db, settings, login,
                                 lambda: directory.authenticate(settings, login, password))
    except directory.WrongCredentials as error:
        log.warning("directory login refused: login=%r: %s", login, error.detail)
        return None


def directory_settings(config: Mapping, login: str) -> DirectorySettings | None:
    try:
        return directory.settings_from(config)
    except DirectoryError as error:
        log.error("directory login refused: login=%r: settings: %s", login, error.detail)
        raise


def trusted_sign_in(db: Database, login: str, config: Mapping) -> dict | None:
    """Log in a user the web server in front has authenticated (Windows integrated
    authentication): looked up in the directory for role and 所属, no password. A local
    account is never logged in this way: it has no directory identity. None when the
    directory does not know the login."""
    login = accounts.normalise_login(login)
    row = user_store.get_user_by_login(db, login)
    if row is not None and row["auth_source"] == "local":
        log.warning("trusted header refused: login=%r is a local account", login)
        return None
    settings = directory_settings(config, login)
    if settings is None:
        return None
    try:
        if not valid_login(login):
            raise directory.WrongCredentials("not a possible login name")
        return directory_sign_in(db, settings, login,
                                 lambda: directory.look_up(settings, login))
    except directory.WrongCredentials as error:
        log.warning("trusted header refused: login=%r: %s", login, error.detail)
        return None


def directory_sign_in(db: Database, settings: DirectorySettings, login: str,
                      ask: Callable[[], directory.DirectoryEntry]) -> dict | None:
    """Ask the directory, then create or update the local row from its answer."""
    try:
        grant = grant_for(db, settings, ask())
    except directory.WrongCredentials:
        raise
    except DirectoryError as error:
        log.warning("directory login refused: login=%r: %s (%s)", login,
                    type(error).__name__, error.detail)
        if isinstance(error, NotGranted | UnknownDepartment):
            withdraw(db, login, error)
        raise
    return store_grant(db, login, grant)


def withdraw(db: Database, login: str, error: DirectoryError) -> None:
    """The directory no longer grants this user access: their sessions end now and
    their API tokens are revoked (a program must not outlive its owner's access)."""
    with store.transaction(db):
        row = user_store.get_user_by_login(db, login)
        if row is not None and row["auth_source"] == "directory":
            user_store.bump_session_epoch(db, row["id"])
            tokens = user_store.revoke_api_tokens_of_user(db, row["id"])
            audit.record(db, None, "user.directory_refused", "user", row["id"],
                         login=row["login"], reason=type(error).__name__, tokens=tokens)


# --- the daily check of every directory account -------------------------------------------

# What shows that the directory no longer vouches for an account (an outage does not).
NO_LONGER_GRANTED = (directory.WrongCredentials, directory.AmbiguousLogin)


@dataclass(frozen=True)
class SyncLine:
    login: str
    result: str  # kept | withdrawn
    reason: str = ""


def sync(db: Database, settings: DirectorySettings) -> list[SyncLine]:
    """Ask the directory about every active directory account (`surveyapp ldap sync`,
    run daily): one it no longer knows or grants is withdrawn (sessions ended, API
    tokens revoked), the others get role, 所属, approver flag and email as a login
    would give them. The directory being unreachable or misconfigured stops the run
    with its error: nothing is withdrawn for want of an answer."""
    return [sync_one(db, settings, login)
            for login in user_store.list_active_directory_logins(db)]


def sync_one(db: Database, settings: DirectorySettings, login: str) -> SyncLine:
    try:
        grant = grant_for(db, settings, directory.look_up(settings, login))
    except (*NO_LONGER_GRANTED, NotGranted, UnknownDepartment) as error:
        withdraw(db, login, error)
        return SyncLine(login, "withdrawn", type(error).__name__)
    store_grant(db, login, grant)
    return SyncLine(login, "kept")


def store_grant(db: Database, login: str, grant: Grant) -> dict | None:
    """Create or update the directory account; None when an admin deactivated it."""
    values = {key: value for key, value in asdict(grant).items()
              if key not in ("directory_department", "groups")}
    with store.transaction(db):
        row = user_store.get_user_by_login(db, login)
        if row is None:
            user_id = user_store.insert_directory_user(db, login, values)
            audit.record(db, None, "user.create", "user", user_id, login=login,
                         role=grant.role, department_code=grant.department_code,
                         auth_source="directory", dn=grant.dn)
            return user_store.get_user(db, user_id)
        if row["auth_source"] != "directory" or not row["active"]:
            log.warning("directory login refused: login=%r is %s", login,
                        "a local account" if row["auth_source"] != "directory"
                        else "deactivated")
            return None
        record_changes(db, row, grant)
        user_store.update_directory_user(db, row["id"], values)
        return user_store.get_user(db, row["id"])


def record_changes(db: Database, row: dict, grant: Grant) -> None:
    """Audit what the directory changed about the user since the last login."""
    changed = {name: {"old": row[name], "new": new} for name, new in (
        ("role", grant.role), ("department_code", grant.department_code),
        ("approver", int(grant.approver))) if row[name] != new}
    if changed:
        audit.record(db, None, "user.directory_update", "user", row["id"],
                     login=row["login"], **changed)


# --- switching an account between local and directory (admins) -----------------------------

def make_directory_account(db: Database, actor_id: int | None, user_id: int,
                           directory_on: bool) -> None:
    """From now on the user logs in with the directory password; the local password is
    dropped and the user's sessions end. The last local administrator stays local, so
    someone can still log in when the directory cannot be reached."""
    if not directory_on:
        raise Invalid(N_("ディレクトリ連携が設定されていないため、切り替えられません"
                         "（LDAP_URL を設定してください）。"))
    with store.transaction(db):
        row = accounts.existing_user(db, user_id)
        if row["auth_source"] == "directory":
            raise Invalid(N_("このアカウントは既にディレクトリのアカウントです。"))
        if row["role"] == "admin" and user_store.count_active_local_admins(db) <= 1:
            raise Invalid(N_("最後のローカル管理者はディレクトリに切り替えられません。"
                             "ディレクトリに接続できないときに使う管理者として残して"
                             "ください。"))
        user_store.make_directory_account(db, user_id)
        user_store.bump_session_epoch(db, user_id)
        audit.record(db, actor_id, "user.auth_source", "user", user_id,
                     login=row["login"], old="local", new="directory")


def make_local_account(db: Database, actor_id: int | None, user_id: int,
                       new_password: str) -> None:
    """From now on the user logs in with `new_password`, kept here (argon2id); role and
    所属 stay as the directory last set them, and admins change them from now on."""
    accounts.check_password_policy(new_password, accounts.existing_user(db, user_id)["login"])
    new_hash = accounts.hash_password(new_password)
    with store.transaction(db):
        row = accounts.existing_user(db, user_id)
        if row["auth_source"] == "local":
            raise Invalid(N_("このアカウントは既にローカルのアカウントです。"))
        user_store.make_local_account(db, user_id, new_hash)
        user_store.bump_session_epoch(db, user_id)
        audit.record(db, actor_id, "user.auth_source", "user", user_id,
                     login=row["login"], old="directory", new="local")
