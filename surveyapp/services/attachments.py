"""Evidence attachments of answers (DESIGN.md §13): checking uploads, storing the files
under the instance by sha256, linking them to answers with a save, and removing links.

Files live in `<instance>/attachments/<first two hex digits>/<sha256>`, each content
once however many answers link it. Nothing is written to disk that the database does
not reference:
1. an upload is checked (formats/attachments.py) and written to a temporary file in
   `attachments/tmp/` before the save's transaction (`staged`);
2. inside the transaction the file's row and link are inserted and the temporary file
   is renamed to its final name (an existing file of the same content is kept);
3. when the transaction does not commit, a file this save renamed into place is
   deleted again unless the database (in a new write transaction) knows its sha256;
   temporary files not renamed are always deleted. A temporary file a crash left
   behind is removed by the next upload after a day.
Writers take turns (BEGIN IMMEDIATE), and a final file appears or disappears only
inside a write transaction, so two saves of the same content cannot race.

A removed attachment keeps its file and its link (marked removed): the answer history
lists it, and whoever may see the answer may still download it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from surveyapp import audiences, store
from surveyapp.formats.attachment_files import Blobs, Staged
from surveyapp.formats.attachments import CheckedFile, check_attachment
from surveyapp.model import N_, Message, Questionnaire
from surveyapp.readmodels.answers import Attachment, attachments_of
from surveyapp.refusals import Invalid
from surveyapp.services import audit
from surveyapp.store import attachments as attachment_store

__all__ = ["Blobs", "Changes", "Staged", "apply", "check_uploads", "staged", "store_file"]

MAX_PER_ANSWER = 10

ROUND_OFF = N_("この調査回では添付ファイルを受け付けていません。"
               "根拠の保管場所と日付を入力してください。")
NO_EVIDENCE = N_("この設問には根拠を添付できません。")
TOO_MANY = N_("1つの設問に添付できるのは%(n)d件までです。"
              "不要な添付を削除してから追加してください。")
NOT_SAVED = N_("添付できなかったファイルがあります。理由を確認し、ファイルを選び直してください"
               "（ほかの入力は保存されています）。")
NOT_SAVED_MESSAGE = Message(NOT_SAVED)


@dataclass(frozen=True)
class Changes:
    """What a save does to attachments: files to add and links to remove, by question."""

    blobs: Blobs
    added: Mapping[str, Sequence[Staged]] = field(default_factory=dict)
    removed: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.added.values()) or any(self.removed.values())


# --- checking uploads --------------------------------------------------------------------


def check_uploads(uploads: Mapping[str, Sequence[tuple[str, bytes]]], max_bytes: int,
                  allowed: bool) -> tuple[dict[str, list[CheckedFile]], dict[str, list]]:
    """({question id: accepted files}, {question id: [why each other one was refused]})
    of the files posted per question; with `allowed` False (the round's setting) every
    posted file is refused."""
    accepted: dict[str, list[CheckedFile]] = {}
    refused: dict[str, list] = {}
    for question_id, files in uploads.items():
        for filename, data in files:
            try:
                if not allowed:
                    raise Invalid(ROUND_OFF)
                accepted.setdefault(question_id, []).append(
                    check_attachment(filename, data, max_bytes))
            except Invalid as error:
                refused.setdefault(question_id, []).append(Message.of(error))
    return accepted, refused


@contextlib.contextmanager
def staged(db: Database, blobs: Blobs,
           accepted: Mapping[str, Sequence[CheckedFile]]) -> Iterator[dict[str, list[Staged]]]:
    """The accepted files written to temporary files for one save; afterwards every
    temporary file is gone and a file the save moved into place stays only when the
    database references it (the save committed, or someone else stored it too)."""
    files: dict[str, list[Staged]] = {}
    try:
        for question_id, checked in accepted.items():
            files[question_id] = [blobs.stage(item) for item in checked]
        yield files
    finally:
        cleanup(db, blobs, [item for items in files.values() for item in items])


def cleanup(db: Database, blobs: Blobs, items: Sequence[Staged]) -> None:
    for item in items:
        item.tmp.unlink(missing_ok=True)
    promoted = [item for item in items if item.promoted]
    if not promoted:
        return
    with store.transaction(db):
        for item in promoted:
            if not attachment_store.file_known(db, item.sha256):
                blobs.path(item.sha256).unlink(missing_ok=True)


# --- writing, inside a save's transaction ------------------------------------------------------


def apply(db: Database, response: Mapping, questionnaire: Questionnaire,
          changes: Changes | None, user_id: int | None,
          at: str) -> dict[str, tuple[str, str]]:
    """Add and remove the answer attachments of one save (inside its transaction);
    returns {question id: (link ids before, link ids after)} of the answers whose
    attachments changed, as the answer history stores them ("12;15").

    Raises `Invalid` when files come for a round that does not allow them, a question
    that takes no evidence, an anonymous audience, or beyond MAX_PER_ANSWER. A link id
    that is not the answer's own is ignored."""
    if not changes:
        return {}
    current = attachments_of(db, response["id"])
    _check(response, questionnaire, changes, current)
    moved = {}
    for question_id in sorted({*changes.added, *changes.removed}):
        before = [link.id for link in current.get(question_id, [])]
        gone = [link for link in before if link in set(changes.removed.get(question_id, ()))]
        attachment_store.mark_removed(db, gone, user_id, at)
        after = [link for link in before if link not in gone]
        known = {link.sha256 for link in current.get(question_id, []) if link.id in after}
        for item in changes.added.get(question_id, ()):
            if item.sha256 in known:
                continue  # the same file twice on one answer: once is enough
            after.append(store_file(db, changes.blobs, response["id"], question_id, item,
                                    user_id, at))
            known.add(item.sha256)
        if after != before:
            moved[question_id] = (ids_text(before), ids_text(after))
    return moved


def _check(response: Mapping, questionnaire: Questionnaire, changes: Changes,
           current: Mapping[str, list[Attachment]]) -> None:
    errors = {}
    for question_id, items in changes.added.items():
        question = questionnaire.question(question_id)
        if not items:
            continue
        if not response.get("attachments_allowed"):
            errors[f"ea_{question_id}"] = Message(ROUND_OFF)
        elif (question is None or question.evidence == "none"
              or audiences.lookup(response["audience"]).anonymous):
            errors[f"ea_{question_id}"] = Message(NO_EVIDENCE)
        elif len(current.get(question_id, [])) - len(changes.removed.get(question_id, ())) \
                + len(items) > MAX_PER_ANSWER:
            errors[f"ea_{question_id}"] = Message(TOO_MANY, n=MAX_PER_ANSWER)
    if errors:
        raise Invalid(NOT_SAVED, errors=errors)


def store_file(db: Database, blobs: Blobs, response_id: int, question_id: str, item: Staged,
               user_id: int | None, at: str) -> int:
    """Link a staged file to an answer and move it into place (inside the caller's
    transaction); returns the link's id."""
    attachment_store.insert_file(db, item.sha256, item.file.size, item.file.media_type, at)
    link = attachment_store.insert_link(db, response_id, question_id, item.sha256,
                                        item.file.filename, user_id, at)
    blobs.promote(item)
    return link


def ids_text(link_ids: Sequence[int]) -> str | None:
    return ";".join(str(link) for link in link_ids) or None


def record_download(db: Database, user_id: int | None, link_id: int, sha256: str,
                    department_code: str) -> None:
    """Who took which evidence file out goes to the audit log, as for exports."""
    with store.transaction(db):
        audit.record(db, user_id, "attachments.download", "attachment", link_id,
                     sha256=sha256, department_code=department_code)
