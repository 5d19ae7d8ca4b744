"""Scorecards: one page (and PDF) per 所属 and round, the prefecture overview charts,
and the content-addressed chart files they show.

Department users see their own 所属's cards only; any other 所属's card, PDF or chart
answers 404. Charts are named by the hash of their data (`charts.ChartCache`): a page
registers the charts it shows and links to `/scorecards/charts/<hash>`, which is
served from `instance/cache/charts/` with that hash as ETag, so an unchanged chart is
never drawn again. Like every page it is sent `no-store` (a chart shows a 所属's
scores), so a browser asks for it again; the file is read, not drawn.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from surveyapp import charts
from surveyapp.readmodels import prefecture_overview, scorecard_files, scorecards
from surveyapp.readmodels import rounds as round_reads
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.i18n import refusal_text, select_locale
from surveyapp.web.view_helpers import ITEM_STATUS_LABELS, anonymity_min, chart_cache

bp = Blueprint("scorecards", __name__, url_prefix="/scorecards")

EVERYONE = ("admin", "auditor", "department")


@bp.context_processor
def labels() -> dict:
    return {"item_status_labels": ITEM_STATUS_LABELS}


def may_see_scope(scope: str) -> bool:
    """A chart of one 所属 follows that 所属's rule; prefecture-wide ones need a
    role that sees everything."""
    return current_user.may_see_department(scope) if scope else current_user.sees_everything


def started_rounds() -> list[round_reads.Round]:
    rounds = [r for r in round_reads.list_rounds(get_db()) if r.status != "draft"]
    return sorted(rounds, key=lambda r: (r.fiscal_year, r.id), reverse=True)


# --- pages ------------------------------------------------------------------------------


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    return render_template("scorecards/index.html", rounds=started_rounds())


@bp.get("/rounds/<int:round_id>/")
@roles_required(*EVERYONE)
def round_cards(round_id: int):
    if not current_user.sees_everything:
        require_department(current_user.department_code)
        return redirect(url_for(".card", round_id=round_id,
                                code=current_user.department_code))
    context = round_context(round_id)
    return render_template("scorecards/round.html", scores=context.scores)


@bp.get("/rounds/<int:round_id>/departments/<code>/")
@roles_required(*EVERYONE)
def card(round_id: int, code: str):
    require_department(code)
    found = scorecard(round_id, code)
    radar = chart_cache().register(scorecards.radar_spec(found, select_locale(),
                                                          refusal_text))
    return render_template("scorecards/card.html", card=found, radar_key=radar,
                           anonymity_min=anonymity_min())


@bp.get("/rounds/<int:round_id>/departments/<code>/pdf")
@roles_required(*EVERYONE)
def card_pdf(round_id: int, code: str):
    require_department(code)
    found = scorecard(round_id, code)
    cache = chart_cache()
    cached = cache.fetch(cache.register(scorecards.pdf_spec(found, anonymity_min())))
    stem = scorecard_files.safe_stem(found.code, found.department.name)
    name = f"{stem}_FY{found.round.fiscal_year}.pdf"
    # Bytes, not the path: no file handle is left for the server to close.
    return send_file(io.BytesIO(cached.path.read_bytes()), mimetype=cached.media_type,
                     as_attachment=True, download_name=name, etag=cached.key)


@bp.get("/rounds/<int:round_id>/overview")
@roles_required("admin", "auditor")
def overview(round_id: int):
    found = prefecture_overview.overview(get_db(), round_id, anonymity_min(),
                                         select_locale(), refusal_text)
    cache = chart_cache()
    keys = {name: cache.register(getattr(found, name))
            for name in ("heatmap", "bands", "trend")}
    return render_template("scorecards/overview.html", overview=found, keys=keys)


@bp.get("/charts/<key>")
@roles_required(*EVERYONE)
def chart(key: str):
    cache = chart_cache()
    found = cache.lookup(key)
    if found is None or not may_see_scope(found.scope):
        abort(404)
    if key in request.if_none_match:
        response = Response(status=304)
    else:
        response = chart_response(cache.drawn(found))
    response.set_etag(key)
    return response


# --- helpers ----------------------------------------------------------------------------


def chart_response(cached: charts.CachedChart) -> Response:
    return Response(cached.path.read_bytes(), mimetype=cached.media_type)


def round_context(round_id: int) -> scorecards.RoundContext:
    return scorecards.round_context(get_db(), round_id, anonymity_min())


def scorecard(round_id: int, code: str) -> scorecards.Scorecard:
    return scorecards.build_scorecard(get_db(), round_id, code, anonymity_min())
