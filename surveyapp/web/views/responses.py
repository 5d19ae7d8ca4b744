"""The department self-check form: draft, autosave, confirm + submit, read-only result,
admin reopen, and the answer history page.

Views stay thin: answers are read by `web.forms.read_answers`, every state change is a
call into `services.responses`, and its refusals (surveyapp.refusals) are shown with
their message and the status web/errors.py gives their kind.
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

from surveyapp import audiences, clock, evidence, question_types, scoring
from surveyapp.findings import ordered_findings
from surveyapp.model import Question, Questionnaire
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels import followup_lists, register
from surveyapp.readmodels import response_history as answer_history
from surveyapp.readmodels.previous_answers import previous_response
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import (
    accounts,
    attachments,
    carry_over,
    previous_year,
    reminders,
    self_check,
)
from surveyapp.services import responses as service
from surveyapp.store import carry_over as carry_store
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.web import attachment_forms, forms, system_blocks
from surveyapp.web.attachment_forms import accepts_attachments
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status, storage_message
from surveyapp.web.i18n import (
    evidence_text,
    joined,
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
AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)  # whose questions the form asks
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


def _form_context(state: dict, formdata, answers: dict, errors: dict,
                  conflict: service.StoredResponse | None) -> dict:
    questionnaire, lang = state["questionnaire"], select_locale()
    form = forms.build_form_class(questionnaire, AUDIENCE, lang)(formdata=formdata)
    questions = questionnaire.questions_for(AUDIENCE)
    blocks = _blocks(state)
    return {"form": form, "lang": lang,
            "sections": questionnaire.sections_for(AUDIENCE),
            "relevant": {q.id: q.is_relevant(answers) for q in questions},
            "relevance": {q.id: forms.relevance_json(q.relevant)
                          for q in questionnaire.questions if q.relevant is not None},
            "anchors": {**{forms.field_name(q): forms.anchor(q) for q in questions},
                        **{forms.upload_name(q): forms.upload_name(q) for q in questions},
                        **system_blocks.anchors(questionnaire, blocks)},
            "blocks": system_blocks.block_views(
                questionnaire, blocks, _register_views(blocks), answers, lang,
                request.form if request.method == "POST" else None, errors,
                _block_conflicts(questionnaire, conflict, blocks),
                _block_evidence(state, blocks, lang)),
            "system_sections": questionnaire.sections_for(self_check.SYSTEM),
            "labels": system_blocks.register_labels(),
            **_evidence_context(state, lang)}


def _blocks(state: dict) -> list[self_check.Block]:
    response = state["response"]
    if response is None:
        return []
    return self_check.blocks(get_db(), state["round"]["id"], state["round"]["fiscal_year"],
                             state["department"]["code"], state["questionnaire"])


def _register_views(blocks: list[self_check.Block]) -> dict:
    """Each block's register facts and warnings, from the register row the block holds
    (the 所属 table is read once for the page, not once per block)."""
    departments = department_store.departments_by_code(get_db())
    return {block.code: register.registered(block.system, departments, _this_year(),
                                            clock.today()) for block in blocks}


def _this_year() -> int:
    return accounts.fiscal_year_of(clock.today())


def _evidence_context(state: dict, lang: str) -> dict:
    """Last year's answers, the carry-over marks, the confirmed sections, the
    attachments and their limits, for the form's evidence and carry-over parts."""
    db, response = get_db(), state["response"]
    earlier = previous_response(db, state["round"]["id"], state["department"]["code"],
                                state["questionnaire"], AUDIENCE)
    return {"previous": _previous_view(earlier, lang) if earlier else {},
            "previous_round": earlier.round if earlier else None,
            "marks": carry_store.answer_marks(db, response["id"]),
            "confirmed_sections": _confirmed_sections(state),
            "attachments": answer_reads.attachments_of(db, response["id"]),
            "attachments_allowed": bool(state["round"]["attachments_allowed"]),
            "today": evidence.today().isoformat(),
            "file_limit": attachment_forms.file_limit(),
            "request_limit": attachment_forms.request_limit(),
            "accept": attachment_forms.accept_attribute(),
            "accepted_kinds": attachment_forms.accepted_kinds()}


def _block_evidence(state: dict, blocks: list[self_check.Block], lang: str) -> dict:
    """Per system block: that system's answers last year, the carry-over marks and the
    attachments of its answers (as `_evidence_context` for the 所属's own)."""
    db, found = get_db(), {}
    for block in blocks:
        earlier = previous_response(db, state["round"]["id"], state["department"]["code"],
                                    state["questionnaire"], self_check.SYSTEM, block.code)
        response_id = block.response["id"] if block.response else None
        found[block.code] = {
            "previous": _previous_view(earlier, lang) if earlier else {},
            "previous_round": earlier.round if earlier else None,
            "marks": carry_store.answer_marks(db, response_id) if response_id else {},
            "attachments": answer_reads.attachments_of(db, response_id) if response_id else {}}
    return found


