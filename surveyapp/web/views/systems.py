"""The information-system register's pages (情報システム台帳, DESIGN.md §12).

Admins and auditors read the whole register (filters, warnings, one system's page);
admins import the systems CSV (the flow of every register kept as CSV,
web/csv_uploads.py), edit or add a system, and accept or reject the corrections 所属
propose. A department user sees the systems its 所属 owns this fiscal year and
proposes corrections to them; another 所属's system or proposal answers 404.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp import clock
from surveyapp.readmodels import register, results_view, system_results
from surveyapp.refusals import Conflict, Invalid, NotFound, Refusal
from surveyapp.services import accounts, self_check, systems
from surveyapp.store import departments as department_store
from surveyapp.store import systems as system_store
from surveyapp.web import csv_uploads, forms
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.i18n import refusal_text, select_locale, translated_errors
from surveyapp.web.system_blocks import register_labels
from surveyapp.web.view_helpers import posted_version

bp = Blueprint("systems", __name__, url_prefix="/systems")
MAX_ID = 2**63 - 1
PROPOSAL_URL = f"/proposals/<int(max={MAX_ID}):proposal_id>"

IMPORT = csv_uploads.ImportArea(
    key="systems", fmt=systems.FORMAT, blueprint="systems",
    form_template="systems/import.html",
    changed_message=lambda: _("確認の後に情報システム台帳が変わりました。"
                              "最新の内容を確認してください。"),
    imported_message=lambda plan: _(
        "情報システムを取り込みました（追加 %(added)d 件、変更 %(changed)d 件）。",
        added=len(plan.added), changed=len(plan.changed)),
    titles=lambda: {"added": _("追加するシステム"), "changed": _("変更するシステム")})


def today() -> date:
    return clock.today()


def this_year() -> int:
    return accounts.fiscal_year_of(today())


def chosen_year() -> int:
    year = request.args.get("year", type=int)
    return year if year is not None and 1900 <= year <= 2999 else this_year()


def visible_system(code: str) -> register.RegisteredSystem:
    """The system as this year's register shows it; 404 for a department user unless
    its 所属 owns it this year."""
    found = register.system_view(get_db(), code, this_year(), today())
    if found is None:
        abort(404)
    if current_user.role == "department" and found.owner_code != current_user.department_code:
        abort(404)
    return found


# --- the register ------------------------------------------------------------------------


@bp.get("/")
@roles_required("admin", "auditor", "department")
def index():
    if current_user.role == "department":
        return own_systems()
    year = chosen_year()
    everything = register.register(get_db(), year, today())
    filters = read_filters()
    return render_template(
        "systems/index.html", systems=register.filtered(everything, filters),
        filters=filters, year=year, counts=register.warning_counts(everything),
        total=sum(1 for system in everything if system.in_use),
        bureaus=department_store.list_bureaus(get_db()), labels=register_labels(),
        pending=system_store.pending_proposal_count(get_db()))


def read_filters() -> register.Filters:
    args = request.args
    return register.Filters(
        query=args.get("q", "")[:100], bureau=args.get("bureau", "")[:40],
        owner=args.get("owner", "")[:40], hosting=args.get("hosting", "")[:20],
        criticality=args.get("criticality", "")[:20], ismap=args.get("ismap", "")[:20],
        warning=args.get("warning", "")[:40], retired=args.get("retired") == "1")


def own_systems():
    code, year = current_user.department_code, this_year()
    return render_template(
        "systems/own.html", systems=register.owned_register(get_db(), code, year, today()),
        year=year, labels=register_labels(),
        department=department_store.get_department(get_db(), code),
        proposals=system_store.list_proposals(get_db(), department_code=code))


@bp.get("/<code>")
@roles_required("admin", "auditor", "department")
def detail(code: str):
    system = visible_system(code)
    scope = current_user.department_code if current_user.role == "department" else None
    return render_template(
        "systems/detail.html", system=system, labels=register_labels(), year=this_year(),
        proposals=system_store.list_proposals(get_db(), department_code=scope,
                                              system_code=code))


# --- results per system ---------------------------------------------------------------------


def visible_results(found: system_results.RoundSystems) -> list[system_results.SystemResult]:
    """A department user sees its own 所属's systems only."""
    if current_user.role != "department":
        return list(found.systems)
    return [system for system in found.systems
            if system.owner_code == current_user.department_code]


def system_rounds() -> list:
    return system_results.rounds_asking_systems(get_db())


