"""Follow-ups: the per-finding lists of a round, thresholds and improvement items
(改善計画). The 「前年度の改善状況」 block of the department form belongs to that form
(views/responses.py; services.responses saves it with the draft).

Admins see and change everything; auditors see everything and change nothing (every
POST here answers them 404); department users see only their own 所属's entries and
items, and keep their own items up to date. Business rules live in
`services.followups` (changes) and `readmodels.followup_lists` (reads); these views
read the request, call them and render.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from surveyapp.findings import ordered_findings
from surveyapp.readmodels import followup_lists, results_view, verification
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.aggregate import load_round
from surveyapp.refusals import Conflict, Invalid
from surveyapp.services import followups as service
from surveyapp.store import departments as department_store
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text, select_locale, translated_errors
from surveyapp.web.view_helpers import ITEM_STATUS_LABELS, anonymity_min, posted_version

bp = Blueprint("followups", __name__, url_prefix="/followups")

STATUS_BADGES = {"not_started": "badge-bad", "in_progress": "badge-warn", "done": "badge-ok"}
MARKER_LABELS = {"improved": _l("改善"), "flat": _l("横ばい"), "worsened": _l("悪化")}
MARKER_BADGES = {"improved": "badge-ok", "flat": "badge-none", "worsened": "badge-bad"}
RESULTS_ENDPOINT = "results.department"
FIELD_LABELS = {"department_code": _l("所属"), "finding": _l("指摘・意見"),
                "system_code": _l("情報システム"),
                "question_ids": _l("設問"), "owner": _l("担当者"), "due_on": _l("期限"),
                "status": _l("状況"), "notes": _l("メモ"),
                "progress_note": _l("前年度の改善状況（進捗）")}


@bp.context_processor
def labels() -> dict:
    return {"status_labels": ITEM_STATUS_LABELS, "status_badges": STATUS_BADGES,
            "marker_labels": MARKER_LABELS, "marker_badges": MARKER_BADGES,
            "field_labels": FIELD_LABELS, "move_points": followup_lists.MOVE_POINTS,
            "results_endpoint": results_endpoint()}


def results_endpoint() -> str | None:
    """A 所属's name links to its results page when that area is installed."""
    return RESULTS_ENDPOINT if RESULTS_ENDPOINT in current_app.view_functions else None


def settings() -> tuple[int, float]:
    return anonymity_min(), float(current_app.config["FOLLOWUP_THRESHOLD"])


def own_code() -> str | None:
    """The 所属 a department user is limited to; None for admins and auditors."""
    return None if current_user.sees_everything else current_user.department_code


def own_codes() -> tuple[str, ...] | None:
    """The 所属 whose items a department user keeps: its own and those it replaced in a
    reorganisation (their open items are its follow-ups now); None = every 所属."""
    code = own_code()
    return None if code is None else followup_lists.department_scope(get_db(), code)


def require_scope(code: str) -> None:
    """404 unless the user sees every 所属 or `code` is within its own scope."""
    scope = own_codes()
    if scope is not None and code not in scope:
        abort(404)


def may_change() -> bool:
    return current_user.role in ("admin", "department")


# --- follow-up lists ----------------------------------------------------------------------


def chosen_round(rounds: list[round_reads.Round]) -> round_reads.Round | None:
    """?round=<id>, else the newest round that has opened (as the results pages)."""
    wanted = request.args.get("round", "")
    if not wanted:
        return results_view.latest_round(rounds)
    found = next((r for r in rounds if str(r.id) == wanted), None)
    if found is None:
        abort(404)
    return found


def chosen_bureau(bureaus: list[dict]) -> str:
    """Only a known 部局 code filters; anything else shows every 所属."""
    bureau = request.args.get("bureau", "")
    return bureau if bureau in {row["code"] for row in bureaus} else ""


@bp.get("/")
@roles_required("admin", "auditor", "department")
def index():
    db = get_db()
    rounds = round_reads.list_rounds(db)
    current = chosen_round(rounds)
    bureaus = department_store.list_bureaus(db) if current_user.sees_everything else []
    bureau = chosen_bureau(bureaus)
    followups = None
    if current is not None:
        anonymity_min, default = settings()
        followups = followup_lists.round_followups(db, current.id, anonymity_min, default,
                                            own_codes())
    lists = followups.lists if followups else ()
    if bureau:
        lists = followup_lists.only_bureau(lists, bureau)
    return render_template("followups/index.html", rounds=rounds, round=current,
                           followups=followups, lists=lists, bureaus=bureaus, bureau=bureau,
                           may_change=may_change())


