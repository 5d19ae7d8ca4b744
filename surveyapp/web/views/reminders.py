"""Deadlines and reminders on the progress board (DESIGN.md §10): "send now", the
CSV of late 所属 with their contacts, and extending one 所属's deadline.

The board itself (rounds.progress) shows the reminder log and links here.
"""

from __future__ import annotations

import sqlite3

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.readmodels import deadlines as deadline_reads
from surveyapp.readmodels import late_list
from surveyapp.refusals import Invalid, Refusal
from surveyapp.services import deadlines, reminders
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.i18n import refusal_text
from surveyapp.web.view_helpers import mail_settings, round_or_404, unit_or_404

bp = Blueprint("reminders", __name__, url_prefix="/rounds")
MAX_ID = 2**63 - 1
ROUND_URL = f"/<int(max={MAX_ID}):round_id>"


@bp.app_context_processor
def deadline_banner() -> dict:
    """`unit_deadlines()` for base.html: the own 所属's deadline in each open round,
    shown on every page a department user sees. Called only when the page renders it;
    a database that cannot be read leaves the banner out (an error page must render)."""
    def unit_deadlines() -> list[deadline_reads.UnitDeadline]:
        if not (current_user.is_authenticated and current_user.role == "department"):
            return []
        try:
            return deadline_reads.unit_deadlines(get_db(), current_user.department_code,
                                            deadline_reads.local_today())
        except sqlite3.Error:
            return []
    def unit_deadline(round_id: int, code: str) -> deadline_reads.Deadline | None:
        try:
            return deadline_reads.department_deadline(get_db(), round_id, code)
        except (sqlite3.Error, Refusal):
            return None

    return {"unit_deadlines": unit_deadlines, "unit_deadline": unit_deadline,
            "local_today": deadline_reads.local_today}


def board(round_id: int, anchor: str = "reminders"):
    return redirect(url_for("rounds.progress", round_id=round_id, _anchor=anchor), code=303)


@bp.post(ROUND_URL + "/reminders")
@roles_required("admin")
def send_now(round_id: int):
    """The reminders and notices due today, as `surveyapp reminders send` would."""
    round_or_404(round_id)
    try:
        report = reminders.send_due(
            get_db(), round_id, mail_settings(),
            reminders.Schedule.from_config(current_app.config), sent_by=current_user.id)
    except Refusal as refusal:
        flash(refusal_text(refusal), "error")
        return board(round_id)
    flash(_("督促・通知メール: 送信 %(sent)d件、送信済みのため省略 %(skipped)d件、"
            "失敗 %(failed)d件、宛先なし %(missing)d件", sent=report.count("sent"),
            skipped=report.count("already_sent"), failed=report.failed,
            missing=report.count("no_address")),
          "error" if report.failed else "success")
    return board(round_id)


@bp.get(ROUND_URL + "/late.csv")
@roles_required("admin", "auditor")
def late_csv(round_id: int):
    current = round_or_404(round_id)
    which = request.args.get("which", "overdue")
    if which not in late_list.WHICH:
        abort(404)
    chunks = late_list.csv_chunks(get_db(), round_id, deadline_reads.local_today(), which)
    reply = Response(list(chunks), content_type="text/csv; charset=utf-8")
    name = f"{which}_departments_FY{current.fiscal_year}_round{round_id}.csv"
    reply.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.route(ROUND_URL + "/deadlines/<code>", methods=["GET", "POST"])
@roles_required("admin")
def extend(round_id: int, code: str):
    """Extend one 所属's deadline, with a reason (audit-logged)."""
    current, unit = round_or_404(round_id), unit_or_404(code)
    deadline = deadline_reads.department_deadline(get_db(), round_id, code)
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            deadlines.extend(get_db(), round_id, code, form.get("closes_on"),
                             form.get("reason"), current_user.id)
        except Invalid as invalid:
            return render_extend(current, unit, deadline, form, invalid, 422)
        except Refusal as refusal:
            return render_extend(current, unit, deadline, form, refusal, 409)
        flash(_("%(unit)s の締切日を延長しました。", unit=unit["name"]), "success")
        return board(round_id, anchor=f"unit-{code}")
    return render_extend(current, unit, deadline, form)


def render_extend(current, unit: dict, deadline: deadline_reads.Deadline, form, refusal=None,
                  status: int = 200):
    if refusal is not None:
        flash(refusal_text(refusal), "error")
    errors = getattr(refusal, "errors", {}) if refusal is not None else {}
    return render_template("reminders/extend.html", round=current, unit=unit,
                           deadline=deadline, form=form, errors=errors,
                           max_reason=deadlines.MAX_REASON_LENGTH), status
