"""The department tree and the CSV import (upload -> preview -> confirm).

The uploaded bytes wait for the confirmation in a file under the instance folder named
by a random key kept in the user's session, never in the form, so a confirmation can
only apply the file this user previewed. The preview's fingerprint travels in the form:
if the table changed in between, the admin is shown the new preview instead.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.refusals import Refusal
from surveyapp.services import departments as department_service
from surveyapp.store import departments as department_store
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text

bp = Blueprint("departments", __name__, url_prefix="/departments")

PENDING_KEY = "department_import"


def uploads_folder() -> Path:
    return Path(current_app.instance_path) / "uploads" / "departments"


@bp.get("/")
@roles_required("admin", "auditor")
def index():
    return render_template("departments/index.html",
                           tree=department_tree(department_store.list_departments(get_db())))


def department_tree(departments: list[dict]) -> list[dict]:
    """[{bureau, units, headcount}] from rows in tree order; a 部局's headcount is the
    sum of its 所属's."""
    bureaus = {row["code"]: {"bureau": row, "units": [], "headcount": 0}
               for row in departments if row["parent_code"] is None}
    for row in departments:
        node = bureaus.get(row["parent_code"]) if row["parent_code"] else None
        if node is not None:
            node["units"].append(row)
            node["headcount"] += row["headcount"]
    return list(bureaus.values())


@bp.get("/import")
@roles_required("admin")
def import_form():
    return render_template("departments/import.html")


@bp.post("/import")
@roles_required("admin")
def upload():
    upload_file = request.files.get("csv_file")
    data = upload_file.read() if upload_file else b""
    if not data:
        flash(_("CSV ファイルを選んでください。"), "error")
        return render_template("departments/import.html"), 400
    discard_pending()
    session[PENDING_KEY] = department_service.save_pending_upload(uploads_folder(), data)
    return show_preview(department_service.plan_import(get_db(), data))


@bp.post("/import/confirm")
@roles_required("admin")
def confirm():
    try:
        data = department_service.load_pending_upload(uploads_folder(),
                                                      session.get(PENDING_KEY, ""))
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for("departments.import_form"))
    plan = department_service.plan_import(get_db(), data)
    if plan.fingerprint != request.form.get("fingerprint"):
        flash(_("確認の後に所属の情報が変わりました。最新の内容を確認してください。"), "error")
        return show_preview(plan, status=409)
    return apply(plan)


def apply(plan: department_service.ImportPlan):
    try:
        department_service.apply_import(get_db(), plan, user_id=current_user.id)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return show_preview(plan, status=refusal_status(error))
    discard_pending()
    flash(_("所属を取り込みました（追加 %(added)d 件、変更 %(changed)d 件）。",
            added=len(plan.added), changed=len(plan.changed)), "success")
    return redirect(url_for("departments.index"))


@bp.post("/import/cancel")
@roles_required("admin")
def cancel():
    discard_pending()
    flash(_("取り込みを取り消しました。何も書き込んでいません。"), "info")
    return redirect(url_for("departments.index"))


def show_preview(plan: department_service.ImportPlan, status: int | None = None):
    code = status or (200 if plan.ok else 422)
    return render_template("departments/preview.html", plan=plan), code


def discard_pending() -> None:
    token = session.pop(PENDING_KEY, None)
    if token:
        department_service.discard_pending_upload(uploads_folder(), token)
