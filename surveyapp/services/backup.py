"""Consistent online backups; restoring is copying the file back while stopped.

The evidence attachments (DESIGN.md §13) live beside the database, one file per
sha256 under `<instance>/attachments/`; `backup_attachments` copies every file the
backed-up database references to `<backup>.attachments/`, checking each content on
the way. Files are never changed once stored, and a file a save references is in
place before that save commits, so a copy taken after the database backup holds every
file the backup names."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from surveyapp.formats.attachment_files import Blobs
from surveyapp.model import N_
from surveyapp.refusals import Conflict, NotFound, Refusal
from surveyapp.store import maintenance

ATTACHMENTS_SUFFIX = ".attachments"


def backup_database(source: str | Path, target: str | Path) -> None:
    """Write a copy of `source` to `target`; refuse to overwrite and never leave a
    copy behind that fails the integrity check."""
    target = Path(target)
    if not Path(source).is_file():  # SQLite would create an empty one and copy that
        raise NotFound(N_("データベース %(path)s がありません。"
                          "--instance の指定を確認してください。"), path=str(source))
    if target.exists():
        raise Conflict(N_("%(path)s は既に存在します。別のファイル名を指定してください。"),
                       path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    result = maintenance.backup_to(source, target)
    if result != "ok":
        target.unlink()
        raise Refusal(N_("バックアップの整合性検査に失敗しました: %(result)s"), result=result)


@dataclass(frozen=True)
class CopiedAttachments:
    folder: Path
    files: int
    bytes: int


def attachments_folder(target: str | Path) -> Path:
    """Where the attachments of the backup `target` go: `<target>.attachments/`."""
    target = Path(target)
    return target.with_name(target.name + ATTACHMENTS_SUFFIX)


def backup_attachments(backup: str | Path, blobs: Blobs) -> CopiedAttachments:
    """Copy the files the database copy `backup` references into its attachments
    folder; refuses when the folder exists, and (after copying the rest) when a file
    is missing or no longer has its content."""
    folder = attachments_folder(backup)
    if folder.exists():
        raise Conflict(N_("%(path)s は既に存在します。別のファイル名を指定してください。"),
                       path=str(folder))
    files = maintenance.attachment_files_of(backup)
    target = Blobs(folder)
    lost = [row["sha256"] for row in files if not copy_file(blobs, target, row["sha256"])]
    if lost:
        raise Refusal(N_("添付ファイル %(n)d 件が見つからないか内容が変わっていたため、"
                         "バックアップに含められませんでした（%(first)s など）。"),
                      n=len(lost), first=lost[0])
    return CopiedAttachments(folder, len(files), sum(row["size"] for row in files))


def copy_file(source: Blobs, target: Blobs, sha256: str) -> bool:
    """Copy one stored file, True when its content still has its sha256."""
    origin = source.path(sha256)
    if not origin.is_file():
        return False
    destination = target.path(sha256)
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with origin.open("rb") as reader, os.fdopen(descriptor, "wb") as writer:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
            writer.write(chunk)
    if digest.hexdigest() != sha256:
        destination.unlink()
        return False
    return True
