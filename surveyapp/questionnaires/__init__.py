"""Questionnaire definitions: load YAML, validate in three passes, build the model.

Public API (imports only `surveyapp.model`):

- `load_file(path, resolver=None)` / `load_bytes(data, path, resolver=None)` ->
  `model.Questionnaire`, raising `DefinitionError` whose `.problems` lists every
  `Problem(path, line, message, severity)`.
- `inspect_file` / `inspect_bytes` -> `Inspection` (model or None, the parsed document,
  all problems incl. warnings) without raising; `inspect_document(document,
  Collector(path))` runs the passes after reading on a document already parsed.
- `check_files(paths)` -> every problem of every file.
- `canonical_json(document)` -> sorted-key JSON text of a parsed document.
- Resolvers for other versions: `folder_resolver(dir)`, `chain(...)`, `no_versions`.
- The `relevant` language: `parse_expression`, `format_expression`, `ExpressionError`.
"""

from surveyapp.questionnaires.compatibility import Resolver
from surveyapp.questionnaires.expressions import (
    ExpressionError,
    format_expression,
    parse_expression,
)
from surveyapp.questionnaires.loader import (
    Inspection,
    canonical_json,
    check_files,
    inspect_bytes,
    inspect_document,
    inspect_file,
    load_bytes,
    load_file,
    read_limited,
)
from surveyapp.questionnaires.problems import ERROR, WARNING, Collector, DefinitionError, Problem
from surveyapp.questionnaires.reader import MAX_BYTES
from surveyapp.questionnaires.resolvers import chain, folder_resolver, no_versions

__all__ = [
    "ERROR", "MAX_BYTES", "WARNING", "Collector", "DefinitionError", "ExpressionError",
    "Inspection", "Problem", "Resolver", "canonical_json", "chain", "check_files",
    "folder_resolver", "format_expression", "inspect_bytes", "inspect_document",
    "inspect_file", "load_bytes", "load_file",
    "no_versions", "parse_expression", "read_limited",
]
