"""What the self-check pages show (web/views/responses.py): the form's context (its
blocks, last year's answers, carry-over marks, attachments, error labels, a conflict's
differences), the answer rows of the confirmation and result pages, the fields the
confirmation carries through, and the history rows as shown.

Plain helpers, no routes: each reads the request and the database as its page needs.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from surveyapp import audiences, clock, evidence, question_types, scoring
from surveyapp.model import Question, Questionnaire
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels import register
from surveyapp.readmodels.previous_answers import previous_response
from surveyapp.services import accounts, self_check
from surveyapp.services import responses as service
from surveyapp.store import carry_over as carry_store
from surveyapp.store import departments as department_store
from surveyapp.store import responses as response_store
from surveyapp.web import attachment_forms, forms, system_blocks
from surveyapp.web.db import get_db
from surveyapp.web.i18n import evidence_text, joined, select_locale

AUDIENCE = audiences.form_audience(audiences.SELF_CHECK)  # whose questions the form asks


def form_context(state: dict, formdata, answers: dict, errors: dict,
                  conflict: service.StoredResponse | None) -> dict:
    questionnaire, lang = state["questionnaire"], select_locale()
    form = forms.build_form_class(questionnaire, AUDIENCE, lang)(formdata=formdata)
    questions = questionnaire.questions_for(AUDIENCE)
    blocks = form_blocks(state)
    return {"form": form, "lang": lang,
            "sections": questionnaire.sections_for(AUDIENCE),
            "relevant": {q.id: q.is_relevant(answers) for q in questions},
            "relevance": {q.id: forms.relevance_json(q.relevant)
                          for q in questionnaire.questions if q.relevant is not None},
            "anchors": {**{forms.field_name(q): forms.anchor(q) for q in questions},
                        **{forms.upload_name(q): forms.upload_name(q) for q in questions},
                        **system_blocks.anchors(questionnaire, blocks)},
            "blocks": system_blocks.block_views(
                questionnaire, blocks, _register_views(blocks), answers, lang,
                request.form if request.method == "POST" else None, errors,
                _block_conflicts(questionnaire, conflict, blocks),
                _block_evidence(state, blocks, lang)),
            "system_sections": questionnaire.sections_for(self_check.SYSTEM),
            "labels": system_blocks.register_labels(),
            **_evidence_context(state, lang)}


def form_blocks(state: dict) -> list[self_check.Block]:
    response = state["response"]
    if response is None:
        return []
    return self_check.blocks(get_db(), state["round"]["id"], state["round"]["fiscal_year"],
                             state["department"]["code"], state["questionnaire"])


def _register_views(blocks: list[self_check.Block]) -> dict:
    """Each block's register facts and warnings, from the register row the block holds
    (the 所属 table is read once for the page, not once per block)."""
    departments = department_store.departments_by_code(get_db())
    return {block.code: register.registered(block.system, departments, _this_year(),
                                            clock.today()) for block in blocks}


def _this_year() -> int:
    return accounts.fiscal_year_of(clock.today())


def _evidence_context(state: dict, lang: str) -> dict:
    """Last year's answers, the carry-over marks, the confirmed sections, the
    attachments and their limits, for the form's evidence and carry-over parts."""
    db, response = get_db(), state["response"]
    earlier = previous_response(db, state["round"]["id"], state["department"]["code"],
                                state["questionnaire"], AUDIENCE)
    return {"previous": _previous_view(earlier, lang) if earlier else {},
            "previous_round": earlier.round if earlier else None,
            "marks": carry_store.answer_marks(db, response["id"]),
            "confirmed_sections": _confirmed_sections(state),
            "attachments": answer_reads.attachments_of(db, response["id"]),
            "attachments_allowed": bool(state["round"]["attachments_allowed"]),
            "today": evidence.today().isoformat(),
            "file_limit": attachment_forms.file_limit(),
            "request_limit": attachment_forms.request_limit(),
            "accept": attachment_forms.accept_attribute(),
            "accepted_kinds": attachment_forms.accepted_kinds()}


