"""The start page and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from surveyapp.web.i18n import LANGUAGES

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("index.html")


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
