"""How the layers below the web say "no": one family of refusals.

A use-case or read model that refuses raises one of the four kinds below with a
Japanese msgid marked `N_` (so the catalog extractor finds it) and the `params` that
fill it: `raise Locked(N_("調査回 %(id)d は受付中ではないため締め切れません"), id=5)`.
`str()` is the filled Japanese text. A parameter named `label` is itself a msgid (a
field name such as N_("開始日")), and a parameter that is a `model.Message` is a
message of its own; the web layer translates both (web/i18n.py `refusal_text`).

The kind says what happened, and each caller answers it in one place: the web layer's
HTTP status in `web/errors.py` (REFUSAL_STATUS), the command line's exit status and
one-line message in `cli.py` (`command`).

- `NotFound`: no such object, or not one the caller may see.
- `Conflict`: the object changed, or the name is taken, since the caller looked;
  `current` carries what is stored now, so nothing the user typed is lost.
- `Locked`: the object cannot change in the state it is in (submitted, round closed).
- `Invalid`: the request or its input cannot be used; `errors` maps form fields to
  messages (or to error codes the caller documents) when the fault is per field.
- `Denied`: the caller may not do this (the directory grants no access, an action only
  an admin may take).
- `Unavailable`: something the request needs cannot be reached now (the directory
  server); the same request may succeed later.
- `Refusal` itself: refused for another reason (the last admin, one's own account).
"""

from __future__ import annotations

from collections.abc import Mapping

from surveyapp.model import N_

__all__ = ["Conflict", "Denied", "Invalid", "Locked", "NotFound", "Refusal", "Unavailable"]


class Refusal(Exception):
    """A refused request; `message` is a Japanese msgid, `params` fill it. `code`
    names the kind for machine readers (the autosave's JSON)."""

    code = "refused"
    message = N_("処理できませんでした。")

    def __init__(self, message: str | None = None, /, **params: object) -> None:
        self.message = message if message is not None else type(self).message
        self.params = params
        super().__init__(self.message % params if params else self.message)


class NotFound(Refusal):
    code = "not_found"
    message = N_("ページが見つかりません。")


class Conflict(Refusal):
    """Someone changed the object after the caller loaded it; `current` is the stored
    state now (its type is the service's: a response's answers, an improvement item)."""

    code = "conflict"

    def __init__(self, message: str | None = None, /, *, current: object = None,
                 **params: object) -> None:
        super().__init__(message, **params)
        self.current = current


class Locked(Refusal):
    code = "locked"


class Invalid(Refusal):
    """Input that cannot be used; `errors` maps field names to what is wrong there."""

    code = "invalid"
    message = N_("入力内容を確認してください。")

    def __init__(self, message: str | None = None, /, *,
                 errors: Mapping[str, str] | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.errors = dict(errors or {})


class Denied(Refusal):
    code = "denied"
    message = N_("この操作は許可されていません。")


class Unavailable(Refusal):
    code = "unavailable"
