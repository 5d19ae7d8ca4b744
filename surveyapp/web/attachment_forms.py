"""Forms that carry evidence attachments (DESIGN.md §13): the request size they may
have, and reading their files.

`MAX_CONTENT_LENGTH` limits every request; a view marked `@accepts_attachments` may
receive `ATTACHMENT_REQUEST_MAX_BYTES` more (the files of one save together, each at
most `ATTACHMENT_MAX_BYTES`; the rest of the form keeps `MAX_CONTENT_LENGTH`). The
limit is raised before anything reads the body (the CSRF check reads the posted token
first), by a hook registered ahead of every other.
A body above it is answered 413 with the limit (errors/413.html); static/form.js warns
before sending one, so the typed answers are not lost to it. A file above the per-file
limit is refused with its answer's other input saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, request

from surveyapp.formats.attachments import ACCEPTED, KINDS
from surveyapp.model import Questionnaire
from surveyapp.services import attachments
from surveyapp.web import forms
from surveyapp.web.i18n import refusal_text

View = TypeVar("View", bound=Callable[..., Any])
# A self-check form with every question's evidence fields and a file input each.
MAX_FORM_PARTS = 20_000


def accepts_attachments(view: View) -> View:
    """Mark a view whose form may carry attachments (the larger request limit)."""
    view.accepts_attachments = True  # type: ignore[attr-defined]
    return view


def request_limit() -> int:
    return int(current_app.config["ATTACHMENT_REQUEST_MAX_BYTES"])


def file_limit() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def raise_limits() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method == "POST" and getattr(view, "accepts_attachments", False):
        request.max_content_length = request_limit() + int(
            current_app.config["MAX_CONTENT_LENGTH"])
        request.max_form_parts = MAX_FORM_PARTS


def init_app(app: Flask) -> None:
    """Register the hook first: before_request functions run in registration order."""
    app.before_request(raise_limits)


def blobs() -> attachments.Blobs:
    return attachments.Blobs.of_instance(current_app.instance_path)


def accept_attribute() -> str:
    """The file input's `accept`: a hint for the browser's file dialog only."""
    return ",".join(ext for kind in KINDS.values() for ext in kind.extensions)


def accepted_kinds() -> str:
    return ACCEPTED


@dataclass
class PostedFiles:
    """The files posted with a form, checked, and the attachments ticked for removal."""

    accepted: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message
    removed: dict[str, list[int]] = field(default_factory=dict)


def read_posted_files(questionnaire: Questionnaire, audience: str, allowed: bool,
                      prefix: str = "") -> PostedFiles:
    """Check each posted file by content (formats/attachments.py); a refused one gets
    its message on the question's file field, the others go on to be stored. `prefix`:
    a system block's (its fields' and its errors')."""
    uploads = forms.read_uploads(request.files, questionnaire, audience, file_limit(), prefix)
    accepted, refused = attachments.check_uploads(uploads, file_limit(), allowed)
    errors = {f"{prefix}ea_{question_id}": " ".join(refusal_text(reason) for reason in reasons)
              for question_id, reasons in refused.items()}
    return PostedFiles(accepted, errors, forms.read_removals(request.form, questionnaire,
                                                             audience, prefix))