def _confirmed_sections(state: dict) -> frozenset[str]:
    """As posted (a re-rendered form keeps what was ticked), else as stored."""
    if request.method == "POST":
        posted = forms.read_carry(request.form, state["questionnaire"], None).confirmed
        if posted is not None:
            return posted
    return frozenset(carry_store.confirmed_sections(get_db(), state["response"]["id"]))


def _previous_view(earlier, lang: str) -> dict[str, dict]:
    """Per question: last year's answer as shown, its evidence, and the relation."""
    shown = {}
    for question_id, found in earlier.answers.items():
        shown[question_id] = {
            "answer": joined(forms.answer_text(q, v, lang) for q, v in zip(
                found.questions, found.values, strict=True)),
            "evidence": [e for e in found.evidence if e],
            "relation": found.relation, "changed": found.changed,
            "from_ids": [q.id for q in found.questions],
            "answered": found.answered,
            "copyable": found.comparable and found.answered}
    return shown


def _render_form(state: dict, formdata, answers: dict, errors: dict | None = None,
                 conflict: service.StoredResponse | None = None, status: int = 200):
    context = _form_context(state, formdata, answers, errors or {}, conflict)
    version = conflict.version if conflict else state["response"]["version"]
    errors = errors or {}
    return render_template(
        "responses/form.html", **state, **context, errors=errors,
        error_labels=_error_labels(state["questionnaire"], errors),
        version=version, conflict=_conflict_view(state["questionnaire"], conflict, answers),
        autosave_seconds=current_app.config["AUTOSAVE_SECONDS"]), status


def _error_labels(questionnaire: Questionnaire, errors: dict) -> dict[str, str]:
    """What each error of the summary is about: the question (and which part of its
    evidence) or the section; the 前年度の改善状況 block's fields carry their own."""
    parts = {"q": "", "e": _("（根拠）"), "el": _("（根拠の保管場所）"),
             "ed": _("（根拠の日付）"), "ea": _("（添付ファイル）")}
    labels = {}
    for name in errors:
        system_code, field = system_blocks.split_field(name)
        prefix, _sep, key = field.partition("_")
        section = questionnaire.section(key) if prefix == "confirm" else None
        if section is not None:
            labels[name] = section.title.get(select_locale())
        elif prefix in parts and questionnaire.question(key):
            labels[name] = " ".join(part for part in (system_code, key, parts[prefix]) if part)
    return labels


def _conflict_view(questionnaire: Questionnaire, conflict: service.StoredResponse | None,
                   mine: dict) -> dict | None:
    """Per question, the other person's saved answer and evidence where they differ
    from the input."""
    if conflict is None:
        return None
    differences = _differences(questionnaire, AUDIENCE, (conflict.answers, conflict.evidence),
                               mine, "")
    return {**differences, "updated_at": conflict.updated_at}


def _block_conflicts(questionnaire: Questionnaire, conflict: service.StoredResponse | None,
                     blocks: list[self_check.Block]) -> dict[str, dict]:
    """The other person's saved block answers that differ from the posted ones."""
    if conflict is None:
        return {}
    result = {}
    for block in blocks:
        prefix = self_check.field_prefix(block.code)
        mine = forms.read_answers(request.form, questionnaire, self_check.SYSTEM, prefix)[0]
        result[block.code] = _differences(
            questionnaire, self_check.SYSTEM, conflict.systems.get(block.code, ({}, {})),
            mine, prefix)
    return result


def _differences(questionnaire: Questionnaire, audience: str, theirs: tuple[dict, dict],
                 mine: dict, prefix: str) -> dict:
    lang = select_locale()
    answers, stored_evidence = theirs
    values, notes = {}, {}
    for question in questionnaire.questions_for(audience):
        saved = answers.get(question.id)
        if saved != mine.get(question.id) and not (saved is None and question.id not in mine):
            values[question.id] = forms.answer_text(question, saved, lang)
        stored = stored_evidence.get(question.id)
        typed = tuple(request.form.get(prefix + name, "").strip()
                      for name in forms.evidence_names(question))
        if evidence.texts(stored) != typed:
            notes[question.id] = evidence_text(stored) or _("（未入力）")
    return {"values": values, "evidence": notes}


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
                                                      _blocks(state))
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
    blocks = _blocks(state)
    return render_template("responses/confirm.html", **state,
                           rows=_answer_view(questionnaire, answers, evidence,
                                             state["response"]["id"]),
                           system_rows=_block_rows(questionnaire, blocks, answers),
                           hidden=_hidden_fields(questionnaire, blocks),
                           version=state["response"]["version"], lang=select_locale())


def _block_problems(state: dict) -> dict[str, str]:
    """What the 前年度の改善状況 block still lacks before the form may be submitted."""
    return translated_errors(previous_year.previous_year_errors(
        get_db(), state["round"]["id"], state["department"]["code"]))


