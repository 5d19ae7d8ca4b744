"""Downloads (answers, scores and systems as CSV/XLSX) and the Excel round-trip of the self-check.

Admins and auditors download any round; a department user gets its own 所属 only
(another 所属's URL answers 404). Files stream: CSV row by row, XLSX from a temporary
file, each on a connection of its own because the request's connection is closed
before the server has sent the body. Every download is written to the audit log.

The round-trip (download the form, upload it filled in, look at the preview, confirm)
is for the 所属's own department users while the round is open; the preview waits in
`instance/uploads/<token>.json` and only the token sits in the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
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

from surveyapp import store
from surveyapp.formats import selfcheck_workbook
from surveyapp.model import N_
from surveyapp.readmodels import export_sheets, system_results
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import excel_roundtrip as roundtrip
from surveyapp.services import exports as export_audit
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text, select_locale
from surveyapp.web.view_helpers import (
    anonymity_min,
    content_disposition,
    round_or_404,
    signing_key,
    unit_or_404,
)

bp = Blueprint("exports", __name__, url_prefix="/exports")
FILE = "<any(answers, scores, systems):what>.<any(csv, xlsx):fmt>"
EVERYONE = ("admin", "auditor", "department")
PENDING_KEY = "excel_upload"
FORM_ENDPOINT = "responses.form"


# --- helpers ------------------------------------------------------------------------


def user_scope() -> export_sheets.Scope:
    return export_sheets.Scope.for_user(current_user.role, current_user.department_code)


def attachment(chunks: Iterator[bytes], fmt: str, names: tuple[str, str]) -> Response:
    response = Response(chunks, content_type=export_sheets.MIMETYPES[fmt])
    response.headers["Content-Disposition"] = content_disposition(*names)
    return response


def download(what: str, fmt: str, round_: round_reads.Round | None,
             scope: export_sheets.Scope) -> Response:
    round_id = round_.id if round_ else None
    export_audit.record_download(get_db(), current_user.id, what, fmt, round_id, scope)
    path, minimum = current_app.config["DATABASE"], anonymity_min()

    def generate() -> Iterator[bytes]:
        database = store.connect(path)
        try:
            sheet = export_sheets.sheet_for(database, what, round_id, minimum, scope, fmt)
            yield from export_sheets.chunks(sheet, fmt)
        finally:
            database.close()

    names = export_sheets.file_names(what, fmt, round_, scope.department_code)
    return attachment(generate(), fmt, names)


# --- downloads -----------------------------------------------------------------------


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    rounds = round_reads.list_rounds(get_db())
    asking = {round_.id for round_ in system_results.rounds_asking_systems(get_db())}
    return render_template("exports/index.html", rounds=rounds, asking_systems=asking,
                           department=current_user.department_code)


@bp.get(f"/rounds/<int:round_id>/{FILE}")
@roles_required(*EVERYONE)
def round_file(round_id: int, what: str, fmt: str):
    """The whole round for admins and auditors; the own 所属 for a department user."""
    return download(what, fmt, round_or_404(round_id), user_scope())


@bp.get(f"/rounds/<int:round_id>/departments/<code>/{FILE}")
@roles_required(*EVERYONE)
def department_file(round_id: int, code: str, what: str, fmt: str):
    """One 所属 of a round; staff rows only for admins and auditors."""
    unit_or_404(code)
    round_ = round_or_404(round_id)
    scope = export_sheets.Scope(code, with_staff=current_user.sees_everything)
    return download(what, fmt, round_, scope)


@bp.get("/all/answers.<any(csv, xlsx):fmt>")
@roles_required(*EVERYONE)
def all_answers(fmt: str):
    """Answers of every round, across questionnaire versions."""
    return download("answers", fmt, None, user_scope())


# --- the Excel round-trip --------------------------------------------------------------


def pending_uploads() -> roundtrip.PendingUploads:
    return roundtrip.PendingUploads(Path(current_app.instance_path) / "uploads")


def own_department(round_id: int, code: str) -> tuple[round_reads.Round, dict]:
    """Only the 所属's own department users fill its form: anyone else gets 404."""
    if current_user.department_code != code:
        abort(404)
    return round_or_404(round_id), unit_or_404(code)


