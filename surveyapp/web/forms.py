"""WTForms classes built at runtime from a questionnaire definition.

`build_form_class(questionnaire, audience, lang)` returns a FlaskForm subclass with a
field `q_<id>` per question of the audience (its type's builder in
`web.question_widgets`) and, for questions that take evidence, `e_<id>` (the note),
`el_<id>` (where the proof is kept) and `ed_<id>` (the date it is from). Attachments are
file inputs `ea_<id>` and checkboxes `ear_<id>` (the ids of attachments to remove),
drawn by the template and read by `read_uploads`/`read_removals`; the sections' boxes
"前年どおり確認した" are `confirm_<section id>` (`read_carry`).
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

from surveyapp import evidence as evidence_rules
from surveyapp import question_types
from surveyapp.evidence import AnswerEvidence, InvalidEvidence
from surveyapp.memo import ObjectMemo
from surveyapp.model import AnswerValue, BoolOp, Compare, Expr, Question, Questionnaire
from surveyapp.services.carry_over import CarryInput
from surveyapp.web.i18n import joined, refusal_text
from surveyapp.web.question_widgets import build_field

COPY_ACTION = "copy_previous"  # the form's button that copies last year's answers
CONFIRM_SHOWN = "confirm_shown"  # the form holds the sections' confirmation boxes


def field_name(question: Question) -> str:
    return f"q_{question.id}"


# The evidence's text fields per question: note, where the proof is kept, its date.
EVIDENCE_PREFIXES = ("e_", "el_", "ed_")


def evidence_name(question: Question) -> str:
    return f"e_{question.id}"


def anchor(question: Question) -> str:
    """The element an error about the question's answer links to."""
    return f"q_{question.id}-0" if question.choices else f"q_{question.id}"


def location_name(question: Question) -> str:
    return f"el_{question.id}"


def date_name(question: Question) -> str:
    return f"ed_{question.id}"


def upload_name(question: Question) -> str:
    return f"ea_{question.id}"


def removal_name(question: Question) -> str:
    return f"ear_{question.id}"


def confirm_name(section_id: str) -> str:
    return f"confirm_{section_id}"


def evidence_names(question: Question) -> tuple[str, ...]:
    """The text fields of a question's evidence, in the form's order."""
    return tuple(f"{prefix}{question.id}" for prefix in EVIDENCE_PREFIXES)


def evidence_label(question: Question, lang: str = "ja") -> str:
    label = question.evidence_label
    return label.get(lang) if label is not None else _default_evidence_label()


def _default_evidence_label() -> str:
    return _("根拠（確認日・記録の保管場所など）")


def _evidence_fields(question: Question, lang: str) -> dict[str, Field]:
    return {
        evidence_name(question): StringField(
            evidence_label(question, lang),
            render_kw={"maxlength": evidence_rules.MAX_NOTE_LENGTH, "autocomplete": "off"}),
        location_name(question): StringField(
            _("根拠の保管場所（台帳・文書番号・フォルダなど）"),
            render_kw={"maxlength": evidence_rules.MAX_LOCATION_LENGTH, "autocomplete": "off"}),
        date_name(question): StringField(
            _("根拠の日付（資料の作成日・確認日）"),
            render_kw={"type": "date", "min": evidence_rules.EARLIEST_DATE.isoformat()})}


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
            attributes.update(_evidence_fields(question, lang))
    return type(f"{audience.title()}Form", (FlaskForm,), attributes)


def formdata_for(answers: dict[str, AnswerValue | None],
                 evidence: dict[str, AnswerEvidence | None], prefix: str = "") -> MultiDict:
    """Stored answers as posted form data, so a form shows them like typed input
    (`prefix`: a system block's, web/system_blocks.py)."""
    data = MultiDict()
    for question_id, value in answers.items():
        for item in question_types.as_tuple(value):
            data.add(f"{prefix}q_{question_id}", item)
    for question_id, found in evidence.items():
        for part, text in zip(EVIDENCE_PREFIXES, evidence_rules.texts(found), strict=True):
            if text:
                data.add(f"{prefix}{part}{question_id}", text)
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


