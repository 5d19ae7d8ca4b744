"""The department tree and the CSV import (upload -> preview -> confirm, the flow of
every register kept as CSV: web/csv_uploads.py)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from surveyapp.services import departments as department_service
from surveyapp.store import departments as department_store
from surveyapp.web import csv_uploads
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db

bp = Blueprint("departments", __name__, url_prefix="/departments")


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


IMPORT = csv_uploads.ImportArea(
    key="departments", fmt=department_service.FORMAT, blueprint="departments",
    form_template="departments/import.html",
    changed_message=lambda: _("確認の後に所属の情報が変わりました。最新の内容を確認してください。"),
    imported_message=lambda plan: _(
        "所属を取り込みました（追加 %(added)d 件、変更 %(changed)d 件）。",
        added=len(plan.added), changed=len(plan.changed)),
    titles=lambda: {"added": _("追加する所属"), "changed": _("変更する所属")})


csv_uploads.add_import_pages(bp, IMPORT)
