"""The admin's storage page (DESIGN.md §13): how much the evidence attachments take, per
round, and whether the files on disk and the database agree."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from sqlite_utils import Database

from surveyapp.formats.attachment_files import Blobs
from surveyapp.store import attachments as attachment_store


@dataclass(frozen=True)
class RoundStorage:
    round_id: int
    fiscal_year: int
    questionnaire_id: str
    version: str
    attachments_allowed: bool
    links: int  # attachments on answers, removed ones included
    files: int  # distinct contents
    bytes: int


@dataclass(frozen=True)
class Storage:
    folder: str
    files: int  # each content once
    bytes: int  # what they take on disk
    links: int  # attachments on answers now
    removed_links: int  # replaced or removed, kept for the history
    linked_bytes: int  # what every link would take without sharing the content
    rounds: tuple[RoundStorage, ...]
    missing: tuple[str, ...]  # sha256 the database knows and the disk lacks
    unreferenced: tuple[str, ...]  # files on disk the database does not know
    temporary: int  # uploads a crash left half-way (removed after a day)
    free_bytes: int | None  # free space on the disk that holds the folder

    @property
    def saved_bytes(self) -> int:
        """What storing each content once saves."""
        return max(0, self.linked_bytes - self.bytes)


def storage(db: Database, blobs: Blobs) -> Storage:
    totals = attachment_store.totals(db)
    known = {row["sha256"] for row in attachment_store.all_files(db)}
    on_disk = {path.name for path in blobs.files_on_disk()}
    return Storage(
        str(blobs.root), totals["files"], totals["bytes"], totals["links"],
        totals["removed_links"], totals["linked_bytes"],
        tuple(RoundStorage(row["round_id"], row["fiscal_year"], row["questionnaire_id"],
                           row["version"], bool(row["attachments_allowed"]), row["links"],
                           row["files"], row["bytes"])
              for row in attachment_store.totals_by_round(db)),
        tuple(sorted(known - on_disk)), tuple(sorted(on_disk - known)),
        len(blobs.temporary_files()), free_space(blobs))


def free_space(blobs: Blobs) -> int | None:
    folder = blobs.root if blobs.root.exists() else blobs.root.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
