"""The department self-check form: draft, autosave, confirm + submit, read-only result,
admin reopen, and the answer history page.

Views stay thin: answers are read by `web.forms.read_answers`, what the pages show is
built by `web.self_check_page`, every state change is a call into `services.responses`
(`services.self_check` for the form with its system blocks), and its refusals
(surveyapp.refusals) are shown with their message and the status web/errors.py gives
their kind.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import clock, evidence, scoring
from surveyapp.findings import ordered_findings
from surveyapp.model import Questionnaire
from surveyapp.readmodels import followup_lists
from surveyapp.readmodels import response_history as answer_history
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import (
    attachments,
    carry_over,
    previous_year,
    reminders,
    self_check,
)
from surveyapp.services import responses as service
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.web import attachment_forms, forms, self_check_page, system_blocks
from surveyapp.web.attachment_forms import accepts_attachments
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status, storage_message
from surveyapp.web.i18n import (
    evidence_text,
    refusal_text,
    select_locale,
    translated_errors,
)
from surveyapp.web.view_helpers import (
    ITEM_STATUS_LABELS,
    RELATIONS,
    posted_version,
    self_check_or_404,
    send_notices,
)

bp = Blueprint("responses", __name__)
AUDIENCE = self_check_page.AUDIENCE  # whose questions the form asks
HISTORY_PAGE_SIZE = 50
# Ids above SQLite's INTEGER range answer 404 instead of overflowing in the driver.
MAX_ID = 2**63 - 1
FORM_URL = f"/rounds/<int(max={MAX_ID}):round_id>/self-check/<code>"
RESPONSE_URL = f"/responses/<int(max={MAX_ID}):response_id>"


def submission_message(problem: str) -> str:
    """A field's problem: an error code of `service.submission_errors`, or a message."""
    if problem == evidence.NOTE_OR_LOCATION:
        return _("この設問では根拠（メモまたは保管場所）の入力が必要です。")
    if problem == evidence.DATE:
        return _("この設問では根拠の日付の入力が必要です。")
    if problem == "required":
        return _("この設問は回答が必要です。")
    return refusal_text(problem)


@bp.context_processor
def previous_year_helpers() -> dict:
    """`previous_year_block(round_id, code)` for the 前年度の改善状況 block of the form,
    its confirmation and the read-only view (templates/followups/_previous_year_*.html);
    `evidence_text` and the lineage `relations` for evidence and last year's answers."""
    return {"previous_year_block": previous_year_block,
            "followup_status_labels": ITEM_STATUS_LABELS,
            "evidence_text": evidence_text, "relations": RELATIONS}


def previous_year_block(round_id: int, code: str) -> dict:
    """What the block shows: the previous round and, per open item, the status and
    progress note from the posted form (a re-rendered POST keeps what was typed) or
    as saved."""
    db = get_db()
    entries = previous_year.previous_year_entries(db, round_id, code)
    if not entries:
        return {"round": None, "entries": []}
    posted = request.form if request.method == "POST" else {}
    shown = [{"entry": entry, "item": entry.item,
              "status_name": previous_year.status_field(entry.item.id),
              "note_name": previous_year.note_field(entry.item.id),
              "status": posted.get(previous_year.status_field(entry.item.id), entry.status),
              "note": posted.get(previous_year.note_field(entry.item.id), entry.note)}
             for entry in entries]
    return {"round": followup_lists.previous_round(db, round_id), "entries": shown,
            "statuses": followup_lists.STATUSES}


# --- helpers ---------------------------------------------------------------------


def _department_or_404(code: str) -> dict:
    require_department(code)
    department = department_store.get_department(get_db(), code)
    if department is None:
        abort(404)
    return department


def _round_or_404(round_id: int) -> dict:
    found = response_store.get_round(get_db(), round_id)
    if found is None:
        abort(404)
    return found


def _may_edit(code: str) -> bool:
    return current_user.role == "department" and current_user.department_code == code


