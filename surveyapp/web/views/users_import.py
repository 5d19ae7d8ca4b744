"""Email addresses and approver flags in bulk from a users CSV (DESIGN.md §10): upload,
see what would change (or why not, line by line), then apply. Admins only.

「確認する」 keeps the checked file under the instance folder (named by a random key kept
in the session, as the register imports do: web/csv_uploads.py), so the admin applies
what was previewed without choosing the file again; 「取り込む」 on the upload form
applies a file in one step."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.refusals import Refusal
from surveyapp.services import users_import
from surveyapp.web import csv_uploads
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.i18n import refusal_text

bp = Blueprint("users_import", __name__, url_prefix="/admin/users/import")
PENDING = "users"  # names the checked file's session entry and uploads folder


@bp.app_template_global()
def users_import_value(value: object) -> str:
    """An email or approver value as the change table shows it."""
    if isinstance(value, bool):
        return _("承認者") if value else _("承認者でない")
    return str(value) if value else _("（空）")


@bp.get("")
@roles_required("admin")
def form():
    return render_template("admin/users_import.html", plan=None, applied=False)


@bp.post("")
@roles_required("admin")
def upload():
    upload_file = request.files.get("csv_file")
    data = upload_file.read() if upload_file else b""
    if request.form.get("action") == "apply":
        return _applied(users_import.apply_import(get_db(), data, current_user.id))
    plan = users_import.plan_import(get_db(), data)
    pending = plan.ok and bool(plan.changes)
    if pending:
        csv_uploads.keep_pending(PENDING, data)
    else:
        csv_uploads.discard_pending(PENDING)
    return _shown(plan, applied=False, pending=pending)


@bp.post("/confirm")
@roles_required("admin")
def confirm():
    """Apply the file checked last (read again: the plan written is the one shown)."""
    try:
        data = csv_uploads.pending_data(PENDING)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for(".form"))
    plan = users_import.apply_import(get_db(), data, current_user.id)
    if plan.ok:
        csv_uploads.discard_pending(PENDING)
    return _applied(plan)


@bp.post("/cancel")
@roles_required("admin")
def cancel():
    csv_uploads.discard_pending(PENDING)
    flash(_("取り込みを取り消しました。何も書き込んでいません。"), "info")
    return redirect(url_for(".form"))


def _applied(plan: users_import.UsersPlan):
    if plan.ok:
        flash(_("%(n)d件の変更を書き込みました。", n=len(plan.changes)), "success")
    return _shown(plan, applied=plan.ok, pending=False)


def _shown(plan: users_import.UsersPlan, applied: bool, pending: bool):
    if not plan.ok:
        flash(_("取り込めない行があるため、何も書き込んでいません。"), "error")
    return render_template("admin/users_import.html", plan=plan, applied=applied,
                           pending=pending), 200 if plan.ok else 422
