"""The start page, the help page and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from surveyapp.readmodels import approval_states, definitions, followup_lists, home
from surveyapp.readmodels import deadlines as deadline_reads
from surveyapp.readmodels import rounds as round_reads
from surveyapp.store import users as user_store
from surveyapp.web.db import get_db
from surveyapp.web.i18n import LANGUAGES, select_locale
from surveyapp.web.view_helpers import anonymity_min

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Task first: a 所属's open rounds and what is left to answer; for 情報企画課 and
    auditors the open rounds' progress; for a 所属's approver (所属長 or 代理) also the
    submissions waiting for their decision; for a visitor what the tool is."""
    if not current_user.is_authenticated:
        return render_template("index.html")
    if current_user.role == "department" and current_user.department_code:
        found = home.department_home(get_db(), current_user.department_code,
                                     deadline_reads.local_today(),
                                     anonymity_min())
        return render_template("home/department.html", home=found, waiting=waiting_for_me())
    return render_template("home/central.html", rounds=central_rounds())


def central_rounds() -> list[tuple[round_reads.Round, round_reads.ProgressTotals]]:
    """The open rounds with their totals (submitted 所属, staff answers)."""
    db = get_db()
    return [(found, round_reads.progress_totals(round_reads.progress(db, found.id)))
            for found in round_reads.list_rounds(db) if found.status == "open"]


def waiting_for_me() -> list[dict]:
    """For an approver (所属長 or 代理): the submissions that wait for their decision."""
    if not (current_user.is_authenticated and current_user.approver):
        return []
    me = user_store.get_user(get_db(), current_user.id)
    return approval_states.waiting_for(get_db(), me,
                                       bool(current_app.config["ALLOW_SELF_APPROVAL"]))


@bp.get("/help")
def help_page():
    """Open to everyone, staff without an account included."""
    title, bands = newest_bands()
    return render_template(
        "help.html", bands=bands, bands_title=title,
        anonymity_minimum=current_app.config["ANONYMITY_MIN_RESPONSES"],
        autosave_seconds=current_app.config["AUTOSAVE_SECONDS"],
        audit_items=followup_lists.MEASURED_FINDINGS)  # titles from the catalogue


def newest_bands() -> tuple[str, tuple]:
    """The bands of the newest published questionnaire version (each version defines
    its own), with that version's title; ("", ()) before anything is published."""
    versions = definitions.list_versions(get_db())
    if not versions:
        return "", ()
    newest = max(versions, key=lambda row: (row["fiscal_year"], row["published_at"]))
    definition = definitions.get_definition(
        get_db(), newest["questionnaire_id"], newest["version"])
    return definition.title.get(select_locale()), definition.bands


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "ja")
    session["lang"] = lang if lang in LANGUAGES else "ja"
    response = redirect(request.referrer if _same_site(request.referrer) else url_for("main.index"))
    response.set_cookie("lang", session["lang"], max_age=365 * 86400, samesite="Lax",
                        httponly=True)
    return response


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
