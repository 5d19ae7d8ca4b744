"""所属長 approval in the web (DESIGN.md §10): the decision form (approve, or return
with a comment) and the approval sheet PDF of a response.

The response page shows the approval block (templates/responses/_approval.html) with
the form for an approver of its 所属; a refused decision comes back on a page of its
own with the comment as typed. Another 所属's response answers 404.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.readmodels import approval_sheet, approval_states
from surveyapp.refusals import NotFound, Refusal
from surveyapp.services import approvals, reminders, self_check
from surveyapp.services import responses as response_service
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.store import users as user_store
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text
from surveyapp.web.view_helpers import posted_version, self_check_or_404, send_notices

bp = Blueprint("approvals", __name__)
MAX_ID = 2**63 - 1
RESPONSE_URL = f"/responses/<int(max={MAX_ID}):response_id>"


def allow_self() -> bool:
    return bool(current_app.config["ALLOW_SELF_APPROVAL"])


def decision_context(response: dict) -> dict:
    """What the approval block and the decision page show about a response."""
    db = get_db()
    view = approval_states.approval_view(db, response)
    user = user_store.get_user(db, current_user.id)
    return {"approval": view,
            "may_decide": view.status == "submitted" and view.required
            and approval_states.may_decide(user, response, allow_self()),
            "own_submission": response["submitted_by"] == current_user.id,
            "max_comment": approvals.MAX_COMMENT_LENGTH}


@bp.app_context_processor
def approval_helpers() -> dict:
    """`approval_block(response)` for the response page's approval block."""
    return {"approval_block": decision_context}


@bp.post(RESPONSE_URL + "/decision")
@roles_required("department")
def decide(response_id: int):
    response = self_check_or_404(response_id)
    decision = request.form.get("decision", "")
    if decision not in approval_states.DECISIONS:
        abort(400)
    comment = request.form.get("comment", "")
    try:
        approvals.decide(get_db(), response_id, current_user.id, posted_version(), decision,
                         comment, allow_self=allow_self())
    except NotFound:
        abort(404)
    except Refusal as refusal:
        return refused(response, refusal, comment)
    if decision == "returned":
        flash(_("差し戻しました。提出した人が修正して再提出できます。"), "success")
        if not send_notices(reminders.notify_returned, response_id):
            flash(_("提出した人へのメールを送れませんでした。次回の定期送信で再送します。"),
                  "error")
    else:
        flash(_("承認しました。"), "success")
    return redirect(url_for("responses.view", response_id=response_id), code=303)


def refused(response: dict, refusal: Refusal, comment: str):
    """The decision page again, with the reason and the comment as typed."""
    flash(refusal_text(refusal), "error")
    status = refusal_status(refusal)
    fresh = response_store.get_response(get_db(), response["id"])
    department = department_store.get_department(get_db(), response["department_code"])
    return render_template("approvals/decision.html", response=fresh, department=department,
                           comment=comment, block=decision_context(fresh)), status


@bp.post(f"/rounds/<int(max={MAX_ID}):round_id>/approval")
@roles_required("admin")
def set_required(round_id: int):
    """Turn 所属長 approval on or off for a round (the progress board's switch)."""
    required = request.form.get("required") == "1"
    approvals.set_approval_required(get_db(), round_id, required, current_user.id)
    flash(_("この調査回では所属長の承認が必要です。") if required
          else _("この調査回では所属長の承認を不要にしました。"), "success")
    return redirect(url_for("rounds.progress", round_id=round_id), code=303)


@bp.get(RESPONSE_URL + "/approval.pdf")
@roles_required("admin", "auditor", "department")
def sheet(response_id: int):
    response = self_check_or_404(response_id)
    questionnaire = response_service.definition_for(get_db(), response)
    answers = response_service.load_answers(get_db(), response_id, questionnaire)
    systems = [approval_sheet.SystemAnswers(block.code, block.system["name"], block.answers,
                                            block.evidence)
               for block in self_check.blocks_of(get_db(), response, questionnaire)]
    data = approval_sheet.sheet_pdf(get_db(), response, questionnaire, *answers, systems)
    name = f"approval_{response['department_code']}_FY{response['fiscal_year']}.pdf"
    reply = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                      download_name=name)
    reply.headers["Cache-Control"] = "private, no-store"
    return reply
