"""Load a definition: read YAML -> schema -> semantics -> other versions -> model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from surveyapp.model import N_, Message, Questionnaire
from surveyapp.questionnaires.build import build_questionnaire
from surveyapp.questionnaires.compatibility import Resolver, check_versions
from surveyapp.questionnaires.problems import (
    WARNING,
    Collector,
    DefinitionError,
    Problem,
)
from surveyapp.questionnaires.reader import MAX_BYTES, read_document
from surveyapp.questionnaires.schema_check import check_schema
from surveyapp.questionnaires.semantics import check_semantics


@dataclass(frozen=True)
class Inspection:
    """The outcome of checking one definition; `questionnaire` is None on any error."""

    questionnaire: Questionnaire | None
    document: dict | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]


def inspect_bytes(data: bytes, path: str, resolver: Resolver | None = None) -> Inspection:
    """Run every pass and collect every problem; never raises for a bad definition.

    `resolver` finds other versions for the lineage and compatibility checks; None
    skips those checks (used when re-reading a version that was checked on publish).
    """
    collector = Collector(str(path))
    parsed = read_document(data, collector)
    if parsed is None:
        return Inspection(None, None, tuple(collector.problems))
    collector.lines = parsed.lines
    return inspect_document(parsed.data, collector, resolver)


def inspect_document(document: object, collector: Collector,
                     resolver: Resolver | None = None) -> Inspection:
    """The passes after reading: schema, semantics, other versions, model. Also for a
    document stored as JSON (a published version), whose problems have no lines."""
    check_schema(document, collector)
    questions = check_semantics(document, collector)
    check_versions(document, questions, resolver, collector)
    problems = tuple(sorted(collector.problems, key=lambda p: p.line))
    if collector.has_errors:
        return Inspection(None, document if isinstance(document, dict) else None, problems)
    return Inspection(build_questionnaire(document), document, problems)


def load_bytes(data: bytes, path: str, resolver: Resolver | None = None) -> Questionnaire:
    """The definition in `data` (named `path` in messages); raises DefinitionError."""
    inspection = inspect_bytes(data, path, resolver)
    if inspection.questionnaire is None:
        raise DefinitionError(list(inspection.problems))
    return inspection.questionnaire


def read_limited(path: Path) -> bytes:
    """Read at most one byte past the limit, so a huge file is refused without loading it."""
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def inspect_file(path: str | Path, resolver: Resolver | None = None) -> Inspection:
    """Like inspect_bytes; other versions default to sibling files `<dir>/<version>.yaml`."""
    from surveyapp.questionnaires.resolvers import folder_resolver

    path = Path(path)
    try:
        data = read_limited(path)
    except OSError as error:
        problem = Problem(str(path), 1, Message(N_("ファイルを読めません: %(error)s"),
                                                error=error.strerror or str(error)))
        return Inspection(None, None, (problem,))
    inspection = inspect_bytes(data, str(path), resolver or folder_resolver(path.parent))
    return with_name_check(inspection, path)


def with_name_check(inspection: Inspection, path: Path) -> Inspection:
    """Sibling lookup relies on `<id>/<version>.yaml`; a mismatch is worth a warning."""
    header = (inspection.document or {}).get("questionnaire")
    version = header.get("version") if isinstance(header, dict) else None
    if not isinstance(version, str) or path.stem == version:
        return inspection
    warning = Problem(str(path), 1, Message(
        N_("ファイル名 %(name)s が version (%(version)s) と違います (推奨: %(version)s.yaml)"),
        name=path.name, version=version), WARNING)
    return Inspection(inspection.questionnaire, inspection.document,
                      (warning, *inspection.problems))


def load_file(path: str | Path, resolver: Resolver | None = None) -> Questionnaire:
    inspection = inspect_file(path, resolver)
    if inspection.questionnaire is None:
        raise DefinitionError(list(inspection.problems))
    return inspection.questionnaire


def check_files(paths: list[str | Path]) -> list[Problem]:
    """Every problem (errors and warnings) of every file, in file order."""
    return [problem for path in paths for problem in inspect_file(path).problems]


def canonical_json(data: object) -> str:
    """The parsed document as JSON with sorted keys: equal documents, equal text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
