"""Email addresses and approver flags in bulk from a users CSV (DESIGN.md §10): upload,
see what would change (or why not, line by line), then apply. Admins only."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.services import users_import
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db

bp = Blueprint("users_import", __name__, url_prefix="/admin/users/import")


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
        plan = users_import.apply_import(get_db(), data, current_user.id)
        applied = plan.ok
    else:
        plan, applied = users_import.plan_import(get_db(), data), False
    if applied:
        flash(_("%(n)d件の変更を書き込みました。", n=len(plan.changes)), "success")
    elif not plan.ok:
        flash(_("取り込めない行があるため、何も書き込んでいません。"), "error")
    return render_template("admin/users_import.html", plan=plan, applied=applied), \
        200 if plan.ok else 422