def read_answers(source: Any, questionnaire: Questionnaire, audience: str, prefix: str = ""
                 ) -> tuple[dict[str, AnswerValue | None], dict[str, AnswerEvidence | None],
                            dict[str, str]]:
    """(answers, evidence, errors) from a form instance or posted form data; `prefix`
    is a system block's, on the posted names only (the errors are keyed without it).

    Every question of the audience gets a key in `answers` (None when left empty) and,
    when it takes evidence, in `evidence`; `errors` maps field names to a message and
    leaves that answer (or that evidence) out, so a bad value never replaces a stored one.
    """
    posted = _getter(source)

    def values(name: str) -> list[str]:
        return posted(prefix + name)

    answers, evidence, errors = {}, {}, {}
    for question in questionnaire.questions_for(audience):
        try:
            answers[question.id] = question_types.of(question).coerce(
                question, values(field_name(question)))
        except question_types.InvalidAnswer as error:
            errors[field_name(question)] = refusal_text(error)
        if question.evidence != "none":
            _read_evidence(question, values, evidence, errors)
    return answers, evidence, errors


def _read_evidence(question: Question, values: Callable[[str], list[str]], evidence: dict,
                   errors: dict) -> None:
    """The note, location and date of one question; a part that cannot be stored keeps
    the whole evidence as stored (its error names the part)."""
    parts, problems = [], {}
    limits = (evidence_rules.MAX_NOTE_LENGTH, evidence_rules.MAX_LOCATION_LENGTH)
    for name, limit in zip(evidence_names(question)[:2], limits, strict=True):
        try:
            parts.append(evidence_rules.clean_text(_joined(values(name)), limit))
        except InvalidEvidence as error:
            problems[name] = refusal_text(error)
    try:
        parts.append(evidence_rules.parse_date(_joined(values(date_name(question)))))
    except InvalidEvidence as error:
        problems[date_name(question)] = refusal_text(error)
    if problems:
        errors.update(problems)
    else:
        evidence[question.id] = AnswerEvidence(*parts) or None


def _joined(raw: list[str]) -> str:
    return " ".join(part.strip() for part in raw if part.strip())


def read_uploads(files: Any, questionnaire: Questionnaire, audience: str,
                 max_bytes: int, prefix: str = "") -> dict[str, list[tuple[str, bytes]]]:
    """{question id: [(file name, content)]} of the files chosen per question; a file
    is read to one byte past `max_bytes`, enough to refuse it as too large. `prefix`:
    a system block's."""
    found: dict[str, list[tuple[str, bytes]]] = {}
    for question in questionnaire.questions_for(audience):
        if question.evidence == "none":
            continue
        for storage in files.getlist(prefix + upload_name(question)):
            data = storage.stream.read(max_bytes + 1)
            if storage.filename or data:  # a file input left empty sends an empty part
                found.setdefault(question.id, []).append((storage.filename or "", data))
    return found


def read_removals(form: Any, questionnaire: Questionnaire, audience: str,
                  prefix: str = "") -> dict[str, list[int]]:
    """{question id: ids of the attachments ticked for removal} (`prefix`: a system
    block's)."""
    found: dict[str, list[int]] = {}
    for question in questionnaire.questions_for(audience):
        ids = [int(v) for v in form.getlist(prefix + removal_name(question)) if v.isdigit()]
        if ids and question.evidence != "none":
            found[question.id] = ids
    return found


def read_carry(form: Any, questionnaire: Questionnaire, action: str | None) -> CarryInput:
    """The copy button and the sections ticked "前年どおり確認した" (unknown when the
    form did not show the boxes)."""
    confirmed = None
    if form.get(CONFIRM_SHOWN):
        confirmed = frozenset(section.id for section in questionnaire.sections
                              if form.get(confirm_name(section.id)))
    return CarryInput(copy=action == COPY_ACTION, confirmed=confirmed)


def answer_text(question: Question | None, value: AnswerValue | None, lang: str) -> str:
    """A stored value as the user saw it: choice labels, or the typed text."""
    if question_types.is_empty(value):
        return _("（未回答）")
    if question is None:  # an answer to a question the definition no longer has
        return question_types.MULTI_SEPARATOR.join(question_types.as_tuple(value))
    return joined(question_types.of(question).shown(question, value, lang))


def relevance_json(node: Expr) -> dict:
    """A `relevant` AST as plain JSON for static/form.js (walked there, never eval'd)."""
    if isinstance(node, Compare):
        return {"op": node.op, "ref": node.ref, "values": list(node.values)}
    if isinstance(node, BoolOp):
        return {"op": node.op, "operands": [relevance_json(o) for o in node.operands]}
    return {"op": "not", "operand": relevance_json(node.operand)}