@bp.post("/rounds/<int:round_id>/plans")
@roles_required("admin", "department")
def create_from_entry(round_id: int):
    code = request.form.get("department", "")
    require_scope(code)
    finding = request.form.get("finding", "")
    anonymity_min, default = settings()
    try:
        item_id, created = service.create_from_entry(
            get_db(), round_id, code, finding, anonymity_min, default, current_user.id,
            request.form.get("system") or None)
    except Invalid as error:
        flash(" ".join(translated_errors(error.errors).values()), "error")
        return redirect(url_for(".index", round=round_id), code=303)
    if not created:
        flash(_("この所属のこの指摘・意見には、すでに改善計画があります。"), "info")
        return redirect(url_for(".item", item_id=item_id), code=303)
    flash(_("改善計画を作成しました。担当者と期限を入力してください。"), "success")
    return redirect(url_for(".edit_item", item_id=item_id), code=303)


# --- thresholds -----------------------------------------------------------------------------


def threshold_field(index: int) -> str:
    return f"threshold_{index}"


@bp.route("/thresholds", methods=["GET", "POST"])
@roles_required("admin")
def thresholds():
    db = get_db()
    _anonymity_min, default = settings()
    findings = followup_lists.known_findings(db)
    typed, errors, status = {}, {}, 200
    if request.method == "POST":
        typed = {finding: request.form.get(threshold_field(index), "")
                 for index, finding in enumerate(findings)}
        try:
            changed = service.set_thresholds(db, typed, default, current_user.id)
        except Invalid as error:
            errors, status = translated_errors(error.errors), refusal_status(error)
        else:
            flash(_("基準点を保存しました（変更 %(n)d件）。", n=len(changed)), "success")
            return redirect(url_for(".thresholds"), code=303)
    return render_template(
        "followups/thresholds.html", findings=findings, default=default,
        effective=followup_lists.thresholds(db, default, findings),
        stored=followup_lists.threshold_rows(db), typed=typed, errors=errors,
        field_name=threshold_field), status


# --- improvement items: list, detail ----------------------------------------------------------


def visible_item(item_id: int) -> followup_lists.Item:
    found = followup_lists.get_item(get_db(), item_id)
    require_scope(found.department_code)
    return found


def item_filters(rounds: list[round_reads.Round], findings: list[str],
                 bureaus: list[dict]) -> dict:
    """The list filters from the query string; unknown values filter nothing."""
    args = request.args
    round_ids = {str(r.id): r.id for r in rounds}
    return {"round_id": round_ids.get(args.get("round", "")),
            "finding": args.get("finding") if args.get("finding") in findings else None,
            "status": args.get("status") if args.get("status") in followup_lists.STATUSES else None,
            "bureau_code": chosen_bureau(bureaus) or None}


@bp.get("/items")
@roles_required("admin", "auditor", "department")
def items():
    db = get_db()
    rounds, findings = round_reads.list_rounds(db), followup_lists.known_findings(db)
    bureaus = department_store.list_bureaus(db) if current_user.sees_everything else []
    filters = item_filters(rounds, findings, bureaus)
    found = followup_lists.list_items(db, **filters, department_codes=own_codes())
    anonymity_min, default = settings()
    return render_template(
        "followups/items.html", items=found, filters=filters, rounds=rounds,
        findings=findings, bureaus=bureaus,
        movements=followup_lists.movements(db, found, anonymity_min),
        thresholds=followup_lists.thresholds(db, default, findings), may_change=may_change())


@bp.get("/items/<int:item_id>")
@roles_required("admin", "auditor", "department")
def item(item_id: int):
    db = get_db()
    found = visible_item(item_id)
    anonymity_min, default = settings()
    return render_template(
        "followups/item.html", item=found,
        movement=followup_lists.movements(db, [found], anonymity_min)[found.id],
        threshold=followup_lists.thresholds(db, default, [found.finding])[found.finding],
        history=followup_lists.item_history(db, item_id),
        reports=followup_lists.item_reports(db, item_id),
        discrepancies=verification.item_discrepancies(db, found, select_locale()),
        may_change=may_change())


# --- improvement items: create and edit ----------------------------------------------------------


