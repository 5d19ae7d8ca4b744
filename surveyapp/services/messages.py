"""Refusals whose message the web layer can translate.

A service raises `Refused(N_("…%(name)s…"), name=value)`: the message is a Japanese
msgid marked with `N_` so the catalog extractor finds it, and `params` fill it. `str()`
gives the filled Japanese text (the CLI prints it); the web layer translates
`message` with `params` (surveyapp.web.i18n.refusal_text). A parameter named `label`
is itself a marked msgid (a field name such as N_("開始日")) and is translated too.
"""

from __future__ import annotations


def N_(message: str) -> str:  # the conventional gettext_noop name
    """Mark a message for translation without translating it here."""
    return message


class Refused(ValueError):
    """A refused request; `message` is a Japanese msgid, `params` fill it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class Message(str):
    """A filled Japanese message that remembers its msgid and `params`, for services
    that collect several messages (form errors by field) instead of raising one: it is
    the Japanese text wherever a str is expected, and the web layer translates it like
    a `Refused` (surveyapp.web.i18n.refusal_text)."""

    message: str
    params: dict

    def __new__(cls, message: str, **params: object) -> Message:
        filled = super().__new__(cls, message % params if params else message)
        filled.message = message
        filled.params = params
        return filled

    @classmethod
    def of(cls, error: Exception) -> str:
        """A caught refusal as a collected message (any other error as its text)."""
        if isinstance(error, Refused):
            return cls(error.message, **error.params)
        return str(error)
