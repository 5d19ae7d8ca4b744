"""Pass 1: the JSON Schema (Draft 2020-12) shipped as package data."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING

from surveyapp.model import N_, Message
from surveyapp.questionnaires.problems import Collector, either

if TYPE_CHECKING:  # jsonschema is imported on first use: a server start never needs it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

TYPE_NAMES = {"string": N_("文字列"), "integer": N_("整数"), "number": N_("数値"),
              "object": N_("マッピング"), "array": N_("リスト")}
LITERAL_TYPE_NAMES = {"boolean": "true/false", "null": "null"}


@functools.cache
def validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    text = resources.files(__package__).joinpath("schema.json").read_text("utf-8")
    # tests/test_questionnaires_loader.py checks the schema against the metaschema;
    # doing it here cost every `questionnaires check` a tenth of its time.
    return Draft202012Validator(json.loads(text))


def check_schema(document: object, collector: Collector) -> None:
    for error in validator().iter_errors(document):
        report(most_specific(error), collector)


def most_specific(error: ValidationError) -> ValidationError:
    """For `anyOf` (choices: a set name or a list) report the branch that fits best."""
    from jsonschema.exceptions import best_match

    while error.context:
        error = best_match(error.context)
    return error


def report(error: ValidationError, collector: Collector) -> None:
    location = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        for key in unexpected_keys(error):
            collector.add((*location, key), Message(
                N_("不明なキー '%(key)s' です (使えるキー: %(allowed)s)"), key=key,
                allowed=", ".join(sorted(error.schema.get("properties", {})))))
        return
    collector.add(location, message_for(error))


def unexpected_keys(error: ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {})
    return sorted(key for key in error.instance if key not in allowed)


def message_for(error: ValidationError) -> Message:
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        return Message(N_("必須のキー %(key)s がありません"),
                       key=error.message.split(" is a required")[0])
    if keyword == "type":
        return type_message(expected, value)
    if keyword in ("enum", "const"):
        allowed = expected if keyword == "enum" else [expected]
        return Message(N_("%(value)s は使えません (使える値: %(allowed)s)"), value=repr(value),
                       allowed=", ".join(map(str, allowed)))
    if keyword == "pattern":
        return Message(N_("%(value)s は書式に合いません (パターン %(pattern)s)"),
                       value=repr(value), pattern=expected)
    if keyword in RANGE_MESSAGES:
        return Message(RANGE_MESSAGES[keyword], expected=expected)
    return Message("%(message)s", message=error.message)


RANGE_MESSAGES = {
    "minimum": N_("%(expected)s 以上にしてください"),
    "maximum": N_("%(expected)s 以下にしてください"),
    "minItems": N_("%(expected)s 個以上の要素が必要です"),
    "minLength": N_("空にはできません"),
    "maxLength": N_("%(expected)s 文字以内にしてください"),
    "uniqueItems": N_("同じ値が重複しています"),
}


def type_message(expected: str | list[str], value: object) -> Message:
    types = [expected] if isinstance(expected, str) else expected
    wanted = either([type_name(name) for name in types])
    if "string" in types and isinstance(value, int | float) and not isinstance(value, bool):
        return Message(N_("%(wanted)sが必要です。数値 %(value)s は引用符で囲んでください "
                          "(例: \"%(text)s\")"), wanted=wanted, value=repr(value), text=value)
    return Message(N_("%(wanted)sが必要です (実際は %(actual)s)"), wanted=wanted,
                   actual=describe(value))


def type_name(name: str) -> str:
    """A JSON type's name: a message for the words, the literal for true/false and null."""
    if name in TYPE_NAMES:
        return Message(TYPE_NAMES[name])
    return LITERAL_TYPE_NAMES.get(name, name)


def describe(value: object) -> str:
    if value is None:
        return Message(N_("空 (null)"))
    if isinstance(value, bool):
        return Message(N_("真偽値 %(value)s"), value=str(value).lower())
    if isinstance(value, dict | list):
        return Message(TYPE_NAMES["object" if isinstance(value, dict) else "array"])
    return f"{type(value).__name__} {value!r}"
