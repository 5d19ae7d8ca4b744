"""Accounts: passwords (argon2id), login with lockout, admin actions, API tokens.

Every change runs in one `store.transaction` together with its audit entry. Changes
that must end the user's sessions raise `session_epoch`: the session cookie carries the
epoch it was issued under, so older cookies stop working at once (see web/auth.py).

Refusals are the kinds of surveyapp.refusals: `Invalid` for what the person typed or
chose (the form is shown again), `NotFound`, and `Refusal` itself for an action that
would lock everyone out (the last admin, oneself).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from surveyapp import config, store
from surveyapp.model import N_
from surveyapp.refusals import Invalid, NotFound, Refusal
from surveyapp.services import audit, passwords
from surveyapp.store import departments as department_store
from surveyapp.store import users as user_store

ROLES = ("admin", "auditor", "department")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 copes, but a megabyte "password" is an attack
MAX_LOGIN_LENGTH = 64
DEFAULT_LOCK_AFTER = config.DEFAULTS["LOGIN_LOCK_AFTER"]

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
hasher = PasswordHasher()


# --- passwords -------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password_policy(password: str, login: str = "") -> None:
    """Length first, then what makes it easy to guess (services/passwords.py)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(N_("パスワードは%(min)d文字以上にしてください。"),
                      min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(N_("パスワードは%(max)d文字以内にしてください。"),
                      max=MAX_PASSWORD_LENGTH)
    weakness = passwords.weakness(password, login)
    if weakness is not None:
        message, params = weakness
        raise Invalid(message, **params)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash nobody knows the password of, made with the current parameters, so an
    unknown login costs the same verification time as a known one."""
    return hasher.hash(secrets.token_urlsafe(32))


# --- creating users --------------------------------------------------------------------

def normalise_login(login: str) -> str:
    return login.strip()


def check_login(login: str) -> None:
    if not login:
        raise Invalid(N_("ログイン名を入力してください。"))
    if len(login) > MAX_LOGIN_LENGTH or any(ch.isspace() for ch in login):
        raise Invalid(N_("ログイン名は空白を含まない%(max)d文字以内にしてください。"),
                      max=MAX_LOGIN_LENGTH)


def check_role_and_department(db: Database, role: str, department_code: str | None) -> None:
    if role not in ROLES:
        raise Invalid(N_("権限は admin、auditor、department のいずれかです。"))
    if role != "department" and department_code:
        raise Invalid(N_("所属を設定できるのは department 権限のユーザーだけです。"))
    if role == "department":
        check_answering_department(db, department_code)


def check_answering_department(db: Database, code: str | None) -> None:
    if not code:
        raise Invalid(N_("department 権限のユーザーには所属を指定してください。"))
    department = department_store.get_department(db, code)
    if department is None:
        raise Invalid(N_("所属コード %(code)s は登録されていません。"), code=code)
    if department["parent_code"] is None:
        raise Invalid(N_("%(code)s は部局です。回答する所属を指定してください。"),
                      code=code)


def create_user(db: Database, login: str, role: str, password: str,
                department_code: str | None = None, display_name: str = "",
                actor_id: int | None = None, email: str = "",
                approver: bool = False) -> int:
    """Create an account; `actor_id` None means the command line. Returns the new id."""
    login = normalise_login(login)
    check_login(login)
    check_password_policy(password, login)
    email = checked_email(email)
    check_approver(role, approver)
    password_hash = hash_password(password)  # outside the write lock: it is slow
    with store.transaction(db):
        check_role_and_department(db, role, department_code or None)
        if user_store.get_user_by_login(db, login) is not None:
            raise Invalid(N_("ログイン名 %(login)s は既に使われています。"), login=login)
        user_id = user_store.insert_user(db, login, role, password_hash,
                                         department_code or None, display_name.strip(),
                                         email, approver)
        audit.record(db, actor_id, "user.create", "user", user_id, login=login, role=role,
                     department_code=department_code or None, approver=approver)
    return user_id


MAX_EMAIL_LENGTH = 254


def checked_email(email: str) -> str:
    """An address mail can go to (one `@`, no spaces), or '' for none."""
    email = (email or "").strip()
    local, at, domain = email.partition("@")
    if email and (not (local and at and "." in domain.strip(".")) or "@" in domain
                  or any(ch.isspace() for ch in email) or len(email) > MAX_EMAIL_LENGTH):
        raise Invalid(N_("メールアドレス %(email)s の形式が正しくありません。"),
                      email=email[:MAX_EMAIL_LENGTH])
    return email


def check_approver(role: str, approver: bool) -> None:
    if approver and role != "department":
        raise Invalid(N_("承認者にできるのは department 権限のユーザーだけです。"))


def refuse_directory_account(row: dict) -> None:
    """Role, 所属, approver flag, email and password of a directory account come from
    the directory at each login: changing them here would not last."""
    if row["auth_source"] == "directory":
        raise Invalid(N_("%(login)s はディレクトリのアカウントです。権限・所属・承認者・"
                         "メールアドレス・パスワードはディレクトリで変更してください。"),
                      login=row["login"])


# --- logging in ------------------------------------------------------------------------

def authenticate(db: Database, login: str, password: str,
                 lock_after: int = DEFAULT_LOCK_AFTER) -> dict | None:
    """The user row when the password is right and the account usable, else None.

    Unknown logins are verified against a dummy hash so they take as long as known ones
    and the caller shows the same message for every failure. A wrong password counts
    towards the lock; a right one resets the count and upgrades an outdated hash.
    """
    row = user_store.get_user_by_login(db, normalise_login(login))
    if row is None:
        password_matches(dummy_hash(), password)
        return None
    if not password_matches(row["password_hash"], password):
        record_failure(db, row, lock_after)
        return None
    if not row["active"] or row["locked_at"]:
        return None
    return record_success(db, row, password)


def record_failure(db: Database, row: dict, lock_after: int) -> None:
    with store.transaction(db):
        updated = user_store.record_failed_login(db, row["id"], lock_after)
        if updated["locked_at"] and not row["locked_at"]:
            audit.record(db, None, "user.lock", "user", row["id"], login=row["login"],
                         failed_logins=updated["failed_logins"])


def record_success(db: Database, row: dict, password: str) -> dict:
    new_hash = hash_password(password) if hasher.check_needs_rehash(row["password_hash"]) \
        else None
    with store.transaction(db):
        user_store.reset_failed_logins(db, row["id"])
        if new_hash:
            user_store.replace_password_hash(db, row["id"], new_hash)
        return user_store.get_user(db, row["id"])


def logout(db: Database, user_id: int) -> None:
    """End every session of the user, not only the one that asked."""
    with store.transaction(db):
        user_store.bump_session_epoch(db, user_id)


# --- the user's own password -----------------------------------------------------------

def change_password(db: Database, user_id: int, current_password: str,
                    new_password: str) -> dict:
    """Change the own password; other sessions end. Returns the updated row."""
    row = existing_user(db, user_id)
    if not password_matches(row["password_hash"], current_password):
        raise Invalid(N_("現在のパスワードが正しくありません。"))
    check_password_policy(new_password, row["login"])
    if new_password == current_password:
        raise Invalid(N_("新しいパスワードは現在のものと違うものにしてください。"))
    new_hash = hash_password(new_password)
    with store.transaction(db):
        user_store.set_password_hash(db, user_id, new_hash)
        user_store.bump_session_epoch(db, user_id)
        audit.record(db, user_id, "user.password_change", "user", user_id,
                     login=row["login"])
        return user_store.get_user(db, user_id)


def existing_user(db: Database, user_id: int) -> dict:
    row = user_store.get_user(db, user_id)
    if row is None:
        raise NotFound(N_("ユーザーが見つかりません。"))
    return row


# --- admin actions ---------------------------------------------------------------------

def reset_password(db: Database, actor_id: int | None, user_id: int,
                   new_password: str) -> None:
    """Set a new password for a user who lost theirs. It also clears the lock, since a
    forgotten password is the usual reason for one; the user's sessions end."""
    check_password_policy(new_password, existing_user(db, user_id)["login"])
    new_hash = hash_password(new_password)
    with store.transaction(db):
        row = existing_user(db, user_id)
        refuse_directory_account(row)
        user_store.set_password_hash(db, user_id, new_hash)
        user_store.bump_session_epoch(db, user_id)
        audit.record(db, actor_id, "user.password_reset", "user", user_id,
                     login=row["login"], was_locked=bool(row["locked_at"]))


def deactivate(db: Database, actor_id: int | None, user_id: int) -> None:
    """Disable the account and end its sessions; its API tokens stop working too."""
    with store.transaction(db):
        row = existing_user(db, user_id)
        if user_id == actor_id:
            raise Refusal(N_("自分自身のアカウントは無効にできません。"))
        refuse_losing_last_admin(db, row)
        user_store.set_active(db, user_id, False)
        user_store.bump_session_epoch(db, user_id)
        audit.record(db, actor_id, "user.deactivate", "user", user_id, login=row["login"])


def refuse_losing_last_admin(db: Database, row: dict) -> None:
    usable_admin = row["role"] == "admin" and row["active"] and not row["locked_at"]
    if usable_admin and user_store.count_active_admins(db) <= 1:
        raise Refusal(N_("最後の有効な管理者は無効にできません。"))


def reactivate(db: Database, actor_id: int | None, user_id: int) -> None:
    with store.transaction(db):
        row = existing_user(db, user_id)
        user_store.set_active(db, user_id, True)
        audit.record(db, actor_id, "user.reactivate", "user", user_id, login=row["login"])


def unlock(db: Database, actor_id: int | None, user_id: int) -> None:
    with store.transaction(db):
        row = existing_user(db, user_id)
        user_store.clear_lock(db, user_id)
        audit.record(db, actor_id, "user.unlock", "user", user_id, login=row["login"],
                     failed_logins=row["failed_logins"])


def set_department(db: Database, actor_id: int | None, user_id: int,
                   department_code: str) -> None:
    """Move a department user to another 所属. Access follows at the next request,
    because every request reloads the user row, so sessions need not end."""
    with store.transaction(db):
        row = existing_user(db, user_id)
        refuse_directory_account(row)
        if row["role"] != "department":
            raise Invalid(N_("所属を設定できるのは department 権限のユーザーだけです。"))
        check_answering_department(db, department_code)
        user_store.set_department(db, user_id, department_code)
        audit.record(db, actor_id, "user.department", "user", user_id, login=row["login"],
                     old=row["department_code"], new=department_code)


def set_contact(db: Database, actor_id: int | None, user_id: int, email: str,
                approver: bool) -> None:
    """Email address (for reminders) and the approver flag (所属長 or 代理, DESIGN.md
    §10) of a local account."""
    email = checked_email(email)
    with store.transaction(db):
        row = existing_user(db, user_id)
        refuse_directory_account(row)
        check_approver(row["role"], approver)
        user_store.set_contact(db, user_id, email, approver)
        audit.record(db, actor_id, "user.contact", "user", user_id, login=row["login"],
                     email=email, approver=approver)


def department_choices(db: Database, today: date | None = None) -> list[dict]:
    """The 所属 valid this fiscal year, each with its 部局's name as `bureau_name`, for
    the 所属 select of the admin pages."""
    bureaus = {row["code"]: row["name"] for row in department_store.list_bureaus(db)}
    units = department_store.list_units(db, fiscal_year=fiscal_year_of(today or date.today()))
    return [{**unit, "bureau_name": bureaus.get(unit["parent_code"], unit["parent_code"])}
            for unit in units]


def fiscal_year_of(day: date) -> int:
    """The 年度 starts in April: 2022-03-31 belongs to FY2021."""
    return day.year if day.month >= 4 else day.year - 1


# --- API tokens ------------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(db: Database, login: str, actor_id: int | None = None) -> str:
    """A new bearer token for `login`; only its sha256 is stored, so show it once."""
    token = secrets.token_urlsafe(32)
    with store.transaction(db):
        row = user_store.get_user_by_login(db, normalise_login(login))
        if row is None or not row["active"]:
            raise NotFound(N_("有効なユーザー %(login)s が見つかりません。"), login=login)
        token_id = user_store.insert_api_token(db, row["id"], token_hash(token))
        audit.record(db, actor_id, "api_token.create", "user", row["id"],
                     login=row["login"], token_id=token_id)
    return token


def user_for_token(db: Database, token: str) -> dict | None:
    """The owner of a live token. Looking up by sha256 compares no secret bytes, so
    response time tells nothing about how close a guess was."""
    if not token or len(token) > 256:
        return None
    row = user_store.get_user_by_token_hash(db, token_hash(token))
    if row is not None:
        with store.transaction(db):
            user_store.touch_api_token(db, row["token_id"])
    return row


def revoke_api_tokens_of_user(db: Database, actor_id: int | None, user_id: int) -> int:
    """Revoke every live token of a user (a token was leaked or a tool retired)."""
    with store.transaction(db):
        row = existing_user(db, user_id)
        count = user_store.revoke_api_tokens_of_user(db, user_id)
        audit.record(db, actor_id, "api_token.revoke_all", "user", user_id,
                     login=row["login"], tokens=count)
    return count


def revoke_api_token(db: Database, token: str, actor_id: int | None = None) -> bool:
    """Revoke a token; False when it was unknown or already revoked."""
    with store.transaction(db):
        revoked = user_store.revoke_api_token(db, token_hash(token))
        if revoked is not None:
            audit.record(db, actor_id, "api_token.revoke", "user", revoked["user_id"],
                         token_id=revoked["id"])
    return revoked is not None
