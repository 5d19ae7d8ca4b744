"""Audit verification (監査検証, DESIGN.md §9): the plan and sample of a round, the
fieldwork page of each sampled 所属, the workpaper out and back in, the figures with
their chart, and a 所属's reliability year over year.

Admins and auditors do the verification work (every POST here is theirs, and only
theirs: auditors change nothing else in the app). A department user sees its own
所属's result once the auditors finalised it; anything else answers 404. The rules live
in `services.verification` (write side) and `readmodels.verification` (figures); these
views read the request, call them and render.
"""

from __future__ import annotations

from collections.abc import Callable
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

from surveyapp import charts, question_types
from surveyapp.formats import verification_workbook
from surveyapp.model import N_, fiscal_year_label
from surveyapp.readmodels import export_sheets, verification_history
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels.results_view import delta_text, percent, score_text
from surveyapp.refusals import Invalid, NotFound, Refusal
from surveyapp.services import verification as service
from surveyapp.services import verification_sampling as sampling
from surveyapp.services import verification_workpaper
from surveyapp.store import departments as department_store
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text, select_locale, translated_errors
from surveyapp.web.view_helpers import (
    anonymity_min,
    chart_cache,
    content_disposition,
    round_or_404,
    signing_key,
    unit_or_404,
)

bp = Blueprint("verification", __name__, url_prefix="/verification")

VERIFIERS = service.VERIFIERS  # who does verification work: the service decides
EVERYONE = (*VERIFIERS, "department")
PENDING_KEY = "verification_workpaper"
ROUND = "/rounds/<int:round_id>"
DEPARTMENT = ROUND + "/departments/<code>"


@bp.context_processor
def labels() -> dict:
    return {"reason_labels": figures.REASON_LABELS, "verdict_labels": figures.VERDICT_LABELS,
            "verdicts": figures.VERDICTS, "reason_detail": reason_detail,
            "kind_of": question_types.of}


def reason_detail(reason: str, detail: dict) -> str:
    """The figure behind a sampling reason, in the chosen language."""
    if "score" in detail:
        return _("総合得点 %(score)s", score=score_text(detail["score"]))
    if "rise" in detail:
        return _("前回から %(delta)s 点", delta=delta_text(detail["rise"]))
    if "answers" in detail:
        return _("%(n)d件", n=detail["answers"])
    if "reliability" in detail:
        return _("信頼度 %(rate)s", rate=percent(detail["reliability"]))
    if "seed" in detail:
        return _("シード %(seed)s", seed=detail["seed"])
    return ""


# --- helpers ----------------------------------------------------------------------------


def verification_or_404(round_id: int) -> figures.RoundVerification:
    """The round's verification; an unknown round is a NotFound (web/errors.py: 404)."""
    return figures.round_verification(get_db(), round_id, anonymity_min())


def sampled_or_404(round_id: int, code: str) -> tuple[figures.RoundVerification,
                                                      figures.SampledDepartment]:
    """The round and one sampled 所属; a department user only its own, and only once
    the auditors finalised it."""
    require_department(code)
    found = verification_or_404(round_id)
    department = found.department(code)
    if department is None or not (current_user.sees_everything or department.finalised):
        abort(404)
    return found, department


def back_to_plan(round_id: int):
    return redirect(url_for(".plan", round_id=round_id))


def refused(error: Refusal, round_id: int):
    """A refused change of the plan: its message on the plan page, status kept."""
    flash(refusal_text(error), "error")
    return back_to_plan(round_id)


# --- the rounds ---------------------------------------------------------------------------


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    """Admins and auditors: every round with its plan; department users: the own 所属's
    finalised verifications."""
    db = get_db()
    if not current_user.sees_everything:
        history = verification_history.reliability_history(db, current_user.department_code,
                                                           anonymity_min())
        return render_template("verification/own.html", history=history,
                               code=current_user.department_code)
    rounds = sorted((r for r in round_reads.list_rounds(db) if r.status != "draft"),
                    key=lambda r: (r.fiscal_year, r.id), reverse=True)
    plans = {row["round_id"]: row for row in figures.plans(db)}
    return render_template("verification/index.html", rounds=rounds, plans=plans)


@bp.get(ROUND + "/")
@roles_required(*VERIFIERS)
def plan(round_id: int):
    found = verification_or_404(round_id)
    db = get_db()
    sampled = {d.code for d in found.departments}
    addable = [unit for unit in department_store.list_units(db, fiscal_year=found.round.fiscal_year)
               if unit["code"] not in sampled]
    candidates = set(figures.candidate_codes(db, round_id))
    return render_template("verification/plan.html", found=found,
                           addable=[u for u in addable if u["code"] in candidates],
                           form=request.args)


