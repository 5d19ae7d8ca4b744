"""User administration for the central office: create, reset, (de)activate, unlock,
move between 所属, email and approver flag, and switching an account between a local
password and the directory. Every change goes through `services.accounts` (or
`services.directory_accounts`), which audit-logs it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from surveyapp.refusals import Refusal
from surveyapp.services import accounts, directory_accounts
from surveyapp.store import users as user_store
from surveyapp.web.auth import directory_enabled, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text
from surveyapp.web.view_helpers import new_password_fields

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

ROLE_LABELS = {"admin": _l("管理者（情報企画課）"), "auditor": _l("監査人"),
               "department": _l("所属担当者")}
SOURCE_LABELS = {"local": _l("ローカル"), "directory": _l("ディレクトリ")}


def email_field() -> StringField:
    return StringField(_l("メールアドレス"), validators=[
        Length(max=accounts.MAX_EMAIL_LENGTH)])


def approver_field() -> BooleanField:
    return BooleanField(_l("承認者（所属長・代理）"))


@bp.before_request
@roles_required("admin")
def admin_only() -> None:
    """Every page here is for admins; anyone else gets 404."""


class CreateUserForm(FlaskForm):
    login = StringField(_l("ログイン名"), validators=[
        InputRequired(_l("ログイン名を入力してください。")),
        Length(max=accounts.MAX_LOGIN_LENGTH)])
    display_name = StringField(_l("氏名・表示名"), validators=[Length(max=100)])
    role = SelectField(_l("権限"), choices=[SelectChoice(role, label)
                                            for role, label in ROLE_LABELS.items()])
    department_code = SelectField(_l("所属"), choices=[], validate_choice=False)
    email = email_field()
    approver = approver_field()
    new_password, new_password_again = new_password_fields(_l("初期パスワード"))


class ResetPasswordForm(FlaskForm):
    new_password, new_password_again = new_password_fields(_l("新しいパスワード"))


class DepartmentForm(FlaskForm):
    department_code = SelectField(_l("所属"), choices=[], validators=[
        InputRequired(_l("所属を選んでください。"))])


class ContactForm(FlaskForm):
    email = email_field()
    approver = approver_field()


class LocalAccountForm(FlaskForm):
    new_password, new_password_again = new_password_fields(_l("このシステムでのパスワード"))


class ConfirmForm(FlaskForm):
    """No fields: carries the CSRF token of the one-button actions."""


def department_options(with_blank: bool) -> list[SelectChoice]:
    """所属 grouped under their 部局; the blank choice is for admins and auditors."""
    options = [SelectChoice(row["code"], f"{row['code']} {row['name']}",
                            optgroup=row["bureau_name"])
               for row in accounts.department_choices(get_db())]
    blank = SelectChoice("", _("（所属なし：管理者・監査人）"))
    return [blank, *options] if with_blank else options


def user_or_404(user_id: int) -> dict:
    row = user_store.get_user(get_db(), user_id)
    if row is None:
        abort(404)
    return row


@bp.get("")
def index():
    return render_template("admin/users.html", users=user_store.list_users(get_db()),
                           role_labels=ROLE_LABELS, source_labels=SOURCE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = CreateUserForm()
    form.department_code.choices = department_options(with_blank=True)
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            user_id = accounts.create_user(
                get_db(), form.login.data, form.role.data, form.new_password.data,
                form.department_code.data or None, form.display_name.data or "",
                actor_id=current_user.id, email=form.email.data or "",
                approver=form.approver.data)
        except Refusal as error:
            flash(refusal_text(error), "error")
            status = refusal_status(error)
        else:
            flash(_("ユーザー %(login)s を作成しました。", login=form.login.data.strip()),
                  "success")
            return redirect(url_for("admin_users.detail", user_id=user_id))
    return render_template("admin/users_new.html", form=form,
                           min_length=accounts.MIN_PASSWORD_LENGTH), status


def render_detail(user: dict, status: int = 200, **forms: FlaskForm):
    """The user's page with its action forms; a failed form is passed in to show errors."""
    department_form = forms.get("department_form") or DepartmentForm(
        department_code=user["department_code"])
    department_form.department_code.choices = department_options(with_blank=False)
    return render_template(
        "admin/users_detail.html", user=user, role_labels=ROLE_LABELS,
        source_labels=SOURCE_LABELS, directory_enabled=directory_enabled(),
        reset_form=forms.get("reset_form") or ResetPasswordForm(),
        contact_form=forms.get("contact_form") or ContactForm(
            email=user["email"], approver=bool(user["approver"])),
        local_form=forms.get("local_form") or LocalAccountForm(),
        department_form=department_form, confirm_form=ConfirmForm(),
        live_tokens=user_store.count_live_api_tokens(get_db(), user["id"]),
        min_length=accounts.MIN_PASSWORD_LENGTH), status


