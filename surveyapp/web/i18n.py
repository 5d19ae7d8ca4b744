"""Language choice (Japanese first, English second) and display filters."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel

LANGUAGES = ("ja", "en")
babel = Babel()


def select_locale() -> str:
    chosen = session.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else "ja"


def fiscal_year_label(year: int | None) -> str:
    """令和3年度 (2021); the 年度 starts in April, so FY2019 is 令和元年度."""
    if year is None:
        return ""
    if year >= 2019:
        era, number = "令和", year - 2018
    else:
        era, number = "平成", year - 1988
    return f"{era}{'元' if number == 1 else number}年度 ({year})"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(app.root_path + "/translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["fiscal_year"] = fiscal_year_label
    app.jinja_env.globals["current_lang"] = select_locale