def change_plan(round_id: int, change: Callable[[], object], done: Callable[[object], str]):
    """Run a change of the plan; back on the plan page with `done(result)` or, when the
    change is refused, its reason (an unknown round or 所属 is 404)."""
    round_or_404(round_id)
    try:
        result = change()
    except NotFound:
        abort(404)
    except Refusal as error:
        return refused(error, round_id)
    flash(done(result), "info")
    return back_to_plan(round_id)


@bp.post(ROUND + "/draw")
@roles_required(*VERIFIERS)
def draw(round_id: int):
    form = request.form
    return change_plan(round_id, lambda: sampling.draw_sample(
        get_db(), round_id, form.get("size", ""), form.get("seed"), current_user.id,
        anonymity_min()), lambda drawn: _(
            "%(n)d所属を抽出しました（新たに標本に加えた所属: %(added)d、シード: %(seed)s）。",
            n=len(drawn.picks), added=len(drawn.added), seed=drawn.seed))


@bp.post(ROUND + "/add")
@roles_required(*VERIFIERS)
def add(round_id: int):
    code = request.form.get("department", "")
    return change_plan(round_id, lambda: sampling.add_department(
        get_db(), round_id, code, request.form.get("note"), current_user.id),
        lambda _none: _("所属 %(code)s を標本に加えました。", code=code))


@bp.post(DEPARTMENT + "/remove")
@roles_required(*VERIFIERS)
def remove(round_id: int, code: str):
    return change_plan(round_id, lambda: sampling.remove_department(
        get_db(), round_id, code, request.form.get("note"), current_user.id),
        lambda _none: _("所属 %(code)s を標本から外しました。", code=code))


@bp.post(ROUND + "/fieldwork")
@roles_required(*VERIFIERS)
def start_fieldwork(round_id: int):
    return change_plan(round_id, lambda: service.start_fieldwork(
        get_db(), round_id, current_user.id),
        lambda _none: _("実地検証を開始しました。標本の所属は確定しました。"))


# --- fieldwork ------------------------------------------------------------------------------


@bp.get(DEPARTMENT + "/")
@roles_required(*EVERYONE)
def department(round_id: int, code: str):
    found, sampled = sampled_or_404(round_id, code)
    return render_fieldwork(found, sampled)


def render_fieldwork(found, sampled, typed: dict | None = None, errors: dict | None = None,
                     message: str | None = None, status: int = 200):
    """The page; after a refused verdict, `typed` keeps what was entered for it."""
    template = ("verification/department.html" if current_user.sees_everything
                else "verification/result.html")
    return render_template(template, found=found, sampled=sampled, typed=typed or {},
                           errors=errors or {}, message=message,
                           history=figures.verdict_history(
                               get_db(), found.round.id, sampled.code)), status


def typed_verdict() -> dict:
    form = request.form
    return {"question_id": form.get("question_id", ""),
            "system_code": form.get("system_code") or None,
            "verdict": form.get("verdict", ""),
            "verified_value": form.getlist("verified_value"),
            "note": form.get("note", ""), "proof_location": form.get("proof_location", ""),
            "version": form.get("version", "")}


@bp.post(DEPARTMENT + "/verdicts")
@roles_required(*VERIFIERS)
def record(round_id: int, code: str):
    found, sampled = sampled_or_404(round_id, code)
    typed = typed_verdict()
    line = sampled.line(typed["question_id"], typed["system_code"])
    if line is None:
        abort(404)
    try:
        given = service.VerdictInput(
            line.question.id, typed["verdict"],
            service.parse_found(line.question, typed["verified_value"]), typed["note"],
            typed["proof_location"], line.system_code)
        service.record_verdict(get_db(), round_id, code, given, current_user.id,
                               version_or_none(typed["version"]), anonymity_min())
    except question_types.InvalidAnswer as error:
        return render_fieldwork(found, sampled, typed,
                                {"verified_value": refusal_text(error)}, status=422)
    except Invalid as error:
        return render_fieldwork(found, sampled, typed, translated_errors(error.errors)
                                or {"verdict": refusal_text(error)},
                                status=refusal_status(error))
    except Refusal as error:
        return render_fieldwork(verification_or_404(round_id), sampled, typed,
                                message=refusal_text(error), status=refusal_status(error))
    flash(_("%(id)s の判定を記録しました。", id=line.question.id), "info")
    return redirect(url_for(".department", round_id=round_id, code=code,
                            _anchor=f"q-{line.question.id}"))


