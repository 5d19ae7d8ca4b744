"""Results pages: a round's table, its questions, one 所属, and year-over-year.

Each page computes the round's scores once through `readmodels.aggregate` (or
`readmodels.compare`, which does it for both rounds) and hands them to
`readmodels.results_view` for sorting, filtering and counting; nothing here touches the
database per 所属. Admins and auditors see every 所属; a department user sees its own
所属's page and comparison rows only, and every other 所属 or admin-only page is 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from surveyapp.readmodels import (
    aggregate,
    carry_over_figures,
    compare,
    comparison_view,
    department_view,
    question_view,
    results_view,
    verification,
    verification_history,
)
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Invalid
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import select_locale
from surveyapp.web.view_helpers import RELATIONS, anonymity_min, round_id_arg

bp = Blueprint("results", __name__, url_prefix="/results")

EVERYONE = ("admin", "auditor", "department")

# The results table's verification filter (readmodels.verification.FILTERS), as offered.
VERIFICATION_FILTERS = {"sampled": _l("監査検証の標本"), "finalised": _l("監査検証を確定した所属"),
                        "discrepancy": _l("監査検証で相違があった所属")}


@bp.context_processor
def relation_marks() -> dict:
    return {"relations": RELATIONS}


def round_scores(round_id: int) -> aggregate.RoundScores:
    return aggregate.round_scores(get_db(), round_id, anonymity_min())


def band_options(questionnaire) -> list[tuple[str, str]]:
    """(value, label) of the band filter: each band, best first, then "no score"."""
    lang = select_locale()
    return [*((band.id, f"{band.id} {band.label.get(lang)}")
              for band in sorted(questionnaire.bands, key=lambda b: -b.min)),
            (results_view.NO_BAND, _("得点なし"))]


def bureau_arg(bureaus) -> str | None:
    """Only a known 部局 code filters; anything else shows every 所属."""
    chosen = request.args.get("bureau", "")
    return chosen if chosen in {bureau.code for bureau in bureaus} else None


# --- landing --------------------------------------------------------------------------


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    """Admins and auditors land on the latest round, department users on their 所属."""
    if current_user.role == "department":
        if current_user.department_code is None:
            abort(404)
        return redirect(url_for(".department", code=current_user.department_code))
    latest = results_view.latest_round(round_reads.list_rounds(get_db()))
    if latest is None:
        return render_template("results/no_rounds.html")
    return redirect(url_for(".round_results", round_id=latest.id))


# --- one round --------------------------------------------------------------------------


@bp.get("/rounds/<int:round_id>/")
@roles_required("admin", "auditor")
def round_results(round_id: int):
    scores = round_scores(round_id)
    bureau = bureau_arg(scores.bureaus)
    verified = verification.round_verification(get_db(), round_id, anonymity_min())
    wanted = request.args.get("verification", "")
    table = results_view.results_table(
        scores, bureau, request.args.get("sort"), request.args.get("dir") == "desc",
        request.args.get("view", ""), _("全庁"), band=request.args.get("band"),
        status=request.args.get("status"), page=request.args.get("page", 1, type=int),
        page_size=results_view.PAGE_SIZE, with_unsubmitted=with_unsubmitted(),
        codes=verification.filtered_codes(verified, wanted))
    return render_template(
        "results/round.html", scores=scores, table=table, bureau=bureau or "",
        band_options=band_options(scores.questionnaire), page_size=results_view.PAGE_SIZE,
        statuses={"submitted": _("提出済み"), "not_submitted": _("未提出")},
        with_unsubmitted=with_unsubmitted(),
        bureau_names={b.code: b.name for b in scores.bureaus},
        rounds=round_reads.list_rounds(get_db()), verified=verified,
        verification_filter=wanted if wanted in verification.FILTERS else "",
        verification_filters=VERIFICATION_FILTERS)


def with_unsubmitted() -> bool:
    """`?unsubmitted=1`: count 所属 that have not submitted in the band distribution."""
    return request.args.get("unsubmitted") == "1"


@bp.get("/rounds/<int:round_id>/questions")
@roles_required("admin", "auditor")
def questions(round_id: int):
    scores = round_scores(round_id)
    code = request.args.get("department", "")
    unit = scores.department(code)
    summaries = question_view.question_summaries(get_db(), scores, unit.code if unit else None)
    return render_template(
        "results/questions.html", scores=scores, unit=unit, summaries=summaries,
        missed=question_view.most_missed(summaries) if unit is None else [],
        staff_hidden=bool(unit and unit.staff_hidden),
        rounds=round_reads.list_rounds(get_db()))


@bp.get("/rounds/<int:round_id>/carry-over")
@roles_required("admin", "auditor")
def carry_over(round_id: int):
    """Per 所属: answers re-confirmed as last year's versus changed (DESIGN.md §13)."""
    figures = carry_over_figures.round_carry_over(get_db(), round_id)
    return render_template("results/carry_over.html", figures=figures,
                           nav_round=figures.round, rounds=round_reads.list_rounds(get_db()))


# --- one 所属 --------------------------------------------------------------------------


@bp.get("/departments/<code>/")
@roles_required(*EVERYONE)
def department(code: str):
    require_department(code)
    page = department_view.department_page(get_db(), code, round_id_arg("round"),
                                        anonymity_min(), current_user.sees_everything)
    if page is None:
        abort(404)
    section_ids, history = department_view.history_rows(page)
    carry = (carry_over_figures.round_carry_over(get_db(), page.entry.round.id, code)
             if page.entry else None)
    return render_template("results/department.html", page=page, section_ids=section_ids,
                           history=history, carry=carry and carry.department(code),
                           carry_previous=carry and carry.previous,
                           checked=finalised_verification(page, code),
                           reliability=verification_history.reliability_history(
                               get_db(), code, anonymity_min()))


def finalised_verification(page: department_view.DepartmentPage,
                           code: str) -> verification.SampledDepartment | None:
    """The 所属's audit verification of the shown round, once finalised (§9)."""
    if page.scores is None:
        return None
    return verification.finalised_result(get_db(), page.scores.round.id, code, anonymity_min())


# --- year-over-year -------------------------------------------------------------------


@bp.get("/compare")
@roles_required(*EVERYONE)
def comparison():
    rounds = round_reads.list_rounds(get_db())
    chosen = round_id_arg("from"), round_id_arg("to")
    pair = chosen if None not in chosen else results_view.default_pair(rounds)
    if pair is None:
        return render_template("results/compare.html", rounds=rounds, result=None, pair=None)
    try:
        result = compare.compare_rounds(get_db(), pair[0], pair[1], anonymity_min())
    except Invalid as refused:  # two different questionnaires
        return render_template(
            "results/compare.html", rounds=rounds, result=None, pair=pair,
            problem=_("異なる調査票の調査回は比較できません。同じ調査票の調査回を2つ選んでください。"),
        ), refusal_status(refused)
    return render_comparison(rounds, pair, result)


def render_comparison(rounds, pair: tuple[int, int], result: compare.Comparison):
    bureaus = result.after.bureaus if current_user.sees_everything else ()
    bureau = bureau_arg(bureaus)
    return render_template(
        "results/compare.html", rounds=rounds, pair=pair, result=result,
        bureaus=bureaus, bureau=bureau or "",
        rows=comparison_view.comparison_rows(result, comparison_view.compared_departments(
            result, current_user.may_see_department, bureau), _("全庁")),
        sections=comparison_view.compared_sections(result),
        changes=comparison_view.section_changes(result),
        retired=comparison_view.retired_questions(result))
