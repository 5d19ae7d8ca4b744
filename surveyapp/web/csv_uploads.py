"""The upload -> preview -> confirm pages of a register kept as CSV (departments,
information systems): one flow, each register an `ImportArea`.

The uploaded bytes wait for the confirmation in a file under the instance folder named
by a random key kept in the user's session, never in the form, so a confirmation can
only apply the file this user previewed. The preview's fingerprint travels in the form:
if the table changed in between, the admin is shown the new preview instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
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
from surveyapp.services import csv_import
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text


@dataclass(frozen=True)
class ImportArea:
    key: str  # names the session entry and the uploads folder
    fmt: csv_import.CsvFormat
    blueprint: str  # its endpoints: import_form, upload, confirm, cancel, index
    form_template: str  # the upload page (extends imports/upload.html): its CSV format
    changed_message: Callable[[], str]  # the table changed between preview and confirm
    imported_message: Callable[[csv_import.ImportPlan], str]
    titles: Callable[[], dict[str, str]]  # headings of the preview's tables

    def endpoint(self, name: str) -> str:
        return f"{self.blueprint}.{name}"


# (rule, endpoint, method) of every register's import, on the register's blueprint.
PAGES = (("/import", "import_form", "GET"), ("/import", "upload", "POST"),
         ("/import/confirm", "confirm", "POST"), ("/import/cancel", "cancel", "POST"))


def add_import_pages(bp: Blueprint, area: ImportArea) -> None:
    """The upload, preview, confirm and cancel pages of `area` on `bp`, for admins."""
    pages = {"import_form": import_form, "upload": upload, "confirm": confirm,
             "cancel": cancel}
    for rule, endpoint, method in PAGES:
        view = functools.update_wrapper(functools.partial(pages[endpoint], area),
                                        pages[endpoint])
        bp.add_url_rule(rule, endpoint, roles_required("admin")(view), methods=[method])


def import_form(area: ImportArea):
    return render_template(area.form_template, area=area)


def upload(area: ImportArea):
    upload_file = request.files.get("csv_file")
    data = upload_file.read() if upload_file else b""
    if not data:
        flash(_("CSV ファイルを選んでください。"), "error")
        return render_template(area.form_template, area=area), 400
    keep_pending(area.key, data)
    return show_preview(area, csv_import.plan_import(get_db(), data, area.fmt))


def confirm(area: ImportArea):
    try:
        data = pending_data(area.key)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for(area.endpoint("import_form")))
    plan = csv_import.plan_import(get_db(), data, area.fmt)
    if plan.fingerprint != request.form.get("fingerprint"):
        flash(area.changed_message(), "error")
        return show_preview(area, plan, status=409)
    try:
        csv_import.apply_import(get_db(), plan, area.fmt, user_id=current_user.id)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return show_preview(area, plan, status=refusal_status(error))
    discard_pending(area.key)
    flash(area.imported_message(plan), "success")
    return redirect(url_for(area.endpoint("index")))


def cancel(area: ImportArea):
    discard_pending(area.key)
    flash(_("取り込みを取り消しました。何も書き込んでいません。"), "info")
    return redirect(url_for(area.endpoint("index")))


def show_preview(area: ImportArea, plan: csv_import.ImportPlan, status: int | None = None):
    code = status or (200 if plan.ok else 422)
    columns = [_(column.label) for column in area.fmt.preview_columns]
    return render_template("imports/preview.html", plan=plan, area=area,
                           titles=area.titles(), added_columns=columns), code


# --- the file waiting for confirmation (also the users import's: views/users_import.py)


def uploads_folder(key: str) -> Path:
    return Path(current_app.instance_path) / "uploads" / key


def session_key(key: str) -> str:
    return f"{key}_import"


def keep_pending(key: str, data: bytes) -> None:
    """Keep `data` for this user's confirmation, in place of any file kept before."""
    discard_pending(key)
    session[session_key(key)] = csv_import.save_pending_upload(uploads_folder(key), data)


def pending_data(key: str) -> bytes:
    """The file this user kept; NotFound when there is none (or it was purged)."""
    return csv_import.load_pending_upload(uploads_folder(key), session.get(session_key(key), ""))


def discard_pending(key: str) -> None:
    token = session.pop(session_key(key), None)
    if token:
        csv_import.discard_pending_upload(uploads_folder(key), token)
