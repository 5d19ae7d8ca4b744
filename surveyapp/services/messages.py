"""Refusals whose message the web layer can translate.

A service raises `Refused(N_("…%(name)s…"), name=value)`: the message is a Japanese
msgid marked with `N_` so the catalog extractor finds it, and `params` fill it. `str()`
gives the filled Japanese text (the CLI prints it); the web layer translates
`message` with `params` (surveyapp.web.i18n.refusal_text). A parameter named `label`
is itself a marked msgid (a field name such as N_("開始日")) and is translated too.

Services that collect several messages instead of raising one use `Message` (a filled
Japanese str that keeps its msgid and params). `N_` and `Message` live in
surveyapp.model so that the questionnaire loader, below the services, can use them too.
"""

from __future__ import annotations

from collections.abc import Callable

from surveyapp.model import N_, Message

__all__ = ["N_", "Message", "Refused", "Translate"]

# How a service that builds text for a file or a chart (an Excel form, chart labels)
# gets it in the chosen language: the web layer passes its translation of a Message;
# the default `str` keeps the Japanese.
Translate = Callable[[Message], str]


class Refused(ValueError):
    """A refused request; `message` is a Japanese msgid, `params` fill it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params
