"""Publishing questionnaire versions and reading them back (DESIGN.md §3).

A published version is immutable: its source bytes are stored with their sha256, and
every later read parses those bytes (memoised by sha256, so it costs one small query
per request). Publishing checks the new version against earlier ones found in the
database first and then, for a file on disk, in its own folder.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from surveyapp.model import N_, Message, Questionnaire
from surveyapp.questionnaires import (
    DefinitionError,
    Inspection,
    Problem,
    Resolver,
    canonical_json,
    chain,
    folder_resolver,
    inspect_bytes,
)
from surveyapp.refusals import Conflict, NotFound
from surveyapp.services import audit
from surveyapp.store import now, transaction
from surveyapp.store import questionnaires as version_store

CACHE_SIZE = 32


VERSION_NOT_FOUND = N_("設問票 %(questionnaire)s の版 %(version)s は公開されていません")


def version_not_found(questionnaire_id: str, version: str) -> NotFound:
    return NotFound(VERSION_NOT_FOUND, questionnaire=questionnaire_id, version=version)


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

_cache: OrderedDict[str, Questionnaire] = OrderedDict()
_cache_lock = threading.Lock()


def get_definition(db: Database, questionnaire_id: str, version: str) -> Questionnaire:
    """The published version as a model; raises NotFound."""
    sha256 = version_store.sha256_of(db, questionnaire_id, version)
    if sha256 is None:
        raise version_not_found(questionnaire_id, version)
    cached = cached_definition(sha256)
    if cached is not None:
        return cached
    source, sha256 = version_store.source_and_sha256(db, questionnaire_id, version)
    return remember(sha256, parse_stored(source, f"{questionnaire_id}/{version}.yaml"))


def cached_definition(sha256: str) -> Questionnaire | None:
    with _cache_lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
        return _cache.get(sha256)


def remember(sha256: str, questionnaire: Questionnaire) -> Questionnaire:
    with _cache_lock:
        _cache[sha256] = questionnaire
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return questionnaire


def parse_stored(source: bytes, label: str) -> Questionnaire:
    # Checked against other versions when it was published; immutable since, so
    # re-reading it needs no resolver.
    inspection = inspect_bytes(source, label)
    if inspection.questionnaire is None:
        raise DefinitionError(list(inspection.problems))
    return inspection.questionnaire


def get_version_row(db: Database, questionnaire_id: str, version: str) -> dict | None:
    """The stored row without its source bytes, or None."""
    row = version_store.find_version(db, questionnaire_id, version)
    if row is not None:
        row.pop("source")
    return row


def get_source(db: Database, questionnaire_id: str, version: str) -> bytes:
    found = version_store.source_and_sha256(db, questionnaire_id, version)
    if found is None:
        raise version_not_found(questionnaire_id, version)
    return found[0]


def get_document(db: Database, questionnaire_id: str, version: str) -> dict:
    """The parsed document as published (its canonical JSON), for exports and tools."""
    row = version_store.find_version(db, questionnaire_id, version)
    if row is None:
        raise version_not_found(questionnaire_id, version)
    return json.loads(row["canonical_json"])


def list_versions(db: Database) -> list[dict]:
    return version_store.list_versions(db)


def database_resolver(db: Database) -> Resolver:
    def resolve(questionnaire_id: str, version: str) -> Questionnaire | None:
        try:
            return get_definition(db, questionnaire_id, version)
        except NotFound:
            return None
    return resolve


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


def refuse_if_changed(existing: dict, sha256: str) -> None:
    if existing["sha256"] != sha256:
        raise Conflict(
            N_("%(questionnaire)s の版 %(version)s は別の内容で公開済みです (sha256 %(sha256)s)。"
               "公開済みの版は変更できません。新しい version 番号を付けてください"),
            questionnaire=existing["questionnaire_id"], version=existing["version"],
            sha256=existing["sha256"][:12])


def version_row(data: bytes, sha256: str, inspection: Inspection, user_id: int | None
                ) -> dict:
    questionnaire = inspection.questionnaire
    return {
        "questionnaire_id": questionnaire.id, "version": questionnaire.version,
        "fiscal_year": questionnaire.fiscal_year, "title": questionnaire.title.ja,
        "source": data, "sha256": sha256, "canonical_json": canonical_json(inspection.document),
        "published_at": now(), "published_by": user_id,
    }
