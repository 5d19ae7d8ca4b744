"""Logging in and out, and changing the own password.

A login goes to `directory_accounts.sign_in`: local accounts are checked here, every
other login name by the directory when LDAP_URL is set (DESIGN.md §11)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from surveyapp.refusals import Refusal
from surveyapp.services import accounts, directory_accounts
from surveyapp.web.auth import (
    User,
    directory_config,
    directory_enabled,
    end_session,
    sign_in_trusted_user,
    start_session,
    trusted_login_name,
)
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.extensions import limiter
from surveyapp.web.i18n import refusal_text
from surveyapp.web.view_helpers import new_password_fields

bp = Blueprint("auth", __name__)

# One message for every failed login, so it never tells whether the login name exists.
LOGIN_FAILED = _l("ログイン名またはパスワードが正しくありません。続けて間違えるとアカウントが"
                  "ロックされます。ロックされた場合は情報企画課にお問い合わせください。")

# Where each role lands after logging in; areas with a dashboard change their entry.
LANDING_ENDPOINTS = {"admin": "results.index", "auditor": "results.index",
                     "department": "results.index"}


class LoginForm(FlaskForm):
    login = StringField(_l("ログイン名"), validators=[
        InputRequired(_l("ログイン名を入力してください。")),
        Length(max=accounts.MAX_LOGIN_LENGTH)])
    password = PasswordField(_l("パスワード"), validators=[
        InputRequired(_l("パスワードを入力してください。")),
        Length(max=accounts.MAX_PASSWORD_LENGTH)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("現在のパスワード"), validators=[
        InputRequired(_l("現在のパスワードを入力してください。"))])
    new_password, new_password_again = new_password_fields(_l("新しいパスワード"))


def safe_next_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirect).

    Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil" or
    "/\\t/evil" would leave the site: any of those characters rejects the target.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def landing_url(user: User) -> str:
    return url_for(LANDING_ENDPOINTS.get(user.role, "main.index"))


def login_rate_key() -> str:
    """Address and login name together: guessing one account's password is slowed
    without letting one attacker lock colleagues behind the same proxy out."""
    login = request.form.get("login", "").strip().casefold()[:accounts.MAX_LOGIN_LENGTH]
    return f"{get_remote_address()}|{login}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=login_rate_key,
               methods=["POST"], scope="login-per-name")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"],
               methods=["POST"], scope="login-per-address")
def login():
    next_path = safe_next_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or landing_url(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return login_page(form, next_path, 400 if form.is_submitted() else 200)
    try:
        row = directory_accounts.sign_in(get_db(), form.login.data, form.password.data,
                                         directory_config())
    except Refusal as refusal:  # the service wrote the log line for the admin
        flash(refusal_text(refusal), "error")
        return login_page(form, next_path, refusal_status(refusal))
    if row is None:
        flash(str(LOGIN_FAILED), "error")
        return login_page(form, next_path, 401)
    user = User.from_row(row)
    start_session(user)
    return redirect(next_path or landing_url(user))


def login_page(form: LoginForm, next_path: str | None, status: int):
    """The form, telling which account to use, and the single sign-on button when the
    web server in front vouches for a Windows user."""
    return render_template("auth/login.html", form=form, next_path=next_path,
                           directory_login=directory_enabled(),
                           trusted_login=trusted_login_name(request),
                           sso_form=FlaskForm()), status


@bp.post("/login/sso")
def login_sso():
    """One click for the Windows user the web server in front authenticated."""
    next_path = safe_next_path(request.args.get("next"))
    if not FlaskForm().validate_on_submit():
        abort(400)
    if current_user.is_authenticated or sign_in_trusted_user():
        return redirect(next_path or landing_url(current_user))
    if trusted_login_name(request) is None:
        flash(_("Windows のログオン情報を受け取れませんでした。ログイン名とパスワードで"
                "ログインしてください。"), "error")
    return redirect(url_for("auth.login", next=next_path))


@bp.post("/logout")
def logout():
    """Raises the session epoch: this cookie, and any copy of it, stops working."""
    if current_user.is_authenticated:
        accounts.logout(get_db(), current_user.id)
    end_session()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if current_user.from_directory:
        # The directory keeps this user's password; there is none here to change.
        return render_template("auth/password.html", form=None,
                               min_length=accounts.MIN_PASSWORD_LENGTH), 200
    form = ChangePasswordForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            row = accounts.change_password(get_db(), current_user.id,
                                           form.current_password.data, form.new_password.data)
        except Refusal as error:
            flash(refusal_text(error), "error")
            status = refusal_status(error)
        else:
            start_session(User.from_row(row))  # this session continues, all others end
            flash(_("パスワードを変更しました。ほかの端末のログインは終了しました。"), "success")
            return redirect(landing_url(current_user))
    return render_template("auth/password.html", form=form,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status