def _hidden_fields(questionnaire: Questionnaire,
                   blocks: list[self_check.Block]) -> list[tuple[str, str]]:
    """The posted answers, evidence and section confirmations of this form (and of its
    blocks), to carry through the confirmation page (files and removals were saved with
    the draft)."""
    names = {forms.CONFIRM_SHOWN, system_blocks.POSTED_BLOCKS}
    prefixes = ["", *(self_check.field_prefix(block.code) for block in blocks)]
    for question in questionnaire.questions_for(AUDIENCE) + questionnaire.questions_for(
            self_check.SYSTEM):
        for prefix in prefixes:
            names.update(prefix + name for name in (forms.field_name(question),
                                                    *forms.evidence_names(question)))
    names.update(forms.confirm_name(section.id) for section in questionnaire.sections)
    return [(name, value) for name in request.form if name in names
            for value in request.form.getlist(name)]


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


def _block_rows(questionnaire: Questionnaire, blocks: list[self_check.Block],
                department: dict) -> list[dict]:
    """Per block: the system and its answer rows (the department answers are its
    `relevant` context)."""
    return [{"block": block, "rows": _answer_view(
        questionnaire, block.answers, block.evidence,
        block.response["id"] if block.response else None, self_check.SYSTEM, department)}
        for block in blocks]


def _answer_view(questionnaire: Questionnaire, answers: dict, evidence: dict,
                 response_id: int | None, audience: str = AUDIENCE,
                 context: dict | None = None) -> list[dict]:
    """One row per question: the answer, its points, its evidence, attachments and
    carry-over marks (copied from last year, re-confirmed); `context`: other answers
    `relevant` reads (a system block's 所属)."""
    lang = select_locale()
    known = {**(context or {}), **answers}
    files = answer_reads.attachments_of(get_db(), response_id) if response_id else {}
    marks = carry_store.answer_marks(get_db(), response_id) if response_id else {}
    rows = []
    for section in questionnaire.sections_for(audience):
        for question in section.questions:
            value = answers.get(question.id)
            relevant = question.is_relevant(known)
            rows.append({"section": section, "question": question, "relevant": relevant,
                         "answer": forms.answer_text(question, value, lang),
                         "points": scoring.answer_points(question, value)
                         if relevant and question.scored else None,
                         "evidence": evidence.get(question.id),
                         "attachments": files.get(question.id, []),
                         "marks": marks.get(question.id, {}),
                         "explanation": question.explanation
                         if question_types.of(question).has_correct_answers else None})
    return rows


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
        rows=_answer_view(questionnaire, answers, evidence, response_id),
        scores=scoring.self_check_scores(questionnaire, answers,
                                         [block.answers for block in blocks]),
        editable=editable,
        system_rows=[{**item, "scores": scoring.score_response(
            questionnaire, item["block"].answers, self_check.SYSTEM, answers)}
            for item in _block_rows(questionnaire, blocks, answers)],
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
        "responses/history.html", entries=_labelled(entries[:HISTORY_PAGE_SIZE]),
        has_next=len(entries) > HISTORY_PAGE_SIZE, page=page, errors=errors,
        filters=filters, departments=_history_departments(),
        pager_args={k: v for k, v in request.args.items() if k != "page"},
        question_ids=answer_history.history_question_ids(db))


def _history_departments() -> list[dict]:
    if current_user.sees_everything:
        return department_store.list_units(get_db())
    return []


def _labelled(entries: list[dict]) -> list[dict]:
    """History rows with the values shown as the choice labels of their round, the
    evidence on one line and the attachments by name (removed ones too)."""
    lang, definitions = select_locale(), {}
    files = answer_reads.attachments_by_id(get_db(), [
        link for entry in entries for key in ("old_attachments", "new_attachments")
        for link in answer_reads.history_ids(entry[key])])
    for entry in entries:
        for side in ("old", "new"):
            entry[f"{side}_evidence_text"] = evidence_text(evidence.AnswerEvidence(
                entry[f"{side}_evidence"], entry[f"{side}_evidence_location"],
                entry[f"{side}_evidence_date"]))
            entry[f"{side}_files"] = [files[link] for link in
                                      answer_reads.history_ids(entry[f"{side}_attachments"])
                                      if link in files]
        round_id = entry["round_id"]
        if round_id not in definitions:
            definitions[round_id] = service.definition_for(
                get_db(), response_store.get_round(get_db(), round_id))
        question = definitions[round_id].question(entry["question_id"])
        for key in ("old_value", "new_value"):
            entry[f"{key}_text"] = _stored_text(question, entry[key], lang)
    return entries


def _stored_text(question: Question | None, text: str | None, lang: str) -> str:
    if text is None:
        return _("（未回答）")
    value = question_types.of(question).from_text(question, text) if question else text
    return forms.answer_text(question, value, lang)
