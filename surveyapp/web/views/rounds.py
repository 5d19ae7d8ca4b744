"""Survey rounds: the list, creating one, opening and closing, and the progress board.

Admins change rounds; auditors may look at the list and the progress board. Opening
and closing ask for confirmation on a page of their own (no script needed, strict CSP).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from surveyapp.model import N_
from surveyapp.readmodels import approval_states, reminder_log
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Invalid, Refusal
from surveyapp.services import rounds as round_service
from surveyapp.store import departments as department_store
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text
from surveyapp.web.view_helpers import mail_settings, round_or_404

bp = Blueprint("rounds", __name__, url_prefix="/rounds")

ROUND_STATUS_LABELS = {"draft": _l("準備中"), "open": _l("受付中"), "closed": _l("締切済み")}
RESPONSE_STATUS_LABELS = {"not_started": _l("未着手"), "draft": _l("回答中（下書き）"),
                          "submitted": _l("提出済み"), "reopened": _l("再提出待ち")}
# Badges carry the label as text; colour only repeats it.
ROUND_BADGES = {"draft": "badge-none", "open": "badge-ok", "closed": "badge-warn"}
RESPONSE_BADGES = {"not_started": "badge-bad", "draft": "badge-warn", "submitted": "badge-ok",
                   "reopened": "badge-warn"}
APPROVAL_LABELS = {"not_started": _l("未着手"), "draft": _l("作成中"),
                   "submitted": _l("承認待ち"), "returned": _l("差戻し"),
                   "approved": _l("承認済み")}
APPROVAL_BADGES = {"not_started": "badge-bad", "draft": "badge-warn", "submitted": "badge-warn",
                   "returned": "badge-bad", "approved": "badge-ok"}
REMINDER_KINDS = {"before_close": _l("期限前の督促"), "overdue": _l("期限後の督促"),
                  "approval": _l("承認依頼"), "returned": _l("差戻しの連絡")}
REMINDER_RESULTS = {"sent": _l("送信"), "failed": _l("失敗"), "sending": _l("送信中")}
ANSWERS_ENDPOINT = "responses.form"


@bp.context_processor
def labels() -> dict:
    return {"round_status_labels": ROUND_STATUS_LABELS,
            "response_status_labels": RESPONSE_STATUS_LABELS,
            "round_badges": ROUND_BADGES, "response_badges": RESPONSE_BADGES,
            "approval_labels": APPROVAL_LABELS, "approval_badges": APPROVAL_BADGES,
            "reminder_kinds": REMINDER_KINDS, "reminder_results": REMINDER_RESULTS,
            "answers_endpoint": answers_endpoint()}


def answers_endpoint() -> str | None:
    """The progress board links to a 所属's answers when that area is installed."""
    return ANSWERS_ENDPOINT if ANSWERS_ENDPOINT in current_app.view_functions else None




@bp.get("/")
@roles_required("admin", "auditor")
def index():
    return render_template("rounds/index.html", rounds=round_reads.list_rounds(get_db()))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    versions = round_reads.list_published_versions(get_db())
    if request.method == "GET":
        return render_template("rounds/new.html", versions=versions, form={})
    chosen = {str(v["id"]): v for v in versions}.get(request.form.get("version_id", ""))
    try:
        if chosen is None:
            raise Invalid(N_("公開済みの調査票の版を選んでください。"))
        created = round_service.create_round(
            get_db(), request.form.get("fiscal_year", ""), chosen["questionnaire_id"],
            chosen["version"], request.form.get("opens_on"), request.form.get("closes_on"),
            user_id=current_user.id,
            approval_required=request.form.get("approval_required") == "1",
            attachments_allowed=request.form.get("attachments") == "on")
    except Refusal as error:
        flash(refusal_text(error), "error")
        return render_template("rounds/new.html", versions=versions,
                               form=request.form), refusal_status(error)
    flash(_("調査回を作成しました（準備中）。"), "success")
    return redirect(url_for("rounds.progress", round_id=created.id))


@bp.get("/<int:round_id>/<any(open, close):action>")
@roles_required("admin")
def confirm_change(round_id: int, action: str):
    return render_template("rounds/confirm.html", round=round_or_404(round_id), action=action)


@bp.post("/<int:round_id>/open")
@roles_required("admin")
def open_round(round_id: int):
    round_or_404(round_id)
    return change_status(round_service.open_round, round_id, _("受付を開始しました。"))


@bp.post("/<int:round_id>/close")
@roles_required("admin")
def close_round(round_id: int):
    round_or_404(round_id)
    return change_status(round_service.close_round, round_id, _("受付を締め切りました。"))


def change_status(change, round_id: int, done_message: str):
    try:
        change(get_db(), round_id, user_id=current_user.id)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return render_template("rounds/index.html",
                               rounds=round_reads.list_rounds(get_db())), refusal_status(error)
    flash(done_message, "success")
    return redirect(url_for("rounds.index"), code=303)


@bp.post("/<int:round_id>/attachments")
@roles_required("admin")
def set_attachments(round_id: int):
    """Turn evidence attachments on or off for the round's forms (DESIGN.md §13)."""
    round_or_404(round_id)
    allowed = request.form.get("attachments") == "on"
    round_service.set_attachments(get_db(), round_id, allowed, user_id=current_user.id)
    flash(_("添付ファイルを受け付けるようにしました。") if allowed
          else _("添付ファイルを受け付けないようにしました。"), "success")
    return redirect(url_for("rounds.progress", round_id=round_id), code=303)


@bp.get("/<int:round_id>/")
@roles_required("admin", "auditor")
def progress(round_id: int):
    current = round_or_404(round_id)
    bureaus = department_store.list_bureaus(get_db())
    # Only a known 部局 code or state filters; anything else shows every 所属.
    bureau = request.args.get("bureau", "")
    bureau = bureau if bureau in {row["code"] for row in bureaus} else ""
    state = request.args.get("state", "")
    state = state if state in approval_states.STATUSES else ""
    overdue = request.args.get("overdue") == "1"
    rows = round_reads.progress(get_db(), round_id, bureau or None)
    settings = mail_settings()
    return render_template("rounds/progress.html", round=current,
                           rows=round_reads.filtered(rows, state, overdue),
                           totals=round_reads.progress_totals(rows), bureaus=bureaus,
                           bureau=bureau, state=state, overdue=overdue,
                           reminder_log=reminder_log.entries(get_db(), round_id),
                           mail_enabled=settings.enabled, mail_problems=settings.problems())