def _render_form(state: dict, formdata, answers: dict, errors: dict | None = None,
                 conflict: service.StoredResponse | None = None, status: int = 200):
    context = self_check_page.form_context(state, formdata, answers, errors or {}, conflict)
    version = conflict.version if conflict else state["response"]["version"]
    errors = errors or {}
    return render_template(
        "responses/form.html", **state, **context, errors=errors,
        error_labels=self_check_page.error_labels(state["questionnaire"], errors),
        version=version,
        conflict=self_check_page.conflict_view(state["questionnaire"], conflict, answers),
        autosave_seconds=current_app.config["AUTOSAVE_SECONDS"]), status


def _state(round_id: int, code: str) -> dict:
    """Round, 所属, response and definition for the form URLs (404 when out of scope)."""
    department = _department_or_404(code)
    round_row = _round_or_404(round_id)
    response = service.find_department_response(get_db(), round_id, code)
    questionnaire = service.definition_for(get_db(), round_row)
    return {"round": round_row, "department": department, "response": response,
            "questionnaire": questionnaire}


# --- the form --------------------------------------------------------------------


@bp.get(FORM_URL)
@roles_required("admin", "auditor", "department")
def form(round_id: int, code: str):
    state = _state(round_id, code)
    response = state["response"]
    editable = _may_edit(code) and state["round"]["status"] == "open"
    if response is not None and (response["status"] == "submitted" or not editable):
        return redirect(url_for(".view", response_id=response["id"]))
    if not editable:
        return render_template("responses/unavailable.html", **state)
    state["response"] = _get_or_create(state)
    answers, evidence = service.load_answers(get_db(), state["response"]["id"],
                                             state["questionnaire"])
    return _render_form(state, forms.formdata_for(answers, evidence), answers)


def _get_or_create(state: dict) -> dict:
    return state["response"] or service.get_or_create_department_response(
        get_db(), state["round"]["id"], state["department"]["code"], current_user.id)


def _editable_state(round_id: int, code: str) -> dict:
    state = _state(round_id, code)
    if not _may_edit(code):
        abort(403)
    return state


@bp.post(FORM_URL)
@roles_required("department")
@accepts_attachments
def save(round_id: int, code: str):
    state = _editable_state(round_id, code)
    try:
        state["response"] = _get_or_create(state)
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for(".form", round_id=round_id, code=code))
    answers, evidence, errors = _read_form(state)
    return _save_and_continue(state, answers, evidence, errors)


def _read_form(state: dict) -> tuple[dict, dict, dict]:
    """(department answers, evidence, errors) from the posted form, each block's input
    kept in `state["systems"]`: the department questions and every block the page
    showed."""
    questionnaire = state["questionnaire"]
    answers, evidence, errors = forms.read_answers(request.form, questionnaire, AUDIENCE)
    systems, block_errors = system_blocks.read_blocks(request.form, questionnaire,
                                                      self_check_page.form_blocks(state))
    state["systems"] = systems
    return answers, evidence, {**errors, **block_errors}


def _save_draft(state: dict, answers: dict, evidence: dict, action: str | None = None,
                ) -> tuple[service.SaveResult, dict[str, str]]:
    """Save the posted form (the 所属's answers and each block's) with its files and
    last year's part; returns the result and the messages of the files that were
    refused (the rest is saved)."""
    allowed = bool(state["round"]["attachments_allowed"])
    posted = attachment_forms.read_posted_files(state["questionnaire"], AUDIENCE, allowed)
    by_block = {code: attachment_forms.read_posted_files(
        state["questionnaire"], self_check.SYSTEM, allowed, self_check.field_prefix(code))
        for code in state["systems"]}
    blobs = attachment_forms.blobs()
    with contextlib.ExitStack() as stack:
        added = stack.enter_context(attachments.staged(get_db(), blobs, posted.accepted))
        block_files = {code: attachments.Changes(blobs, stack.enter_context(
            attachments.staged(get_db(), blobs, found.accepted)), found.removed)
            for code, found in by_block.items()}
        result = self_check.save_form(
            get_db(), state["response"]["id"], posted_version(), answers, evidence,
            state["systems"], current_user.id, state["questionnaire"],
            previous_year=request.form, files=attachments.Changes(blobs, added, posted.removed),
            carry=forms.read_carry(request.form, state["questionnaire"], action),
            system_files=block_files)
    file_errors = {name: message for found in (posted, *by_block.values())
                   for name, message in found.errors.items()}
    return result, file_errors