@bp.get("/results")
@roles_required("admin", "auditor", "department")
def results_index():
    rounds = system_rounds()
    if not rounds:
        return render_template("systems/no_results.html")
    chosen = request.args.get("round", type=int)
    listed = next((round_ for round_ in rounds if round_.id == chosen), rounds[0])
    return redirect(url_for(".round_results", round_id=listed.id))


@bp.get(f"/rounds/<int(max={MAX_ID}):round_id>/")
@roles_required("admin", "auditor", "department")
def round_results(round_id: int):
    found = system_results.round_systems(get_db(), round_id, today())
    shown = visible_results(found)
    filters = system_results.Filters(
        hosting=request.args.get("hosting", "")[:20],
        criticality=request.args.get("criticality", "")[:20],
        ismap=request.args.get("ismap", "")[:20], band=request.args.get("band", "")[:10],
        bureau=request.args.get("bureau", "")[:40])
    sort = request.args.get("sort", "code")
    rows = system_results.sorted_systems(system_results.filtered(shown, filters), sort)
    return render_template(
        "systems/results.html", found=found, rows=rows, filters=filters, sort=sort,
        bands=results_view.band_counts(found.questionnaire, shown),
        sections=found.questionnaire.sections_for(self_check.SYSTEM),
        means=system_results.section_means(found.systems, found.questionnaire),
        rounds=system_rounds(), bureaus=department_store.list_bureaus(get_db()),
        labels=register_labels())


@bp.get(f"/rounds/<int(max={MAX_ID}):round_id>/<code>")
@roles_required("admin", "auditor", "department")
def scorecard(round_id: int, code: str):
    found = system_results.round_systems(get_db(), round_id, today())
    system = found.system(code)
    if system is None or system not in visible_results(found):
        abort(404)
    view = register.system_view(get_db(), code, found.round.fiscal_year, today())
    blocks = self_check.blocks(get_db(), round_id, found.round.fiscal_year,
                               system.owner_code or "", found.questionnaire)
    block = next((b for b in blocks if b.code == code), None)
    return render_template(
        "systems/scorecard.html", found=found, system=system, view=view,
        answers=block_answers(found.questionnaire, block),
        sections=found.questionnaire.sections_for(self_check.SYSTEM),
        means=system_results.section_means(found.systems, found.questionnaire),
        findings=system_results.system_findings(found.questionnaire),
        labels=register_labels())


def block_answers(questionnaire, block: self_check.Block | None) -> list[dict]:
    """The block's answers as shown, by section (empty without answers)."""
    if block is None or not block.answers:
        return []
    lang = select_locale()
    return [{"section": section, "question": question,
             "answer": forms.answer_text(question, block.answers.get(question.id), lang),
             "evidence": block.evidence.get(question.id)}
            for section in questionnaire.sections_for(self_check.SYSTEM)
            for question in section.questions]


# --- admin edits ------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    values, errors = dict(request.form), {}
    if request.method == "POST":
        try:
            code = systems.create_system(get_db(), request.form, current_user.id)
        except Invalid as refusal:
            errors = refused_fields(refusal)
        else:
            flash(_("情報システム %(code)s を登録しました。", code=code), "success")
            return redirect(url_for(".detail", code=code))
    return render_template("systems/edit.html", system=None, values=values, errors=errors,
                           owners=accounts.department_choices(get_db()),
                           labels=register_labels()), 422 if errors else 200


@bp.route("/<code>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(code: str):
    stored = system_store.get_system(get_db(), code)
    if stored is None:
        abort(404)
    values, errors, conflict, status = form_values(stored), {}, None, 200
    if request.method == "POST":
        values = dict(request.form)
        try:
            systems.edit_system(get_db(), code, request.form, posted_version(),
                                current_user.id)
        except Invalid as refusal:
            errors, status = refused_fields(refusal), 422
        except Conflict as refusal:
            flash(refusal_text(refusal), "error")
            conflict, stored, status = refusal.current, refusal.current, 409
        else:
            flash(_("登録内容を保存しました。"), "success")
            return redirect(url_for(".detail", code=code))
    return render_template("systems/edit.html", system=stored, values=values, errors=errors,
                           conflict=conflict, owners=accounts.department_choices(get_db()),
                           labels=register_labels()), status


def form_values(row: dict) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in row.items()}


def refused_fields(refusal: Invalid) -> dict[str, str]:
    """Field -> message; a refusal that names no field is shown as a flash."""
    if not refusal.errors:
        flash(refusal_text(refusal), "error")
    return translated_errors(refusal.errors)


# --- the CSV import -----------------------------------------------------------------------------


csv_uploads.add_import_pages(bp, IMPORT)


# --- proposals -----------------------------------------------------------------------------------


