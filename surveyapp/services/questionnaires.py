"""Publishing questionnaire versions (DESIGN.md §3); reading them back is
readmodels/definitions.py.

A published version is immutable: its source bytes are stored with their sha256.
Publishing checks the new version against earlier ones found in the database first
and then, for a file on disk, in its own folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from surveyapp.model import N_, Message, Questionnaire
from surveyapp.questionnaires import (
    DefinitionError,
    Inspection,
    Problem,
    canonical_json,
    chain,
    folder_resolver,
    inspect_bytes,
    inspect_file,
    read_limited,
)
from surveyapp.readmodels.definitions import database_resolver, remember
from surveyapp.refusals import Conflict
from surveyapp.services import audit
from surveyapp.store import now, transaction
from surveyapp.store import questionnaires as version_store


@dataclass(frozen=True)
class PublishResult:
    status: str  # "published" | "unchanged"
    questionnaire_id: str
    version: str
    sha256: str
    warnings: tuple[Problem, ...] = ()

    @property
    def message(self) -> Message:
        name = f"{self.questionnaire_id} {self.version} (sha256 {self.sha256[:12]})"
        if self.status == "unchanged":
            return Message(N_("%(name)s は同じ内容で公開済みです。変更はありません (unchanged)"),
                           name=name)
        return Message(N_("%(name)s を公開しました (published)"), name=name)


# --- reading ------------------------------------------------------------------------


# --- publishing ---------------------------------------------------------------------


def publish(db: Database, data: bytes, path: str, user_id: int | None = None,
            folder: str | Path | None = None) -> PublishResult:
    """Validate and store an immutable version; raises DefinitionError or Conflict.

    `folder` (the file's own folder, for the CLI) is searched for earlier versions that
    are not in the database; an upload has none.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    same = version_store.find_by_sha256(db, sha256)
    if same is not None:
        return PublishResult("unchanged", same["questionnaire_id"], same["version"], sha256)
    resolver = chain(database_resolver(db), folder_resolver(folder) if folder else None)
    inspection = inspect_bytes(data, path, resolver)
    if inspection.questionnaire is None:
        raise DefinitionError(list(inspection.problems))
    return store_version(db, data, sha256, inspection, user_id)


def store_version(db: Database, data: bytes, sha256: str, inspection: Inspection,
                  user_id: int | None) -> PublishResult:
    questionnaire = inspection.questionnaire
    with transaction(db):
        existing = version_store.find_version(db, questionnaire.id, questionnaire.version)
        if existing is not None:
            refuse_if_changed(existing, sha256)
            return PublishResult("unchanged", questionnaire.id, questionnaire.version, sha256)
        version_store.insert_version(db, version_row(data, sha256, inspection, user_id))
        audit.record(db, user_id, "questionnaire.publish", "questionnaire_version",
                     f"{questionnaire.id}/{questionnaire.version}", sha256=sha256,
                     warnings=len(inspection.warnings))
    remember(sha256, questionnaire)
    return PublishResult("published", questionnaire.id, questionnaire.version, sha256,
                         tuple(inspection.warnings))


# Publishing never changes a published version; `check` warns of the same refusal.
CHANGED_VERSION = N_("%(questionnaire)s の版 %(version)s は別の内容で公開済みです "
                     "(sha256 %(sha256)s)。公開済みの版は変更できません。"
                     "新しい version 番号を付けてください")


def refuse_if_changed(existing: dict, sha256: str) -> None:
    if existing["sha256"] != sha256:
        raise Conflict(CHANGED_VERSION, **changed_version_params(existing))


def changed_version_params(existing: dict) -> dict:
    return {"questionnaire": existing["questionnaire_id"], "version": existing["version"],
            "sha256": existing["sha256"][:12]}


def version_row(data: bytes, sha256: str, inspection: Inspection, user_id: int | None
                ) -> dict:
    questionnaire = inspection.questionnaire
    return {
        "questionnaire_id": questionnaire.id, "version": questionnaire.version,
        "fiscal_year": questionnaire.fiscal_year, "title": questionnaire.title.ja,
        "source": data, "sha256": sha256, "canonical_json": canonical_json(inspection.document),
        "published_at": now(), "published_by": user_id,
    }


# --- checking files against what is published ----------------------------------------


def check_files(paths: list[Path], db: Database | None = None) -> list[Problem]:
    """Every problem of every file, as `surveyapp questionnaires check` prints them.

    With the instance's database, earlier versions are looked up among the published
    ones first and then in the file's folder (as `publish` does), and a version that is
    already published with other content is an error: publishing it would be refused.
    Without one, only the files' folders are searched.
    """
    problems = []
    for path in paths:
        folder = folder_resolver(path.parent)
        resolver = chain(database_resolver(db), folder) if db is not None else folder
        inspection = inspect_file(path, resolver)
        problems += inspection.problems
        if db is not None and inspection.questionnaire is not None:
            problems += published_differently(db, path, inspection.questionnaire)
    return problems


def published_differently(db: Database, path: Path, questionnaire: Questionnaire
                          ) -> list[Problem]:
    """The refusal `publish` would give when this version is stored with other bytes."""
    existing = version_store.find_version(db, questionnaire.id, questionnaire.version)
    if existing is None or existing["sha256"] == hashlib.sha256(read_limited(path)).hexdigest():
        return []
    refusal = Message(CHANGED_VERSION, **changed_version_params(existing))
    return [Problem(str(path), version_line(path), refusal)]


def version_line(path: Path) -> int:
    """The line of the file's `version:` key (the header's), for the message."""
    for number, line in enumerate(read_limited(path).splitlines(), start=1):
        if line.strip().startswith(b"version:"):
            return number
    return 1