def posted_input(finding: str) -> service.ItemInput:
    form = request.form
    return service.ItemInput(
        finding=finding, question_ids=tuple(form.getlist("question_ids")),
        owner=form.get("owner", ""), due_on=form.get("due_on", ""),
        status=form.get("status", ""), notes=form.get("notes", ""),
        system_code=form.get("system_code", ""))


def new_item_context(db, rounds: list[round_reads.Round]) -> dict:
    """Round, 所属 and finding chosen so far (from the query or the posted form)."""
    source = request.form if request.method == "POST" else request.args
    current = next((r for r in rounds if str(r.id) == source.get("round", "")), None)
    code = own_code() or source.get("department", "")
    questionnaire = load_round(db, current.id)[1] if current else None
    findings = ordered_findings(questionnaire.findings) if questionnaire else []
    finding = source.get("finding", "")
    finding = finding if finding in findings else ""
    units = (department_store.list_units(db, fiscal_year=current.fiscal_year)
             if current and current_user.sees_everything else [])
    systems = service.item_systems(db, current.id, code) if current and code else {}
    return {"rounds": rounds, "round": current, "code": code, "units": units,
            "findings": findings, "finding": finding, "may_edit_questions": True,
            "questions": finding_questions(questionnaire, finding), "systems": systems}


def finding_questions(questionnaire, finding: str) -> list:
    if questionnaire is None:
        return []
    return [q for q in questionnaire.questions if finding in q.findings]


def shown_values(item: followup_lists.Item | None) -> dict:
    """The form's values: what was posted (never lose typing), else the stored item."""
    if request.method == "POST" or item is None:
        form = request.form
        return {"question_ids": form.getlist("question_ids"), "owner": form.get("owner", ""),
                "due_on": form.get("due_on", ""), "notes": form.get("notes", ""),
                "status": form.get("status", "not_started"),
                "system_code": form.get("system_code", request.args.get("system", ""))}
    return {"question_ids": item.question_ids, "owner": item.owner, "due_on": item.due_on,
            "status": item.status, "notes": item.notes, "system_code": item.system_code or ""}


@bp.route("/items/new", methods=["GET", "POST"])
@roles_required("admin", "department")
def new_item():
    db = get_db()
    context = new_item_context(db, round_reads.list_rounds(db))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if context["round"] is None:
            abort(404)
        require_department(context["code"])
        try:
            item_id = service.create_item(db, context["round"].id, context["code"],
                                          posted_input(request.form.get("finding", "")),
                                          current_user.id)
        except Invalid as error:
            errors, status = translated_errors(error.errors), refusal_status(error)
        else:
            flash(_("改善計画を作成しました。"), "success")
            return redirect(url_for(".item", item_id=item_id), code=303)
    return render_template("followups/new.html", **context, errors=errors,
                           values=shown_values(None)), status


def editable_fields() -> tuple[str, ...]:
    return service.ADMIN_FIELDS if current_user.is_admin else service.DEPARTMENT_FIELDS


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required("admin", "department")
def edit_item(item_id: int):
    found = visible_item(item_id)
    return save_item(found) if request.method == "POST" else render_edit(found)


def save_item(found: followup_lists.Item):
    try:
        service.update_item(get_db(), found.id, posted_version(), posted_input(found.finding),
                            current_user.id, editable_fields())
    except Invalid as error:
        return render_edit(found, errors=translated_errors(error.errors),
                           status=refusal_status(error))
    except Conflict as error:
        flash(refusal_text(error), "error")
        # The stored item (and its version) goes back, so saving again is a decision.
        return render_edit(error.current, conflict=error.current,
                           status=refusal_status(error))
    flash(_("改善計画を保存しました。"), "success")
    return redirect(url_for(".item", item_id=found.id), code=303)


def render_edit(found: followup_lists.Item, errors: dict | None = None,
                conflict: followup_lists.Item | None = None, status: int = 200):
    questionnaire = load_round(get_db(), found.round_id)[1]
    systems = service.item_systems(get_db(), found.round_id, found.department_code)
    if found.system_code:
        systems[found.system_code] = found.system_name or ""
    return render_template(
        "followups/edit.html", item=found, errors=errors or {}, conflict=conflict,
        values=shown_values(found), questions=finding_questions(questionnaire, found.finding),
        may_edit_questions="question_ids" in editable_fields(), systems=systems), status