def _block_evidence(state: dict, blocks: list[self_check.Block], lang: str) -> dict:
    """Per system block: that system's answers last year, the carry-over marks and the
    attachments of its answers (as `_evidence_context` for the 所属's own)."""
    db, found = get_db(), {}
    for block in blocks:
        earlier = previous_response(db, state["round"]["id"], state["department"]["code"],
                                    state["questionnaire"], self_check.SYSTEM, block.code)
        response_id = block.response["id"] if block.response else None
        found[block.code] = {
            "previous": _previous_view(earlier, lang) if earlier else {},
            "previous_round": earlier.round if earlier else None,
            "marks": carry_store.answer_marks(db, response_id) if response_id else {},
            "attachments": answer_reads.attachments_of(db, response_id) if response_id else {}}
    return found


def _confirmed_sections(state: dict) -> frozenset[str]:
    """As posted (a re-rendered form keeps what was ticked), else as stored."""
    if request.method == "POST":
        posted = forms.read_carry(request.form, state["questionnaire"], None).confirmed
        if posted is not None:
            return posted
    return frozenset(carry_store.confirmed_sections(get_db(), state["response"]["id"]))


def _previous_view(earlier, lang: str) -> dict[str, dict]:
    """Per question: last year's answer as shown, its evidence, and the relation."""
    shown = {}
    for question_id, found in earlier.answers.items():
        shown[question_id] = {
            "answer": joined(forms.answer_text(q, v, lang) for q, v in zip(
                found.questions, found.values, strict=True)),
            "evidence": [e for e in found.evidence if e],
            "relation": found.relation, "changed": found.changed,
            "from_ids": [q.id for q in found.questions],
            "answered": found.answered,
            "copyable": found.comparable and found.answered}
    return shown


def error_labels(questionnaire: Questionnaire, errors: dict) -> dict[str, str]:
    """What each error of the summary is about: the question (and which part of its
    evidence) or the section; the 前年度の改善状況 block's fields carry their own."""
    parts = {"q": "", "e": _("（根拠）"), "el": _("（根拠の保管場所）"),
             "ed": _("（根拠の日付）"), "ea": _("（添付ファイル）")}
    labels = {}
    for name in errors:
        system_code, field = system_blocks.split_field(name)
        prefix, _sep, key = field.partition("_")
        section = questionnaire.section(key) if prefix == "confirm" else None
        if section is not None:
            labels[name] = section.title.get(select_locale())
        elif prefix in parts and questionnaire.question(key):
            labels[name] = " ".join(part for part in (system_code, key, parts[prefix]) if part)
    return labels


def conflict_view(questionnaire: Questionnaire, conflict: service.StoredResponse | None,
                   mine: dict) -> dict | None:
    """Per question, the other person's saved answer and evidence where they differ
    from the input."""
    if conflict is None:
        return None
    differences = _differences(questionnaire, AUDIENCE, (conflict.answers, conflict.evidence),
                               mine, "")
    return {**differences, "updated_at": conflict.updated_at}


def _block_conflicts(questionnaire: Questionnaire, conflict: service.StoredResponse | None,
                     blocks: list[self_check.Block]) -> dict[str, dict]:
    """The other person's saved block answers that differ from the posted ones."""
    if conflict is None:
        return {}
    result = {}
    for block in blocks:
        prefix = self_check.field_prefix(block.code)
        mine = forms.read_answers(request.form, questionnaire, self_check.SYSTEM, prefix)[0]
        result[block.code] = _differences(
            questionnaire, self_check.SYSTEM, conflict.systems.get(block.code, ({}, {})),
            mine, prefix)
    return result


def _differences(questionnaire: Questionnaire, audience: str, theirs: tuple[dict, dict],
                 mine: dict, prefix: str) -> dict:
    lang = select_locale()
    answers, stored_evidence = theirs
    values, notes = {}, {}
    for question in questionnaire.questions_for(audience):
        saved = answers.get(question.id)
        if saved != mine.get(question.id) and not (saved is None and question.id not in mine):
            values[question.id] = forms.answer_text(question, saved, lang)
        stored = stored_evidence.get(question.id)
        typed = tuple(request.form.get(prefix + name, "").strip()
                      for name in forms.evidence_names(question))
        if evidence.texts(stored) != typed:
            notes[question.id] = evidence_text(stored) or _("（未入力）")
    return {"values": values, "evidence": notes}


