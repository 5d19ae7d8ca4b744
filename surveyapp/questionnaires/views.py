"""Defensive read access to a parsed (possibly schema-invalid) document.

The semantic and compatibility passes run even when the schema pass found errors, so
that every problem is reported at once; these helpers skip whatever has the wrong shape
(the schema pass already reported it) instead of crashing on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from surveyapp import question_types
from surveyapp.questionnaires.problems import Location


def mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def number(value: object) -> float | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None


def entries(container: object, key: str, location: Location = ()) -> Iterator[tuple]:
    """(location, mapping) for each mapping in the list `container[key]`."""
    items = mapping(container).get(key)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield (*location, key, index), item


def version_key(version: str) -> tuple:
    """Natural order: 2021.10 sorts after 2021.9, 2021.1 after 2020.3."""
    parts = re.findall(r"\d+|\D+", version)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts)


@dataclass(frozen=True)
class ChoiceView:
    location: Location
    value: str
    score: float | None
    has_score: bool
    correct: bool


@dataclass(frozen=True)
class QuestionView:
    location: Location
    section_location: Location
    id: str
    type: str | None
    audience: str | None
    raw: dict
    choices: tuple[ChoiceView, ...] | None  # None: no usable choices given

    @property
    def kind(self) -> question_types.QuestionType | None:
        """The question's type; None when the schema pass reported it unknown."""
        return question_types.REGISTRY.get(self.type) if self.type else None

    @property
    def is_choice(self) -> bool:
        return self.kind is not None and self.kind.has_choices

    @property
    def weight(self) -> float:
        given = number(self.raw.get("weight"))
        return given if given is not None else (self.kind.default_weight if self.kind
                                                else 0.0)

    def values(self) -> set[str]:
        return {choice.value for choice in self.choices or ()}


def choice_views(items: object, location: Location) -> tuple[ChoiceView, ...] | None:
    if not isinstance(items, list):
        return None
    views = []
    for index, item in enumerate(items):
        item = mapping(item)
        value = string(item.get("value"))
        if value is not None:
            views.append(ChoiceView((*location, index), value, number(item.get("score")),
                                    "score" in item, item.get("correct") is True))
    return tuple(views)


def resolve_choices(document: dict, raw: dict, location: Location) -> tuple | None:
    choices = raw.get("choices")
    if isinstance(choices, str):
        sets = mapping(document.get("choice_sets"))
        return choice_views(sets.get(choices), ("choice_sets", choices))
    return choice_views(choices, (*location, "choices"))


def question_views(document: object) -> list[QuestionView]:
    """Every question with an id, in document order."""
    document = mapping(document)
    views = []
    for section_location, section in entries(document, "sections"):
        for location, raw in entries(section, "questions", section_location):
            question_id = string(raw.get("id"))
            if question_id is None:
                continue
            audience = string(raw.get("audience")) or string(section.get("audience"))
            views.append(QuestionView(location, section_location, question_id,
                                      string(raw.get("type")), audience, raw,
                                      resolve_choices(document, raw, location)))
    return views
