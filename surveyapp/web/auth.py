"""Who is asking: Flask-Login wiring, role checks and the 所属 scope rule.

The session stores "<user id>:<session epoch>"; raising a user's epoch (logout,
password change, deactivation) makes every older cookie worthless.

Single sign-on (TRUSTED_USER_HEADER): a web server in front that did Windows integrated
authentication passes the user name in a header; a page that needs a login then logs
that user in through the directory (services/directory_accounts.trusted_sign_in).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import (
    Flask,
    Request,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user

from surveyapp.refusals import Refusal
from surveyapp.services import accounts, directory_accounts
from surveyapp.store import users as user_store
from surveyapp.web.db import get_db
from surveyapp.web.i18n import refusal_text

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "ログインしてください。"
login_manager.localize_callback = _  # the message follows the chosen language
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
    auth_source: str = "local"
    approver: bool = False      # 所属長 or 代理: approves the 所属's submission (§10)

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

    @property
    def from_directory(self) -> bool:
        return self.auth_source == "directory"

    @classmethod
    def from_row(cls, row: dict) -> User:
        return cls(row["id"], row["login"], row["role"], row["department_code"],
                   row["session_epoch"], row.get("display_name") or "",
                   row.get("auth_source") or "local", bool(row.get("approver")))


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


@login_manager.request_loader
def load_user_from_bearer_token(req: Request) -> User | None:
    """`Authorization: Bearer <token>` identifies API callers, on /api/ paths only, so a
    token can never stand in for a session (and its CSRF protection) on the HTML pages."""
    if not is_api_request(req):
        return None
    scheme, _space, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = accounts.user_for_token(get_db(), token.strip())
    return User.from_row(row) if row else None


def is_api_request(req: Request) -> bool:
    return req.path.startswith("/api/")


@login_manager.unauthorized_handler
def ask_to_log_in():
    """API callers get JSON 401; a user the web server in front vouches for is logged
    in on the spot (a GET only: a POST's body would not survive the redirect); other
    people are sent to the login page and come back."""
    if is_api_request(request):
        return jsonify(error=_("認証が必要です。")), 401
    if request.method in ("GET", "HEAD") and sign_in_trusted_user():
        return redirect(request.full_path.rstrip("?"))
    flash(_("ログインしてください。"), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


# --- the directory and single sign-on ----------------------------------------------------

def directory_config() -> dict:
    """The settings `services.directory.settings_from` reads (checked when used, so a
    broken directory setting never stops a local administrator from logging in)."""
    return current_app.config


def directory_enabled() -> bool:
    return bool(str(current_app.config.get("LDAP_URL") or "").strip())


def trusted_login_name(req: Request) -> str | None:
    """The user name in TRUSTED_USER_HEADER when the header can be believed: only with
    PROXY_COUNT >= 1 and from a TRUSTED_PROXY_ADDRESSES peer, since any client can send
    any header. `DOMAIN\\user` and `user@REALM` become `user`."""
    config = current_app.config
    header = str(config.get("TRUSTED_USER_HEADER") or "").strip()
    if not header or int(config.get("PROXY_COUNT") or 0) < 1 or not directory_enabled():
        return None
    if direct_peer(req) not in trusted_proxy_addresses():
        return None
    value = req.headers.get(header, "").strip()
    return value.rpartition("\\")[2].partition("@")[0].strip() or None


def direct_peer(req: Request) -> str | None:
    """The address that opened the connection: ProxyFix (PROXY_COUNT) replaces
    REMOTE_ADDR with the forwarded client address and keeps the original aside."""
    original = req.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or req.environ.get("REMOTE_ADDR")


def trusted_proxy_addresses() -> set[str]:
    text = str(current_app.config.get("TRUSTED_PROXY_ADDRESSES") or "")
    return set(text.replace(",", " ").split())


def sign_in_trusted_user() -> bool:
    """Log in the user named by a believable TRUSTED_USER_HEADER; a refusal is flashed
    (and was logged by the service). True when a session was started."""
    login = trusted_login_name(request)
    if login is None:
        return False
    try:
        row = directory_accounts.trusted_sign_in(get_db(), login, directory_config())
    except Refusal as refusal:  # the service wrote the log line
        flash(refusal_text(refusal), "error")
        return False
    if row is None:
        return False
    start_session(User.from_row(row))
    return True


def start_session(user: User) -> None:
    """Log `user` in on a fresh session: clearing first means no value planted before
    login (session fixation) survives into the logged-in session."""
    session.clear()
    session.permanent = True
    login_user(user, remember=False)
    session["last_seen"] = time.time()


def end_session() -> None:
    logout_user()
    session.clear()


def enforce_idle_timeout():
    """End a session idle for longer than SESSION_IDLE_MINUTES; keep a live one alive."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    idle_limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    last_seen = session.get("last_seen")
    if isinstance(last_seen, int | float) and time.time() - last_seen <= idle_limit:
        session["last_seen"] = time.time()
        return None
    end_session()
    if is_api_request(request):
        return None
    flash(_("一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"),
          "info")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_path))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    # The cookie lives no longer than an idle session may, is out of reach of scripts
    # and is not sent on cross-site POSTs. Flask's own default for SameSite is None, so
    # a `setdefault` would not take: only an explicit stricter choice is kept.
    app.permanent_session_lifetime = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.before_request(enforce_idle_timeout)
