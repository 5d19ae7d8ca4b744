"""Error pages: a clear Japanese page for people, `{"error": ...}` JSON under /api/.

Also the one place where a service's refusal (surveyapp.refusals) gets its HTTP status:
views that show a refusal on their own page ask `refusal_status`, and a refusal no view
catches (a NotFound, mostly) gets the error page of that status here."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from surveyapp.model import N_, size_text  # N_ marks a message, translated where shown
from surveyapp.refusals import (
    Conflict,
    Denied,
    Invalid,
    Locked,
    NotFound,
    Refusal,
    Unavailable,
)
from surveyapp.web.i18n import refusal_text

# Status -> (template, short message for JSON callers). Messages are looked up per
# request so they follow the chosen language.
PAGES = {
    400: ("errors/400.html", N_("リクエストが正しくありません。")),
    403: ("errors/403.html", N_("この操作は許可されていません。")),
    404: ("errors/404.html", N_("ページが見つかりません。")),
    # A method the URL does not take (a POST to the read-only API): the 400 page, and
    # JSON under /api/ like every other API error.
    405: ("errors/400.html", N_("この操作は許可されていません。")),
    413: ("errors/413.html", N_("送信されたデータが大きすぎます。")),
    429: ("errors/429.html", N_("短時間に多くのリクエストがありました。しばらく待ってから"
                                "もう一度お試しください。")),
    500: ("errors/500.html", N_("サーバーで問題が発生しました。")),
}


# The status of each kind of refusal; the most specific kind a refusal is wins.
REFUSAL_STATUS = {NotFound: 404, Conflict: 409, Locked: 409, Invalid: 400, Denied: 403,
                  Unavailable: 503, Refusal: 400}
FIELD_ERRORS_STATUS = 422  # an Invalid that names the fields to correct


def refusal_status(error: Refusal) -> int:
    if isinstance(error, Invalid) and error.errors:
        return FIELD_ERRORS_STATUS
    return next(REFUSAL_STATUS[kind] for kind in type(error).__mro__ if kind in REFUSAL_STATUS)


def render_refusal(error: Refusal):
    """A refusal no view shows on its own page: the error page of its status (JSON with
    its message under /api/)."""
    status = refusal_status(error)
    if request.path.startswith("/api/"):
        return jsonify(error=refusal_text(error)), status
    template = PAGES[status][0] if status in PAGES else PAGES[400][0]
    return render_template(template, status=status), status


def render_error(error: HTTPException):
    status = error.code or 500
    template, message = PAGES.get(status, PAGES[500])
    if request.path.startswith("/api/"):
        return jsonify(error=_(message)), status
    return render_template(template, status=status,
                           size_limit=size_limit_text(request.max_content_length)), status


def size_limit_text(size: int | None) -> str:
    return size_text(size) if size else ""


def render_csrf_error(error: CSRFError):
    """A stale or missing CSRF token: usually a form left open past the idle timeout."""
    if request.path.startswith("/api/"):
        return jsonify(error=_(PAGES[400][1])), 400
    return render_template("errors/400.html", status=400, csrf=True), 400


# SQLite primary result codes that mean "the storage cannot take writes right now",
# not a bug: the page says so, keeps the input, and the request may be repeated later.
STORAGE_CONDITIONS = {
    sqlite3.SQLITE_READONLY: "readonly",
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_IOERR: "io",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_CANTOPEN: "io",
}
STORAGE_CAUSES = {
    "readonly": N_("データベースが読み取り専用になっているため、"),
    "full": N_("サーバーのディスクの空きがないため、"),
    "io": N_("サーバーのディスクの読み書きで問題が起きたため、"),
    "busy": N_("サーバーが混み合っているため、"),
}
NOT_SAVED = N_("保存できませんでした。入力内容は画面に残っています。")
NOT_SHOWN = N_("ページを表示できませんでした。")
RETRY_ADVICE = N_("しばらくしてからもう一度お試しいただき、"
                  "続く場合は情報企画課にお問い合わせください。")
# Posted fields never echoed back on the 503 page.
NOT_ECHOED = ("csrf_token", "password", "current_password", "new_password",
              "new_password_again", "staff_code", "action", "version")


def storage_condition(error: sqlite3.OperationalError) -> str | None:
    """"readonly", "full", "io" or "busy" for a storage failure; None for anything
    else (a wrong statement is a bug and stays a 500)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return STORAGE_CONDITIONS.get(code & 0xFF)
    return None


def storage_message(error: sqlite3.OperationalError) -> str | None:
    """Why, what happened to the request, and what to do, in Japanese; None when the
    error is not a storage failure."""
    condition = storage_condition(error)
    if condition is None:
        return None
    outcome = NOT_SHOWN if request.method == "GET" else NOT_SAVED
    return _(STORAGE_CAUSES[condition]) + _(outcome) + _(RETRY_ADVICE)


def render_storage_error(error: sqlite3.OperationalError):
    """503 with a clear message for a read-only, full, failing or busy database; the
    posted text comes back on the page so nothing typed is lost."""
    message = storage_message(error)
    if message is None:
        current_app.logger.exception("database error", exc_info=error)
        return render_error(InternalServerError())
    current_app.logger.error("storage unavailable (%s): %s", storage_condition(error), error)
    if "_login_user" not in g:  # reading the user may be what failed: do not try again
        g._login_user = current_app.login_manager.anonymous_user()
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=message)
    else:
        response = current_app.make_response(render_template(
            "errors/503.html", status=503, message=message, kept=kept_input()))
    response.status_code = 503
    response.headers["Retry-After"] = "60"
    return response


def kept_input() -> list[tuple[str, str]]:
    """Non-secret posted values that are not empty, in the order they were sent."""
    if request.method != "POST":
        return []
    return [(name, value) for name, value in request.form.items(multi=True)
            if name not in NOT_ECHOED and value.strip()]


def init_app(app: Flask) -> None:
    for status in PAGES:
        app.register_error_handler(status, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
    app.register_error_handler(Refusal, render_refusal)
    app.register_error_handler(sqlite3.OperationalError, render_storage_error)
