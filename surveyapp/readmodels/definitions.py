"""Published questionnaire versions read back (DESIGN.md §3): the model of a version,
its source, its row. A version is immutable once published, so every read parses the
stored bytes once: definitions are memoised by sha256, a read costs one small query."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from sqlite_utils import Database

from surveyapp.model import N_, Questionnaire
from surveyapp.questionnaires import (
    Collector,
    DefinitionError,
    Resolver,
    inspect_document,
)
from surveyapp.refusals import NotFound
from surveyapp.store import questionnaires as version_store

CACHE_SIZE = 32
VERSION_NOT_FOUND = N_("設問票 %(questionnaire)s の版 %(version)s は公開されていません")


def version_not_found(questionnaire_id: str, version: str) -> NotFound:
    return NotFound(VERSION_NOT_FOUND, questionnaire=questionnaire_id, version=version)


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
    document, sha256 = version_store.document_and_sha256(db, questionnaire_id, version)
    return remember(sha256, parse_stored(document, f"{questionnaire_id}/{version}.yaml"))


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


def parse_stored(document: str, label: str) -> Questionnaire:
    """The model of a published version from its canonical JSON: the document its
    source bytes gave when published (immutable since), so reading costs no YAML
    parsing, a sixth of the time. Checked against other versions when it was
    published, so it needs no resolver."""
    inspection = inspect_document(json.loads(document), Collector(label))
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