@bp.get("/<int:user_id>")
def detail(user_id: int):
    return render_detail(user_or_404(user_id))


def run_action(user_id: int, action: Callable[[], None], done_message: str):
    """Run one admin action; its refusal is shown on the user's page, never a 500."""
    try:
        action()
    except Refusal as error:
        flash(refusal_text(error), "error")
        return render_detail(user_or_404(user_id), refusal_status(error))
    flash(done_message, "success")
    return redirect(url_for("admin_users.detail", user_id=user_id), 303)


@bp.post("/<int:user_id>/password")
def reset_password(user_id: int):
    user = user_or_404(user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return render_detail(user, 400, reset_form=form)
    return run_action(user_id, lambda: accounts.reset_password(
        get_db(), current_user.id, user_id, form.new_password.data),
        _("パスワードを再設定しました。本人に安全な方法で伝えてください。"))


@bp.post("/<int:user_id>/department")
def set_department(user_id: int):
    user = user_or_404(user_id)
    form = DepartmentForm()
    form.department_code.choices = department_options(with_blank=False)
    if not form.validate_on_submit():
        return render_detail(user, 400, department_form=form)
    return run_action(user_id, lambda: accounts.set_department(
        get_db(), current_user.id, user_id, form.department_code.data),
        _("所属を変更しました。"))


@bp.post("/<int:user_id>/contact")
def set_contact(user_id: int):
    user = user_or_404(user_id)
    form = ContactForm()
    if not form.validate_on_submit():
        return render_detail(user, 400, contact_form=form)
    return run_action(user_id, lambda: accounts.set_contact(
        get_db(), current_user.id, user_id, form.email.data or "", form.approver.data),
        _("メールアドレスと承認者の設定を保存しました。"))


@bp.post("/<int:user_id>/to-directory")
def to_directory(user_id: int):
    return confirmed_action(
        user_id, lambda db, actor, target: directory_accounts.make_directory_account(
            db, actor, target, directory_enabled()),
        _("ディレクトリのアカウントに切り替えました。次回からディレクトリのパスワードでログイン"
          "します。ログイン中のセッションは終了しました。"))


@bp.post("/<int:user_id>/to-local")
def to_local(user_id: int):
    user = user_or_404(user_id)
    form = LocalAccountForm()
    if not form.validate_on_submit():
        return render_detail(user, 400, local_form=form)
    return run_action(user_id, lambda: directory_accounts.make_local_account(
        get_db(), current_user.id, user_id, form.new_password.data),
        _("ローカルのアカウントに切り替えました。設定したパスワードを本人に安全な方法で伝えて"
          "ください。"))


def confirmed_action(user_id: int, service: Callable, done_message: str):
    user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return run_action(user_id, lambda: service(get_db(), current_user.id, user_id),
                      done_message)


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id: int):
    return confirmed_action(user_id, accounts.deactivate,
                            _("アカウントを無効にしました。ログイン中のセッションも終了しました。"))


@bp.post("/<int:user_id>/reactivate")
def reactivate(user_id: int):
    return confirmed_action(user_id, accounts.reactivate, _("アカウントを有効にしました。"))


@bp.post("/<int:user_id>/revoke-tokens")
def revoke_tokens(user_id: int):
    return confirmed_action(user_id, accounts.revoke_api_tokens_of_user,
                            _("このユーザーのAPIトークンをすべて無効にしました。"))


@bp.post("/<int:user_id>/unlock")
def unlock(user_id: int):
    return confirmed_action(user_id, accounts.unlock, _("ロックを解除しました。"))