def version_or_none(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


@bp.post(DEPARTMENT + "/finalise")
@roles_required(*VERIFIERS)
def finalise(round_id: int, code: str):
    sampled_or_404(round_id, code)
    try:
        changes = service.finalise(get_db(), round_id, code, current_user.id, anonymity_min())
    except Refusal as error:
        flash(refusal_text(error), "error")
        return redirect(url_for(".department", round_id=round_id, code=code))
    flash(_("所属 %(code)s の検証を確定しました"
            "（改善計画: 新規 %(opened)d件、追記 %(extended)d件）。",
            code=code, opened=len(changes.opened), extended=len(changes.extended)), "info")
    return redirect(url_for(".department", round_id=round_id, code=code))


@bp.post(DEPARTMENT + "/reopen")
@roles_required("admin")
def reopen(round_id: int, code: str):
    sampled_or_404(round_id, code)
    try:
        service.reopen(get_db(), round_id, code, request.form.get("reason"), current_user.id)
    except Refusal as error:
        flash(refusal_text(error), "error")
    else:
        flash(_("所属 %(code)s の検証の確定を取り消しました。", code=code), "info")
    return redirect(url_for(".department", round_id=round_id, code=code))


# --- the workpaper ------------------------------------------------------------------------------


def pending() -> verification_workpaper.PendingWorkpapers:
    return verification_workpaper.PendingWorkpapers(
        Path(current_app.instance_path) / "uploads" / "workpapers")


def owner(round_id: int) -> dict:
    return {"user_id": current_user.id, "round_id": round_id}


@bp.get(ROUND + "/workpaper.xlsx")
@roles_required(*VERIFIERS)
def workpaper_file(round_id: int):
    round_ = round_or_404(round_id)
    db = get_db()
    try:
        data = verification_workpaper.build_workpaper(db, round_id, signing_key(),
                                                      anonymity_min(), select_locale(),
                                                      refusal_text)
    except Refusal as error:
        return refused(error, round_id)
    verification_workpaper.record_export(db, current_user.id, round_id)
    name, fallback = verification_workbook.file_names(round_.fiscal_year)
    response = Response(data, content_type=export_sheets.MIMETYPES["xlsx"])
    response.headers["Content-Disposition"] = content_disposition(name, fallback)
    return response


@bp.get(ROUND + "/workpaper")
@roles_required(*VERIFIERS)
def upload(round_id: int):
    return render_template("verification/upload.html", round=round_or_404(round_id),
                           error=None)


@bp.post(ROUND + "/workpaper")
@roles_required(*VERIFIERS)
def receive_upload(round_id: int):
    round_ = round_or_404(round_id)
    uploaded = request.files.get("file")
    data = uploaded.read(verification_workbook.MAX_UPLOAD_BYTES + 1) if uploaded else b""
    try:
        if not data:
            raise Invalid(N_("ファイルを選んでください。"))
        result = verification_workpaper.preview(get_db(), data, uploaded.filename or "",
                                                signing_key(), round_id, anonymity_min(),
                                                select_locale())
    except Refusal as error:
        return render_template("verification/upload.html", round=round_,
                               error=refusal_text(error)), 400
    pending().discard(session.get(PENDING_KEY))
    session[PENDING_KEY] = pending().save(owner(round_id), result)
    return render_template("verification/preview.html", round=round_, preview=result,
                           error=None)


@bp.post(ROUND + "/workpaper/apply")
@roles_required(*VERIFIERS)
def apply_upload(round_id: int):
    round_ = round_or_404(round_id)
    result = pending().load(session.get(PENDING_KEY), owner(round_id))
    if result is None:
        flash(_("確認中のファイルが見つかりません。もう一度取り込んでください。"), "error")
        return redirect(url_for(".upload", round_id=round_id))
    try:
        count = verification_workpaper.apply(get_db(), result, current_user.id,
                                             anonymity_min())
    except Invalid as error:
        return render_template("verification/preview.html", round=round_, preview=result,
                               error=refusal_text(error)), 400
    except Refusal as error:
        pending().discard(session.pop(PENDING_KEY, None))
        flash(refusal_text(error), "error")
        return redirect(url_for(".upload", round_id=round_id))
    pending().discard(session.pop(PENDING_KEY, None))
    flash(_("調書から%(n)d件の判定を記録しました。", n=count), "info")
    return back_to_plan(round_id)


# --- figures ------------------------------------------------------------------------------------


@bp.get(ROUND + "/results")
@roles_required(*VERIFIERS)
def results(round_id: int):
    found = verification_or_404(round_id)
    key = None
    if found.gaps:
        key = chart_cache().register(charts.ChartSpec("gaps", {
            "gaps": found.gaps, "title": _("自己点検の得点 − 検証後の得点（確定した所属）"),
            "axis_label": _("差（点）"), "count_label": _("所属数")}))
    return render_template("verification/results.html", found=found, chart_key=key)


@bp.get("/departments/<code>/")
@roles_required(*EVERYONE)
def history(code: str):
    unit = unit_or_404(code)
    points = verification_history.reliability_history(get_db(), code, anonymity_min())
    key = None
    if points:
        lang = select_locale()
        key = chart_cache().register(charts.ChartSpec("trend", {
            "x_labels": [fiscal_year_label(p.round.fiscal_year, lang) for p in points],
            "series": [[_("信頼度（%）"), [None if p.reliability is None
                                          else 100 * p.reliability for p in points]]],
            "title": _("信頼度の推移")}, scope=code))
    return render_template("verification/history.html", unit=unit, points=points,
                           chart_key=key)
