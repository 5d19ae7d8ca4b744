"""The read-only JSON API under /api/v1 (DESIGN.md §6).

Callers are a logged-in session or `Authorization: Bearer <token>` (the token loader
lives in web/auth.py). Admins and auditors see everything; a department user sees only
its own 所属 (plus the prefecture summary), and another 所属's URL answers 404. Every
route is GET: the blueprint is exempt from CSRF because nothing here changes state
(a test checks that no other method is routed). Scores are full-precision numbers
0-100 or null; errors are `{"error": "..."}` with their status (a service's refusal
gets both from web/errors.py).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from surveyapp.model import Band, RollupScores, Scores
from surveyapp.readmodels import (
    aggregate,
    approval_states,
    compare,
    system_results,
    verification,
)
from surveyapp.readmodels import rounds as round_reads
from surveyapp.web.db import get_db
from surveyapp.web.extensions import csrf
from surveyapp.web.view_helpers import anonymity_min, round_id_arg

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def error(message: str, status: int):
    return jsonify(error=message), status


@bp.before_request
def require_login():
    if not current_user.is_authenticated:
        return error(_("認証が必要です。"), 401)
    return None



# --- routes --------------------------------------------------------------------------


@bp.get("/rounds")
def rounds():
    return jsonify([round_json(r) for r in round_reads.list_rounds(get_db())])


@bp.get("/rounds/<int:round_id>/scores")
def round_scores(round_id: int):
    scores = aggregate.round_scores(get_db(), round_id, anonymity_min())
    return jsonify(round_scores_json(scores, approval_states.round_statuses(get_db(),
                                                                            round_id)))


@bp.get("/rounds/<int:round_id>/systems")
def round_systems(round_id: int):
    """Each information system of the round with its scores (DESIGN.md §12); a
    department user's list holds its own 所属's systems only."""
    found = system_results.round_systems(get_db(), round_id)  # NotFound: 404
    return jsonify([system_json(system) for system in found.systems
                    if system.owner_code is not None and visible(system.owner_code)])


@bp.get("/compare")
def compare_rounds():
    from_id, to_id = round_id_arg("from"), round_id_arg("to")
    if from_id is None or to_id is None:
        return error(_("from と to に調査回の番号を指定してください。"), 400)
    result = compare.compare_rounds(get_db(), from_id, to_id, anonymity_min())
    return jsonify(comparison_json(result))


@bp.get("/departments/<code>/history")
def department_history(code: str):
    entries = None
    if current_user.may_see_department(code):
        entries = aggregate.department_history(get_db(), code, anonymity_min())
    if entries is None:
        return error(_("所属が見つかりません。"), 404)
    return jsonify([history_json(entry) for entry in entries])


@bp.get("/rounds/<int:round_id>/verification")
def round_verification(round_id: int):
    """DESIGN.md §9: a department user sees its own 所属 only, once finalised."""
    found = verification.round_verification(get_db(), round_id, anonymity_min())
    return jsonify(verification_json(found))


# --- JSON shapes -----------------------------------------------------------------------


def visible(code: str) -> bool:
    return current_user.may_see_department(code)


def band_id(band: Band | None) -> str | None:
    return band.id if band else None


def round_json(round_: round_reads.Round) -> dict:
    return {"id": round_.id, "fiscal_year": round_.fiscal_year,
            "questionnaire_id": round_.questionnaire_id, "version": round_.version,
            "status": round_.status, "opens_on": round_.opens_on,
            "closes_on": round_.closes_on}


def scores_json(scores: Scores) -> dict:
    return {"overall": scores.overall, "band": band_id(scores.band),
            "sections": dict(scores.sections), "findings": dict(scores.findings)}


def rollup_json(rolled: RollupScores, band: Band | None) -> dict:
    return {"overall": rolled.overall, "band": band_id(band),
            "sections": dict(rolled.sections), "findings": dict(rolled.findings),
            "n_departments": rolled.n_overall, "n_sections": dict(rolled.n_sections),
            "n_findings": dict(rolled.n_findings)}


def department_json(result: aggregate.DepartmentResult, state: dict | None) -> dict:
    """`state`: the 所属's entry of approval_states.round_statuses (None: no response)."""
    state = state or {"status": "not_started", "approved_at": None}
    return {"code": result.code, "name": result.name, "parent_code": result.parent_code,
            "submitted": result.submitted, "staff_responses": result.staff_responses,
            "headcount": result.headcount, "response_rate": result.response_rate,
            "staff_hidden": result.staff_hidden, "systems": result.systems,
            **scores_json(result.scores),
            "status": state["status"], "approved_at": state["approved_at"]}


