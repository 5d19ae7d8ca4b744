"""Ways to find other versions of a questionnaire for the cross-version checks.

A resolver is `(questionnaire_id, version) -> Questionnaire | None`; it may raise
DefinitionError when that version exists but is itself invalid.
"""

from __future__ import annotations

from pathlib import Path

from surveyapp.model import Questionnaire
from surveyapp.questionnaires.compatibility import Resolver
from surveyapp.questionnaires.views import version_key


def folder_resolver(directory: str | Path) -> Resolver:
    """Versions read from `<directory>/<version>.yaml`, each loaded once.

    Loading a version checks it against its own previous version through the same
    resolver; versions only point backwards, and `loading` stops a hand-made cycle.
    """
    from surveyapp.questionnaires.loader import load_file

    directory = Path(directory)
    cache: dict[str, Questionnaire | None] = {}
    loading: set[str] = set()

    def resolve(questionnaire_id: str, version: str) -> Questionnaire | None:
        if version in loading or not safe_version(version):
            return None
        if version not in cache:
            candidate = directory / f"{version}.yaml"
            loading.add(version)
            try:
                cache[version] = load_file(candidate, resolve) if candidate.is_file() else None
            finally:
                loading.discard(version)
        found = cache[version]
        return found if found is not None and found.id == questionnaire_id else None

    return resolve


def safe_version(version: str) -> bool:
    """Only plain version names become file names (no `..`, no separators)."""
    return bool(version) and version[0].isdigit() and "/" not in version and \
        "\\" not in version and ".." not in version and version_key(version) is not None


def chain(*resolvers: Resolver | None) -> Resolver:
    """The first resolver that knows the version wins (e.g. database, then folder)."""
    active = [resolver for resolver in resolvers if resolver is not None]

    def resolve(questionnaire_id: str, version: str) -> Questionnaire | None:
        for resolver in active:
            found = resolver(questionnaire_id, version)
            if found is not None:
                return found
        return None

    return resolve


def no_versions(_questionnaire_id: str, _version: str) -> None:
    """A resolver that knows no other version: any previous_version is reported missing."""
    return None