def hidden_fields(questionnaire: Questionnaire,
                   blocks: list[self_check.Block]) -> list[tuple[str, str]]:
    """The posted answers, evidence and section confirmations of this form (and of its
    blocks), to carry through the confirmation page (files and removals were saved with
    the draft)."""
    names = {forms.CONFIRM_SHOWN, system_blocks.POSTED_BLOCKS}
    prefixes = ["", *(self_check.field_prefix(block.code) for block in blocks)]
    for question in questionnaire.questions_for(AUDIENCE) + questionnaire.questions_for(
            self_check.SYSTEM):
        for prefix in prefixes:
            names.update(prefix + name for name in (forms.field_name(question),
                                                    *forms.evidence_names(question)))
    names.update(forms.confirm_name(section.id) for section in questionnaire.sections)
    return [(name, value) for name in request.form if name in names
            for value in request.form.getlist(name)]


def block_rows(questionnaire: Questionnaire, blocks: list[self_check.Block],
                department: dict) -> list[dict]:
    """Per block: the system and its answer rows (the department answers are its
    `relevant` context)."""
    return [{"block": block, "rows": answer_view(
        questionnaire, block.answers, block.evidence,
        block.response["id"] if block.response else None, self_check.SYSTEM, department)}
        for block in blocks]


def answer_view(questionnaire: Questionnaire, answers: dict, evidence: dict,
                 response_id: int | None, audience: str = AUDIENCE,
                 context: dict | None = None) -> list[dict]:
    """One row per question: the answer, its points, its evidence, attachments and
    carry-over marks (copied from last year, re-confirmed); `context`: other answers
    `relevant` reads (a system block's 所属)."""
    lang = select_locale()
    known = {**(context or {}), **answers}
    files = answer_reads.attachments_of(get_db(), response_id) if response_id else {}
    marks = carry_store.answer_marks(get_db(), response_id) if response_id else {}
    rows = []
    for section in questionnaire.sections_for(audience):
        for question in section.questions:
            value = answers.get(question.id)
            relevant = question.is_relevant(known)
            rows.append({"section": section, "question": question, "relevant": relevant,
                         "answer": forms.answer_text(question, value, lang),
                         "points": scoring.answer_points(question, value)
                         if relevant and question.scored else None,
                         "evidence": evidence.get(question.id),
                         "attachments": files.get(question.id, []),
                         "marks": marks.get(question.id, {}),
                         "explanation": question.explanation
                         if question_types.of(question).has_correct_answers else None})
    return rows


def labelled_history(entries: list[dict]) -> list[dict]:
    """History rows with the values shown as the choice labels of their round, the
    evidence on one line and the attachments by name (removed ones too)."""
    lang, definitions = select_locale(), {}
    files = answer_reads.attachments_by_id(get_db(), [
        link for entry in entries for key in ("old_attachments", "new_attachments")
        for link in answer_reads.history_ids(entry[key])])
    for entry in entries:
        for side in ("old", "new"):
            entry[f"{side}_evidence_text"] = evidence_text(evidence.AnswerEvidence(
                entry[f"{side}_evidence"], entry[f"{side}_evidence_location"],
                entry[f"{side}_evidence_date"]))
            entry[f"{side}_files"] = [files[link] for link in
                                      answer_reads.history_ids(entry[f"{side}_attachments"])
                                      if link in files]
        round_id = entry["round_id"]
        if round_id not in definitions:
            definitions[round_id] = service.definition_for(
                get_db(), response_store.get_round(get_db(), round_id))
        question = definitions[round_id].question(entry["question_id"])
        for key in ("old_value", "new_value"):
            entry[f"{key}_text"] = _stored_text(question, entry[key], lang)
    return entries


def _stored_text(question: Question | None, text: str | None, lang: str) -> str:
    if text is None:
        return _("（未回答）")
    value = question_types.of(question).from_text(question, text) if question else text
    return forms.answer_text(question, value, lang)
