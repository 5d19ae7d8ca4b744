"""WTForms classes built at runtime from a questionnaire definition.

`build_form_class(questionnaire, audience, lang)` returns a FlaskForm subclass with a
field `q_<id>` per question of the audience (its type's builder in
`web.question_widgets`) and `e_<id>` for the evidence note of questions that take one.
`read_answers` turns posted data into model values with the question type's `coerce`
(`surveyapp.question_types`), so the web form and the stored values never disagree
about what is valid.
CSRF is checked for every POST by the app-wide CSRFProtect, so these forms leave it off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, StringField

from surveyapp import question_types
from surveyapp.memo import ObjectMemo
from surveyapp.model import AnswerValue, BoolOp, Compare, Expr, Question, Questionnaire
from surveyapp.services.responses import MAX_EVIDENCE_LENGTH
from surveyapp.web.i18n import refusal_text
from surveyapp.web.question_widgets import build_field


def field_name(question: Question) -> str:
    return f"q_{question.id}"


def evidence_name(question: Question) -> str:
    return f"e_{question.id}"


def evidence_label(question: Question, lang: str = "ja") -> str:
    label = question.evidence_label
    return label.get(lang) if label is not None else _default_evidence_label()


def _default_evidence_label() -> str:
    return _("根拠（確認日・記録の保管場所など）")


def _evidence_field(question: Question, lang: str) -> Field:
    return StringField(evidence_label(question, lang),
                       render_kw={"maxlength": MAX_EVIDENCE_LENGTH, "autocomplete": "off"})


# Built classes per questionnaire object (the loaded definitions are immutable and
# cached), audience and language: a class of 70 fields took 0.35 ms to build on every
# form page, and its first instance as long again (bench/README.md). Forms are
# instantiated per request from the class; nothing in a class changes afterwards.
_form_classes = ObjectMemo(16)


def build_form_class(questionnaire: Questionnaire, audience: str,
                     lang: str = "ja") -> type[FlaskForm]:
    """A FlaskForm subclass for the questions of `audience`, in definition order; the
    same class for the same questionnaire object, audience and language (and the
    translation of the one label that comes from the catalog)."""
    return _form_classes.get(questionnaire, (audience, lang, _default_evidence_label()),
                             lambda: _new_form_class(questionnaire, audience, lang))


def _new_form_class(questionnaire: Questionnaire, audience: str,
                    lang: str) -> type[FlaskForm]:
    attributes: dict[str, Any] = {"Meta": type("Meta", (), {"csrf": False})}
    for question in questionnaire.questions_for(audience):
        attributes[field_name(question)] = build_field(question, lang)
        if question.evidence != "none":
            attributes[evidence_name(question)] = _evidence_field(question, lang)
    return type(f"{audience.title()}Form", (FlaskForm,), attributes)


def formdata_for(answers: dict[str, AnswerValue | None],
                 evidence: dict[str, str | None]) -> MultiDict:
    """Stored answers as posted form data, so a form shows them like typed input."""
    data = MultiDict()
    for question_id, value in answers.items():
        for item in question_types.as_tuple(value):
            data.add(f"q_{question_id}", item)
    for question_id, note in evidence.items():
        if note:
            data.add(f"e_{question_id}", note)
    return data


def _getter(source: Any) -> Callable[[str], list[str]]:
    if hasattr(source, "getlist"):
        return lambda name: [str(v) for v in source.getlist(name)]
    return lambda name: _field_values(source, name)


def _field_values(form: FlaskForm, name: str) -> list[str]:
    if name not in form:
        return []
    field = form[name]
    if field.raw_data is not None:
        return [str(v) for v in field.raw_data]
    data = field.data
    if data is None:
        return []
    return [str(v) for v in data] if isinstance(data, list | tuple) else [str(data)]


def read_answers(source: Any, questionnaire: Questionnaire, audience: str
                 ) -> tuple[dict[str, AnswerValue | None], dict[str, str | None],
                            dict[str, str]]:
    """(answers, evidence, errors) from a form instance or posted form data.

    Every question of the audience gets a key in `answers` (None when left empty);
    `errors` maps field names to a message and leaves that answer out, so a bad value
    never replaces a stored one.
    """
    values = _getter(source)
    answers, evidence, errors = {}, {}, {}
    for question in questionnaire.questions_for(audience):
        try:
            answers[question.id] = question_types.of(question).coerce(
                question, values(field_name(question)))
        except question_types.InvalidAnswer as error:
            errors[field_name(question)] = refusal_text(error)
        if question.evidence != "none":
            _read_evidence(question, values(evidence_name(question)), evidence, errors)
    return answers, evidence, errors


def _read_evidence(question: Question, raw: list[str], evidence: dict,
                   errors: dict) -> None:
    note = " ".join(part.strip() for part in raw if part.strip())
    if "\x00" in note:
        errors[evidence_name(question)] = _("使用できない文字が含まれています。")
    elif len(note) > MAX_EVIDENCE_LENGTH:
        errors[evidence_name(question)] = _(
            "%(n)d文字以内で入力してください（現在 %(count)d文字）。",
            n=MAX_EVIDENCE_LENGTH, count=len(note))
    else:
        evidence[question.id] = note or None


def relevance_json(node: Expr) -> dict:
    """A `relevant` AST as plain JSON for static/form.js (walked there, never eval'd)."""
    if isinstance(node, Compare):
        return {"op": node.op, "ref": node.ref, "values": list(node.values)}
    if isinstance(node, BoolOp):
        return {"op": node.op, "operands": [relevance_json(o) for o in node.operands]}
    return {"op": "not", "operand": relevance_json(node.operand)}