@bp.route("/<code>/propose", methods=["GET", "POST"])
@roles_required("department")
def propose(code: str):
    system = visible_system(code)
    kind = request.values.get("kind", "change")
    if kind not in ("change", "retire"):
        abort(404)
    return proposal_form(kind, system, form_values(system.row))


@bp.route("/propose-new", methods=["GET", "POST"])
@roles_required("department")
def propose_new():
    return proposal_form("add", None, {"owner_code": current_user.department_code})


def proposal_form(kind: str, system: register.RegisteredSystem | None, initial: dict):
    values, errors = initial, {}
    if request.method == "POST":
        values = dict(request.form)
        try:
            systems.propose(get_db(), current_user.department_code, kind,
                            system.code if system else None, request.form,
                            request.form.get("note", ""), current_user.id, this_year())
        except Invalid as refusal:
            errors = refused_fields(refusal)
        except Conflict as refusal:
            flash(refusal_text(refusal), "error")
        else:
            flash(_("申出を送りました。情報企画課が確認して台帳に反映します。"), "success")
            return redirect(url_for(".index"))
    status = 422 if errors else (409 if request.method == "POST" else 200)
    return render_template("systems/propose.html", kind=kind, system=system, values=values,
                           errors=errors, owners=accounts.department_choices(get_db()),
                           labels=register_labels()), status


@bp.get("/proposals")
@roles_required("admin", "auditor", "department")
def proposals():
    status = request.args.get("status", "")
    scope = current_user.department_code if current_user.role == "department" else None
    found = system_store.list_proposals(
        get_db(), status if status in systems.PROPOSAL_STATUSES else None,
        department_code=scope)
    statuses = [(value, _(label)) for value, label in systems.PROPOSAL_STATUSES.items()]
    return render_template("systems/proposals.html", proposals=found, status=status,
                           statuses=statuses, labels=register_labels())


def visible_proposal(proposal_id: int) -> dict:
    proposal = system_store.get_proposal(get_db(), proposal_id)
    if proposal is None:
        abort(404)
    if (current_user.role == "department"
            and proposal["department_code"] != current_user.department_code):
        abort(404)
    return proposal


@bp.get(PROPOSAL_URL)
@roles_required("admin", "auditor", "department")
def proposal(proposal_id: int):
    return show_proposal(visible_proposal(proposal_id))


def show_proposal(found: dict, errors: dict | None = None, status: int = 200):
    current = (system_store.get_system(get_db(), found["system_code"])
               if found["system_code"] else None)
    drifted = [name for name, value in found["registered"].items()
               if current is not None and current[name] != value]
    return render_template("systems/proposal.html", proposal=found, current=current,
                           drifted=drifted, errors=errors or {}, labels=register_labels(),
                           values=dict(request.form)), status


@bp.post(PROPOSAL_URL + "/accept")
@roles_required("admin")
def accept(proposal_id: int):
    found = visible_proposal(proposal_id)
    try:
        code = systems.accept_proposal(get_db(), proposal_id, current_user.id,
                                       request.form.get("note", ""),
                                       request.form.get("code"))
    except Invalid as refusal:
        return show_proposal(found, refused_fields(refusal), 422)
    except Refusal as refusal:
        flash(refusal_text(refusal), "error")
        return show_proposal(visible_proposal(proposal_id), status=409)
    flash(_("申出を反映しました（%(code)s）。", code=code), "success")
    return redirect(url_for(".proposal", proposal_id=proposal_id))


@bp.post(PROPOSAL_URL + "/reject")
@roles_required("admin")
def reject(proposal_id: int):
    found = visible_proposal(proposal_id)
    try:
        systems.reject_proposal(get_db(), proposal_id, current_user.id,
                                request.form.get("reason", ""))
    except Invalid as refusal:
        return show_proposal(found, refused_fields(refusal), 422)
    except Refusal as refusal:
        flash(refusal_text(refusal), "error")
        return show_proposal(visible_proposal(proposal_id), status=409)
    flash(_("申出を見送りました。"), "success")
    return redirect(url_for(".proposal", proposal_id=proposal_id))


@bp.post(PROPOSAL_URL + "/withdraw")
@roles_required("department")
def withdraw(proposal_id: int):
    visible_proposal(proposal_id)
    try:
        systems.withdraw_proposal(get_db(), proposal_id, current_user.department_code,
                                  current_user.id)
    except NotFound:
        abort(404)
    except Refusal as refusal:
        flash(refusal_text(refusal), "error")
        return redirect(url_for(".proposal", proposal_id=proposal_id))
    flash(_("申出を取り下げました。"), "success")
    return redirect(url_for(".index"))