def _save_and_continue(state: dict, answers: dict, evidence: dict, errors: dict):
    action = request.form.get("action")
    try:
        result, file_errors = _save_draft(state, answers, evidence, action)
    except Conflict as conflict:
        flash(refusal_text(conflict), "error")
        return _render_form(state, request.form, answers, errors, conflict.current,
                            refusal_status(conflict))
    except Invalid as invalid:
        flash(refusal_text(invalid), "error")
        return _render_form(state, request.form, answers,
                            {**errors, **translated_errors(invalid.errors)},
                            status=refusal_status(invalid))
    except Refusal as error:
        return _refused(state, error)
    except sqlite3.OperationalError as error:
        return _storage_failed(state, answers, errors, error)
    state["response"] = {**state["response"], "version": result.version}
    errors = {**errors, **file_errors, **translated_errors(result.previous_year_errors)}
    if errors:
        if file_errors:
            flash(refusal_text(attachments.NOT_SAVED_MESSAGE), "error")
        return _render_form(state, request.form, answers, errors, status=422)
    if action == "submit":
        return _confirm_or_errors(state)
    flash(_saved_message(action, result), "success")
    return redirect(url_for(".form", round_id=state["round"]["id"],
                            code=state["department"]["code"]))


def _saved_message(action: str | None, result: service.SaveResult) -> str:
    if action != forms.COPY_ACTION:
        return _("下書きを保存しました。")
    if not result.copied:
        return _("コピーできる前年の回答はありませんでした（空欄の設問がないか、前年の回答が"
                 "ありません）。")
    return _("前年の回答を%(n)d問にコピーしました。内容を確認し、分野ごとに"
             "「前年どおり確認した」にチェックするか、回答を修正してください。",
             n=len(result.copied))


def _storage_failed(state: dict, answers: dict, errors: dict,
                    error: sqlite3.OperationalError):
    """Read-only, full or busy database: the form comes back with everything typed."""
    message = storage_message(error)
    if message is None:
        raise error
    flash(message, "error")
    return _render_form(state, request.form, answers, errors, status=503)


def _refused(state: dict, error: Refusal):
    """Round closed or response locked: say why and keep the typed input on screen."""
    flash(refusal_text(error), "error")
    answers, _evidence, _errors = _read_form(state)
    return _render_form(state, request.form, answers, status=refusal_status(error))


def _confirm_or_errors(state: dict):
    questionnaire = state["questionnaire"]
    answers, evidence = service.load_answers(get_db(), state["response"]["id"], questionnaire)
    problems = {**service.submission_errors(questionnaire, AUDIENCE, answers, evidence),
                **self_check.block_problems(get_db(), state["response"], questionnaire,
                                            answers, {})}
    errors = {**{name: submission_message(code) for name, code in problems.items()},
              **translated_errors(carry_over.unconfirmed_stored(
                  get_db(), state["response"]["id"], state["questionnaire"])),
              **_block_problems(state)}
    if errors:
        return _render_form(state, request.form, answers, errors, status=422)
    blocks = self_check_page.form_blocks(state)
    return render_template(
        "responses/confirm.html", **state,
        rows=self_check_page.answer_view(questionnaire, answers, evidence,
                                         state["response"]["id"]),
        system_rows=self_check_page.block_rows(questionnaire, blocks, answers),
        hidden=self_check_page.hidden_fields(questionnaire, blocks),
        version=state["response"]["version"], lang=select_locale())