def owner(round_id: int, code: str) -> dict:
    return {"user_id": current_user.id, "round_id": round_id, "department_code": code}


def refused_message(error: Refusal) -> str:
    """The self-check form's wording, except a conflict: here the file is what to redo."""
    if isinstance(error, Conflict):
        return _("確認画面を表示した後に、他の人がこの回答を保存しました。"
                 "何も反映していません。もう一度ダウンロードして記入し直すか、"
                 "同じファイルをもう一度アップロードして確認してください。")
    return refusal_text(error)


@bp.get("/rounds/<int:round_id>/self-check/<code>/form.xlsx")
@roles_required("department")
def form_file(round_id: int, code: str):
    round_, _department = own_department(round_id, code)
    try:
        data = roundtrip.form_for_download(get_db(), round_id, code, current_user.id,
                                           signing_key(), select_locale(), refusal_text)
    except Refusal as error:
        flash(refused_message(error), "error")
        return redirect(url_for(".upload", round_id=round_id, code=code))
    names = (f"自己点検様式_{round_.fiscal_year}年度_{code}.xlsx",
             f"selfcheck_fy{round_.fiscal_year}_{code}.xlsx")
    return attachment(iter([data]), "xlsx", names)


@bp.get("/rounds/<int:round_id>/self-check/<code>/upload")
@roles_required("department")
def upload(round_id: int, code: str):
    round_, department = own_department(round_id, code)
    return render_template("exports/upload.html", round=round_, department=department,
                           error=None)


@bp.post("/rounds/<int:round_id>/self-check/<code>/upload")
@roles_required("department")
def receive_upload(round_id: int, code: str):
    round_, department = own_department(round_id, code)
    uploaded = request.files.get("file")
    data = uploaded.read(selfcheck_workbook.MAX_UPLOAD_BYTES + 1) if uploaded else b""
    try:
        if not data:
            raise Invalid(N_("ファイルを選んでください。"))
        result = roundtrip.preview(get_db(), data, uploaded.filename or "", signing_key(),
                                   round_id, code, select_locale())
    except Invalid as refused:
        return render_template("exports/upload.html", round=round_, department=department,
                               error=refusal_text(refused)), refusal_status(refused)
    pending_uploads().discard(session.get(PENDING_KEY))
    session[PENDING_KEY] = pending_uploads().save(owner(round_id, code), result)
    return render_preview(round_, department, result)


def render_preview(round_, department, result, error: str | None = None, status: int = 200):
    return render_template("exports/preview.html", round=round_, department=department,
                           preview=result, error=error,
                           form_url=form_url(round_.id, department["code"])), status


def form_url(round_id: int, code: str) -> str | None:
    if FORM_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(FORM_ENDPOINT, round_id=round_id, code=code)


@bp.post("/rounds/<int:round_id>/self-check/<code>/apply")
@roles_required("department")
def apply_upload(round_id: int, code: str):
    round_, department = own_department(round_id, code)
    token = session.get(PENDING_KEY)
    result = pending_uploads().load(token, owner(round_id, code))
    if result is None:
        flash(_("確認中のファイルが見つかりません。もう一度アップロードしてください。"), "error")
        return redirect(url_for(".upload", round_id=round_id, code=code))
    try:
        saved = roundtrip.apply(get_db(), result, current_user.id,
                                overwrite=request.form.get("overwrite") == "yes")
    except Invalid as refused:  # the file as previewed cannot be applied
        return render_preview(round_, department, result, refusal_text(refused),
                              refusal_status(refused))
    except Refusal as error:  # the response changed or was locked since the preview
        pending_uploads().discard(session.pop(PENDING_KEY, None))
        flash(refused_message(error), "error")
        return redirect(url_for(".upload", round_id=round_id, code=code))
    pending_uploads().discard(session.pop(PENDING_KEY, None))
    flash(_("Excel の内容を%(n)d問の回答に反映しました（下書き）。", n=len(saved.changed)),
          "info")
    return redirect(form_url(round_id, code) or url_for(".upload", round_id=round_id,
                                                        code=code))
