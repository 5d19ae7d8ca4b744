"""Who is asking: Flask-Login wiring, role checks and the 所属 scope rule.

The session stores "<user id>:<session epoch>"; raising a user's epoch (logout,
password change, deactivation) makes every older cookie worthless.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, abort
from flask_login import LoginManager, current_user

from surveyapp.store import users as user_store
from surveyapp.web.db import get_db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "ログインしてください。"
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@dataclass(frozen=True)
class User:
    """The logged-in user as the web layer sees it."""

    id: int
    login: str
    role: str
    department_code: str | None
    session_epoch: int
    display_name: str = ""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "auditor")

    def may_see_department(self, code: str | None) -> bool:
        return self.sees_everything or (code is not None and code == self.department_code)

    @classmethod
    def from_row(cls, row: dict) -> User:
        return cls(row["id"], row["login"], row["role"], row["department_code"],
                   row["session_epoch"], row.get("display_name") or "")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, epoch = session_id.partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    row = user_store.get_user(get_db(), int(user_id))
    if row is None or not row["active"] or row["locked_at"] or row["session_epoch"] != int(epoch):
        return None
    return User.from_row(row)


def roles_required(*roles: str) -> Callable:
    """Logged in with one of `roles`; anyone else gets 404 (never a hint it exists)."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def require_department(code: str | None) -> None:
    """404 unless the current user may see 所属 `code`."""
    if not current_user.is_authenticated or not current_user.may_see_department(code):
        abort(404)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