def system_json(system: system_results.SystemResult) -> dict:
    row = system.row
    return {"code": system.code, "name": system.name, "owner_code": system.owner_code,
            "owner_name": system.owner_name, "hosting": row["hosting"], "ismap": row["ismap"],
            "ismap_expires": row["ismap_expires"], "criticality": row["criticality"],
            "answered": system.answered, "submitted": system.submitted,
            **scores_json(system.scores)}


def bureau_json(bureau: aggregate.BureauResult) -> dict:
    return {"code": bureau.code, "name": bureau.name, "n_members": bureau.n_members,
            **rollup_json(bureau.scores, bureau.band)}


def round_scores_json(scores: aggregate.RoundScores, states: dict[str, dict]) -> dict:
    everything = current_user.sees_everything
    return {
        "round": round_json(scores.round),
        "anonymity_min": scores.anonymity_min,
        "prefecture": {**rollup_json(scores.prefecture, scores.prefecture_band),
                       "n_members": len(scores.departments)},
        "bureaus": [bureau_json(b) for b in scores.bureaus] if everything else [],
        "departments": [department_json(d, states.get(d.code)) for d in scores.departments
                        if visible(d.code)],
    }


def change_json(change: compare.Change) -> dict:
    return {"from": change.before, "to": change.after, "delta": change.delta}


def changes_json(changes: compare.FigureChanges) -> dict:
    return {
        "overall": {**change_json(changes.overall), "common": change_json(changes.overall_common)},
        "sections": {
            section_id: {**change_json(section.change), "comparable": section.comparable,
                         "common": change_json(section.common)}
            for section_id, section in changes.sections.items()
        },
    }


def comparison_json(result: compare.Comparison) -> dict:
    return {
        "from": result.before.round.id,
        "to": result.after.round.id,
        "from_round": round_json(result.before.round),
        "to_round": round_json(result.after.round),
        "prefecture": changes_json(result.prefecture),
        "departments": [
            {"code": d.code, "name": d.name, "from_codes": list(d.from_codes),
             **changes_json(d.changes)}
            for d in result.departments if visible(d.code)
        ],
        "questions": [
            {"to_id": m.to_id, "from_ids": list(m.from_ids), "relation": m.relation,
             "comparable": m.comparable}
            for m in result.questions
        ],
    }


def history_json(entry: aggregate.HistoryEntry) -> dict:
    return {"round_id": entry.round.id, "fiscal_year": entry.round.fiscal_year,
            "questionnaire_id": entry.round.questionnaire_id,
            "version": entry.round.version, "codes": list(entry.codes),
            "overall": entry.scores.overall, "band": band_id(entry.scores.band),
            "sections": dict(entry.scores.sections),
            "findings": dict(entry.scores.findings)}


def verification_json(found: verification.RoundVerification) -> dict:
    """The round's sampled 所属 that the user may see (finalised ones for a department
    user) and the prefecture figures, which count finalised 所属 only."""
    shown = [d for d in found.departments
             if current_user.sees_everything or (visible(d.code) and d.finalised)]
    counts = found.counts
    return {
        "round": round_json(found.round),
        "prefecture": {"sampled": len(found.departments), "reliability": counts.reliability,
                       "finalised": len(found.finalised), "confirmed": counts.confirmed,
                       "discrepancies": counts.discrepancies,
                       "unverifiable": counts.unverifiable},
        "departments": [sampled_json(d) for d in shown],
    }


def sampled_json(department: verification.SampledDepartment) -> dict:
    return {"code": department.code, "name": department.name, "reason": department.reason,
            "confirmed": department.counts.confirmed,
            "discrepancies": department.counts.discrepancies,
            "unverifiable": department.counts.unverifiable,
            "reliability": department.reliability, "self_score": department.self_score,
            "verified_score": department.verified_score, "finalised": department.finalised}
