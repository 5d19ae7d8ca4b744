"""The 「前年度の改善状況」 block of a department form: the previous round's open
improvement items of the 所属 (and of those it replaced), each with the status and
progress note reported on this round's form. services/responses.py stores the block in
the same transaction as the draft (`save_previous_year`) and refuses a submission
while it is incomplete (`previous_year_errors`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp import store
from surveyapp.model import N_, Message
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.followup_lists import (
    STATUSES,
    Item,
    department_scope,
    list_items,
    previous_round,
)
from surveyapp.services.followups import MAX_NOTES_LENGTH, typed_text
from surveyapp.store import followups as followup_store
from surveyapp.store import responses as response_store

EDITABLE_RESPONSES = ("draft", "reopened")


@dataclass(frozen=True)
class PreviousYearEntry:
    """One open item of the previous round, as the next round's form shows it."""

    item: Item
    status: str | None  # the status reported on this form, else the item's own
    note: str
    reported: bool  # saved on this form at least once


def status_field(item_id: int) -> str:
    return f"prev_status_{item_id}"


def note_field(item_id: int) -> str:
    return f"prev_note_{item_id}"


def previous_year_entries(db: Database, round_id: int, code: str) -> list[PreviousYearEntry]:
    """Items of the previous round for `code` (and the 所属 it replaced) that are still
    open, plus those already reported on this round's form (which may now be done)."""
    previous = previous_round(db, round_id)
    if previous is None:
        return []
    items = list_items(db, round_id=previous.id, department_codes=department_scope(db, code))
    reports = followup_store.reports(db, round_id, [item.id for item in items])
    return [_entry(item, reports.get(item.id)) for item in items
            if item.is_open or item.id in reports]


def _entry(item: Item, report: Mapping | None) -> PreviousYearEntry:
    if report is None:
        return PreviousYearEntry(item, item.status, "", False)
    return PreviousYearEntry(item, report["status"] or item.status, report["note"], True)


def save_previous_year(db: Database, round_id: int, code: str, posted: Mapping[str, str],
                       user_id: int | None) -> dict[str, str]:
    """Store the block's posted status and progress note of each item, with the draft.

    Only items with a field in `posted` are touched, and a value that did not change is
    not written. A changed status also changes the item itself; both are recorded in the
    item's history with this round as the source. Returns {field: message} for values
    that could not be stored (the rest is stored). Writes nothing unless the 所属's
    department response of the round is still editable.
    """
    errors: dict[str, str] = {}
    with store.transaction(db):
        if not _form_editable(db, round_id, code):
            return errors
        at = store.now()
        for entry in previous_year_entries(db, round_id, code):
            if _was_posted(entry, posted):
                _save_entry(db, round_id, entry, _posted_values(entry, posted, errors),
                            user_id, at)
    return errors


def _form_editable(db: Database, round_id: int, code: str) -> bool:
    round_ = round_reads.get_round(db, round_id)
    response = response_store.find_department_response(db, round_id, code)
    return (round_ is not None and round_.status == "open"
            and (response is None or response["status"] in EDITABLE_RESPONSES))


def _was_posted(entry: PreviousYearEntry, posted: Mapping[str, str]) -> bool:
    """A form loaded before the item existed carries no field of it: nothing to save."""
    item_id = entry.item.id
    return status_field(item_id) in posted or note_field(item_id) in posted


def _posted_values(entry: PreviousYearEntry, posted: Mapping[str, str],
                   errors: dict) -> tuple[str | None, str]:
    item_id = entry.item.id
    status = posted.get(status_field(item_id), entry.status)
    if status not in STATUSES:
        errors[status_field(item_id)] = Message(N_("改善計画の状況を選んでください。"))
        status = entry.status
    note = posted.get(note_field(item_id))
    if note is None:
        return status, entry.note
    local: dict[str, str] = {}
    cleaned = typed_text(note, MAX_NOTES_LENGTH, N_("進捗"), local, "note")
    if local:
        errors[note_field(item_id)] = local["note"]
        return status, entry.note
    return status, cleaned


def _save_entry(db: Database, round_id: int, entry: PreviousYearEntry,
                values: tuple[str | None, str], user_id: int | None, at: str) -> None:
    status, note = values
    if entry.reported and (status, note) == (entry.status, entry.note):
        return
    item = entry.item
    followup_store.upsert_report(db, item.id, round_id, status, note, user_id, at)
    if note != entry.note:
        followup_store.insert_history(db, item.id, ("progress_note", entry.note or None,
                                                    note or None), user_id, at, round_id)
    if status != item.status and (not entry.reported or status != entry.status):
        followup_store.update_item(db, item.id, {**_stored_values(item), "status": status},
                                   user_id, at)
        followup_store.insert_history(db, item.id, ("status", item.status, status),
                                      user_id, at, round_id)


def _stored_values(item: Item) -> dict:
    return {"finding": item.finding, "question_ids": item.question_ids, "owner": item.owner,
            "due_on": item.due_on, "status": item.status, "notes": item.notes}


def previous_year_errors(db: Database, round_id: int, code: str) -> dict[str, str]:
    """{field: message} for what the block still lacks before the form may be submitted:
    every item needs a saved status and a progress note."""
    errors = {}
    for entry in previous_year_entries(db, round_id, code):
        number = entry.item.id
        if not entry.reported or entry.status not in STATUSES:
            errors[status_field(number)] = Message(
                N_("前年度の改善計画 #%(id)d（%(finding)s）の状況を選んでください。"),
                id=number, finding=entry.item.finding)
        if not entry.note:
            errors[note_field(number)] = Message(
                N_("前年度の改善計画 #%(id)d（%(finding)s）の進捗を入力してください。"),
                id=number, finding=entry.item.finding)
    return errors