def _block_problems(state: dict) -> dict[str, str]:
    """What the 前年度の改善状況 block still lacks before the form may be submitted."""
    return translated_errors(previous_year.previous_year_errors(
        get_db(), state["round"]["id"], state["department"]["code"]))


@bp.post(FORM_URL + "/confirm")
@roles_required("department")
def confirm(round_id: int, code: str):
    state = _editable_state(round_id, code)
    if state["response"] is None:
        abort(404)
    answers, evidence, errors = _read_form(state)
    if errors:
        return _render_form(state, request.form, answers, errors, status=422)
    try:
        self_check.submit_form(get_db(), state["response"]["id"], posted_version(), answers,
                               evidence, state["systems"], current_user.id,
                               state["questionnaire"], previous_year=request.form,
                               carry=forms.read_carry(request.form, state["questionnaire"],
                                                      None))
    except Invalid as incomplete:
        flash(refusal_text(incomplete), "error")
        problems = {k: submission_message(v) for k, v in incomplete.errors.items()}
        return _render_form(state, request.form, answers, problems,
                            status=refusal_status(incomplete))
    except Conflict as conflict:
        flash(refusal_text(conflict), "error")
        return _render_form(state, request.form, answers, conflict=conflict.current,
                            status=refusal_status(conflict))
    except Refusal as error:
        return _refused(state, error)
    except sqlite3.OperationalError as error:
        return _storage_failed(state, answers, {}, error)
    flash(_("自己点検を提出しました。ご協力ありがとうございました。"), "success")
    if not send_notices(reminders.notify_submitted, state["response"]["id"]):
        flash(_("承認者へのメールを送れませんでした。次回の定期送信で再送します。"), "error")
    return redirect(url_for(".view", response_id=state["response"]["id"]))


@bp.post(FORM_URL + "/autosave")
@roles_required("department")
@accepts_attachments
def autosave(round_id: int, code: str):
    state = _editable_state(round_id, code)
    if state["response"] is None:
        return jsonify(error=_("回答が見つかりません。")), 404
    answers, evidence, errors = _read_form(state)
    try:
        result, file_errors = _save_draft(state, answers, evidence)
    except Refusal as error:
        return jsonify(error=_autosave_error(error), code=error.code), refusal_status(error)
    block = translated_errors(result.previous_year_errors)
    return jsonify(_autosave_body(result, {**errors, **file_errors, **block}))


def _autosave_error(error: Refusal) -> str:
    if isinstance(error, Conflict):
        return _("他の人がこの回答を保存したため、自動保存を止めました。"
                 "「下書き保存」を押すと、あなたの入力と見比べられます。")
    return refusal_text(error)


def _autosave_body(result: service.SaveResult, errors: dict) -> dict:
    moment = clock.local_time(result.saved_at)
    shown = moment.strftime("%H:%M") if moment else ""
    message = _("自動保存しました %(time)s", time=shown)
    if errors:
        message += _("（入力に誤りがある%(n)d項目は保存していません）", n=len(errors))
    # saved_at is ISO 8601 with its offset, like every timestamp a program reads.
    return {"version": result.version, "saved_at": clock.iso_local(result.saved_at),
            "message": message, "errors": errors}


# --- read-only view and reopen ---------------------------------------------------


