"""Error pages: a clear Japanese page for people, `{"error": ...}` JSON under /api/."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

# Status -> (template, short message for JSON callers). Messages are looked up per
# request so they follow the chosen language.
PAGES = {
    400: ("errors/400.html", "リクエストが正しくありません。"),
    403: ("errors/403.html", "この操作は許可されていません。"),
    404: ("errors/404.html", "ページが見つかりません。"),
    413: ("errors/413.html", "送信されたデータが大きすぎます。"),
    429: ("errors/429.html", "短時間に多くのリクエストがありました。しばらく待ってから"
                             "もう一度お試しください。"),
    500: ("errors/500.html", "サーバーで問題が発生しました。"),
}


def render_error(error: HTTPException):
    status = error.code or 500
    template, message = PAGES.get(status, PAGES[500])
    if request.path.startswith("/api/"):
        return jsonify(error=_(message)), status
    return render_template(template, status=status,
                           size_limit=size_text(current_app.config["MAX_CONTENT_LENGTH"])), status


def size_text(size: int | None) -> str:
    if not size:
        return ""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:g} MB"
    return f"{size / 1024:g} KB"


def render_csrf_error(error: CSRFError):
    """A stale or missing CSRF token: usually a form left open past the idle timeout."""
    if request.path.startswith("/api/"):
        return jsonify(error=_(PAGES[400][1])), 400
    return render_template("errors/400.html", status=400, csrf=True), 400


def init_app(app: Flask) -> None:
    for status in PAGES:
        app.register_error_handler(status, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
