"""Pass 1: the JSON Schema (Draft 2020-12) shipped as package data."""

from __future__ import annotations

import functools
import json
from importlib import resources

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from surveyapp.questionnaires.problems import Collector

TYPE_NAMES = {"string": "文字列", "integer": "整数", "number": "数値", "object": "マッピング",
              "array": "リスト", "boolean": "true/false", "null": "null"}


@functools.cache
def validator() -> Draft202012Validator:
    text = resources.files(__package__).joinpath("schema.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_schema(document: object, collector: Collector) -> None:
    for error in validator().iter_errors(document):
        report(most_specific(error), collector)


def most_specific(error: ValidationError) -> ValidationError:
    """For `anyOf` (choices: a set name or a list) report the branch that fits best."""
    while error.context:
        error = best_match(error.context)
    return error


def report(error: ValidationError, collector: Collector) -> None:
    location = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        for key in unexpected_keys(error):
            collector.add((*location, key), f"不明なキー '{key}' です (使えるキー: "
                          f"{', '.join(sorted(error.schema.get('properties', {})))})")
        return
    collector.add(location, message_for(error))


def unexpected_keys(error: ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {})
    return sorted(key for key in error.instance if key not in allowed)


def message_for(error: ValidationError) -> str:
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required":
        return f"必須のキー {error.message.split(' is a required')[0]} がありません"
    if keyword == "type":
        return type_message(expected, value)
    if keyword in ("enum", "const"):
        allowed = expected if keyword == "enum" else [expected]
        return f"{value!r} は使えません (使える値: {', '.join(map(str, allowed))})"
    if keyword == "pattern":
        return f"{value!r} は書式に合いません (パターン {expected})"
    return RANGE_MESSAGES.get(keyword, "{message}").format(
        expected=expected, message=error.message)


RANGE_MESSAGES = {
    "minimum": "{expected} 以上にしてください",
    "maximum": "{expected} 以下にしてください",
    "minItems": "{expected} 個以上の要素が必要です",
    "minLength": "空にはできません",
    "maxLength": "{expected} 文字以内にしてください",
    "uniqueItems": "同じ値が重複しています",
}


def type_message(expected: str | list[str], value: object) -> str:
    names = [TYPE_NAMES.get(name, name) for name in
             ([expected] if isinstance(expected, str) else expected)]
    wanted = " または ".join(names)
    if "string" in ([expected] if isinstance(expected, str) else expected) and \
            isinstance(value, int | float) and not isinstance(value, bool):
        return f"{wanted}が必要です。数値 {value!r} は引用符で囲んでください (例: \"{value}\")"
    return f"{wanted}が必要です (実際は {describe(value)})"


def describe(value: object) -> str:
    if value is None:
        return "空 (null)"
    if isinstance(value, bool):
        return f"真偽値 {str(value).lower()}"
    if isinstance(value, dict | list):
        return TYPE_NAMES["object" if isinstance(value, dict) else "array"]
    return f"{type(value).__name__} {value!r}"