@bp.get(RESPONSE_URL)
@roles_required("admin", "auditor", "department")
def view(response_id: int):
    response = self_check_or_404(response_id)
    questionnaire = service.definition_for(get_db(), response)
    answers, evidence = service.load_answers(get_db(), response_id, questionnaire)
    department = department_store.get_department(get_db(), response["department_code"])
    editable = (_may_edit(response["department_code"]) and response["round_status"] == "open"
                and response["status"] in service.EDITABLE)
    blocks = self_check.blocks_of(get_db(), response, questionnaire)
    return render_template(
        "responses/view.html", response=response, questionnaire=questionnaire,
        department=department,
        rows=self_check_page.answer_view(questionnaire, answers, evidence, response_id),
        scores=scoring.self_check_scores(questionnaire, answers,
                                         [block.answers for block in blocks]),
        editable=editable,
        system_rows=[{**item, "scores": scoring.score_response(
            questionnaire, item["block"].answers, self_check.SYSTEM, answers)}
            for item in self_check_page.block_rows(questionnaire, blocks, answers)],
        findings=_department_findings(questionnaire),
        score_sections=questionnaire.sections_for(AUDIENCE) + questionnaire.sections_for(
            self_check.SYSTEM),
        lang=select_locale(), reason_error=None)


def _department_findings(questionnaire: Questionnaire) -> list[str]:
    """Findings followed up by the self-check's scored questions (the 所属's own and its
    systems'), in the catalogue's order."""
    asked = questionnaire.questions_for(AUDIENCE) + questionnaire.questions_for(
        self_check.SYSTEM)
    mine = {f for q in asked if q.scored for f in q.findings}
    return ordered_findings(finding for finding in questionnaire.findings if finding in mine)


@bp.post(RESPONSE_URL + "/reopen")
@roles_required("admin")
def reopen(response_id: int):
    self_check_or_404(response_id)
    try:
        service.reopen(get_db(), response_id, current_user.id, request.form.get("reason", ""))
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for(".view", response_id=response_id))
    flash(_("回答を再開しました。所属で修正して再度提出できます。"), "success")
    return redirect(url_for(".view", response_id=response_id))


# --- lists and history -----------------------------------------------------------


@bp.get("/self-check")
@roles_required("admin", "auditor", "department")
def index():
    db = get_db()
    rounds = response_store.list_rounds(db)
    chosen = request.args.get("round", type=int)
    listed = next((r for r in rounds if r["id"] == chosen), rounds[0] if rounds else None)
    own = None
    if current_user.role == "department":
        own = {r["id"]: service.find_department_response(db, r["id"], current_user.department_code)
               for r in rounds}
    responses = (response_store.department_responses(db, listed["id"])
                 if listed and current_user.sees_everything else [])
    return render_template("responses/index.html", rounds=rounds, listed=listed, own=own,
                           responses=responses)


def _parse_day(name: str, errors: dict) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_day(name, errors)
    except ValueError:
        return _bad_day(name, errors)


def _bad_day(name: str, errors: dict) -> None:
    errors[name] = _("日付は yyyy-mm-dd の形式で入力してください（例: 2021-04-01）。")


def _history_department() -> str | None:
    if current_user.sees_everything:
        return request.args.get("department", "").strip() or None
    return current_user.department_code


@bp.get("/self-check/history")
@roles_required("admin", "auditor", "department")
def history():
    db = get_db()
    errors: dict[str, str] = {}
    page = max(1, min(request.args.get("page", 1, type=int), 100_000))
    filters = {"department_code": _history_department(),
               "question_id": request.args.get("question", "").strip()[:40] or None,
               "date_from": _parse_day("from", errors), "date_to": _parse_day("to", errors)}
    entries = answer_history.response_history(db, **filters, limit=HISTORY_PAGE_SIZE + 1,
                                       offset=(page - 1) * HISTORY_PAGE_SIZE)
    return render_template(
        "responses/history.html",
        entries=self_check_page.labelled_history(entries[:HISTORY_PAGE_SIZE]),
        has_next=len(entries) > HISTORY_PAGE_SIZE, page=page, errors=errors,
        filters=filters, departments=_history_departments(),
        pager_args={k: v for k, v in request.args.items() if k != "page"},
        question_ids=answer_history.history_question_ids(db))


def _history_departments() -> list[dict]:
    if current_user.sees_everything:
        return department_store.list_units(get_db())
    return []

