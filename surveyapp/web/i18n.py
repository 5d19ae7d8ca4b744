"""Language choice (Japanese first, English second) and display filters.

Japanese is the source language of every message; the English catalog lives in
surveyapp/translations (refresh it with scripts/translations.sh)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, datetime

from babel.dates import format_date
from flask import Flask, request, session
from flask_babel import Babel, gettext

from surveyapp import evidence
from surveyapp.evidence import AnswerEvidence, Proof
from surveyapp.model import PUNCTUATION, fiscal_year_label, size_text
from surveyapp.readmodels.deadlines import time_text
from surveyapp.readmodels.results_view import delta_text, percent, score_text

LANGUAGES = ("ja", "en")
babel = Babel()


def select_locale() -> str:
    chosen = session.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else "ja"


def date_label(value: date | str | None, lang: str = "ja") -> str:
    """2021年6月30日 in Japanese, Jun 30, 2021 in English; stored ISO text is accepted,
    and text that is not a date is shown as it is."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    if lang == "en":
        return format_date(value, "medium", locale="en")
    return f"{value.year}年{value.month}月{value.day}日"


def jst(stamp: str | None) -> str:
    """A stored UTC timestamp in the TIMEZONE setting's zone (Japan time unless set
    otherwise) to the minute: 2021-06-30 14:05."""
    return time_text(stamp)


def refusal_text(error: object) -> str:
    """A service's refusal or message in the chosen language: `message` (a msgid) filled
    with `params` when the service follows that convention (surveyapp/refusals.py), else
    the text as it is. A parameter that is itself a message is translated first."""
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        return str(error)
    params = {name: translated_param(name, value)
              for name, value in dict(getattr(error, "params", {})).items()}
    return gettext(message, **params)


def translated_param(name: str, value: object) -> object:
    """A nested message translated; a parameter named `label` is a bare msgid."""
    if isinstance(getattr(value, "message", None), str):
        return refusal_text(value)
    if name == "label" and isinstance(value, str):
        return gettext(value)
    return value


# Templates write {{ punct.open }}…{{ punct.close }} where Japanese text has （…）, and
# join lists with {{ punct.comma }} (model.PUNCTUATION: full-width in Japanese only).


def narrow(text: str) -> str:
    """Full-width symbols (＋, ＝) as their ASCII forms in English; Japanese keeps them."""
    return text if select_locale() == "ja" else unicodedata.normalize("NFKC", text)


def joined(items) -> str:
    """Items as a list in the chosen language: 「A、B」 in Japanese, "A, B" in English."""
    return PUNCTUATION[select_locale()]["comma"].join(items)


class Punctuation:
    """`punct.open` etc. in the chosen language (a Jinja global)."""

    def __getattr__(self, name: str) -> str:
        try:
            return PUNCTUATION[select_locale()][name]
        except KeyError:
            raise AttributeError(name) from None


def evidence_text(found: AnswerEvidence | Proof | str | None) -> str:
    """An answer's evidence (with its attachments' names, given a Proof) on one line, in
    the chosen language: the form, the answer history and the verification pages."""
    if isinstance(found, Proof):
        return found.text(refusal_text)
    return evidence.summary(found, translate=refusal_text)


def translated_errors(errors: Mapping[str, object]) -> dict[str, str]:
    """{field: message} with each service message in the chosen language."""
    return {name: refusal_text(message) for name, message in errors.items()}


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(app.root_path + "/translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["fiscal_year"] = lambda year: fiscal_year_label(year, select_locale())
    app.jinja_env.filters["jp_date"] = lambda value: date_label(value, select_locale())
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["translated"] = refusal_text  # a service message, translated
    app.jinja_env.filters["evidence_text"] = evidence_text
    app.jinja_env.filters["narrow"] = narrow
    # Figures, the same on every page: 61.2, +3.4 / ±0.0, 75.0% ("—" without a value).
    app.jinja_env.filters["score"] = score_text
    app.jinja_env.filters["delta"] = delta_text
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["filesize"] = size_text
    app.jinja_env.globals["current_lang"] = select_locale
    app.jinja_env.globals["punct"] = Punctuation()
