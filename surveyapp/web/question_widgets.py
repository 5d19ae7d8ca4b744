"""The WTForms field of each question type, looked up by type name.

Everything else about a type lives in its class in `surveyapp.question_types`; its
answer control is drawn by the macro of the same name in
`templates/question_widgets.html`. `web.forms` builds the form classes from these.
"""

from __future__ import annotations

from collections.abc import Callable

from wtforms import (
    DateField,
    Field,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)

from surveyapp import question_types
from surveyapp.model import Question


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _choices(question: Question, lang: str) -> list[SelectChoice]:
    return [SelectChoice(choice.value, choice.label.get(lang)) for choice in question.choices]


def _radio(question: Question, lang: str) -> Field:
    # Choice validity is checked by the type's coerce (one Japanese message for all).
    return RadioField(question.text.get(lang), choices=_choices(question, lang),
                      validate_choice=False)


def _checkboxes(question: Question, lang: str) -> Field:
    return MultiCheckboxField(question.text.get(lang), choices=_choices(question, lang),
                              validate_choice=False)


def _number(question: Question, lang: str) -> Field:
    return StringField(question.text.get(lang), render_kw={
        "inputmode": "decimal", "autocomplete": "off",
        "maxlength": question_types.MAX_NUMBER_LENGTH})


def _date(question: Question, lang: str) -> Field:
    return DateField(question.text.get(lang))


def _text(question: Question, lang: str) -> Field:
    return TextAreaField(question.text.get(lang), render_kw={
        "rows": 4, "maxlength": question_types.MAX_TEXT_LENGTH})


BUILDERS: dict[str, Callable[[Question, str], Field]] = {
    "single_choice": _radio,
    "multi_choice": _checkboxes,
    "quiz": _radio,
    "number": _number,
    "date": _date,
    "text": _text,
}


def build_field(question: Question, lang: str) -> Field:
    """The unbound field of `question`, labelled in `lang`."""
    return BUILDERS[question.type](question, lang)
