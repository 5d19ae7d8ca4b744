"""Pass 2: rules a JSON Schema cannot express (DESIGN.md §3). The rules of one
question type are its class's `check` (surveyapp.question_types)."""

from __future__ import annotations

from surveyapp.model import N_, BoolOp, Compare, Expr, Message, Not
from surveyapp.questionnaires.expressions import ExpressionError, parse_expression
from surveyapp.questionnaires.problems import Collector, Location
from surveyapp.questionnaires.views import (
    QuestionView,
    entries,
    mapping,
    number,
    question_views,
    string,
    version_key,
)


def check_semantics(document: object, collector: Collector) -> list[QuestionView]:
    """Run every semantic rule; returns the question views for the later passes."""
    document = mapping(document)
    questions = question_views(document)
    check_header(document, collector)
    check_bands(document, collector)
    check_unique(collector, [(loc, s.get("id")) for loc, s in entries(document, "sections")],
                 N_("セクション"))
    check_unique(collector, [(q.location, q.id) for q in questions], N_("設問"))
    check_choice_sets(document, questions, collector)
    for question in questions:
        check_question(question, collector)
    check_relevance(questions, collector)
    check_retired(document, questions, collector)
    return questions


def check_header(document: dict, collector: Collector) -> None:
    header = mapping(document.get("questionnaire"))
    version, previous = string(header.get("version")), string(header.get("previous_version"))
    if version and previous and version_key(previous) >= version_key(version):
        collector.add(("questionnaire", "previous_version"),
                      Message(N_("previous_version (%(previous)s) は version (%(version)s) "
                                 "より前の版にしてください"), previous=previous, version=version))


def check_unique(collector: Collector, items: list[tuple[Location, object]], what: str) -> None:
    """`what` is a msgid naming the kind of id. Ids are compared case-insensitively:
    `PWD-05` and `pwd-05` would collide in exports and spreadsheets."""
    seen: dict[str, str] = {}
    for location, item_id in items:
        if not isinstance(item_id, str):
            continue
        if item_id.casefold() in seen:
            collector.add((*location, "id"), Message(
                N_("%(what)s ID '%(id)s' が重複しています "
                   "('%(first)s' と大文字小文字を区別せず同じ)"),
                what=Message(what), id=item_id, first=seen[item_id.casefold()]))
        seen.setdefault(item_id.casefold(), item_id)


def check_bands(document: dict, collector: Collector) -> None:
    scoring = mapping(document.get("scoring"))
    bands = list(entries(scoring, "bands", ("scoring",)))
    check_unique(collector, [(loc, band.get("id")) for loc, band in bands], N_("評価区分"))
    seen: set[float] = set()
    for location, band in bands:
        minimum = number(band.get("min"))
        if minimum is not None and minimum in seen:
            collector.add((*location, "min"), Message(N_("評価区分の min %(min)s が重複しています"),
                                                      min=band["min"]))
        seen.add(minimum)
    if bands and 0 not in seen:
        collector.add(("scoring", "bands"), Message(N_("min: 0 の評価区分が 1 つ必要です "
                                                      "(どの得点にも区分が決まるように)")))


def check_choice_sets(document: dict, questions: list[QuestionView],
                      collector: Collector) -> None:
    sets = mapping(document.get("choice_sets"))
    used = {q.raw.get("choices") for q in questions if isinstance(q.raw.get("choices"), str)}
    for question in questions:
        name = question.raw.get("choices")
        if isinstance(name, str) and name not in sets:
            known = ", ".join(sorted(sets)) or Message(N_("なし"))
            collector.add((*question.location, "choices"), Message(
                N_("選択肢セット '%(name)s' は choice_sets にありません (定義済み: %(known)s)"),
                name=name, known=known))
    for name in sets:
        if name not in used:
            collector.warn(("choice_sets", name), Message(
                N_("選択肢セット '%(name)s' はどの設問にも使われていません"), name=name))


def check_question(question: QuestionView, collector: Collector) -> None:
    if question.kind is None:
        return  # the schema pass reported the missing or unknown type
    question.kind.check(question, collector)
    check_evidence_label(question, collector)


def check_evidence_label(question: QuestionView, collector: Collector) -> None:
    raw, location = question.raw, question.location
    if "evidence_label" in raw and raw.get("evidence", "none") == "none":
        collector.warn((*location, "evidence_label"),
                       Message(N_("evidence が none なので evidence_label は表示されません")))


def check_relevance(questions: list[QuestionView], collector: Collector) -> None:
    earlier: dict[str, QuestionView] = {}
    later = {question.id: question for question in questions}
    for question in questions:
        source = question.raw.get("relevant")
        if isinstance(source, str):
            check_expression(question, source, earlier, later, collector)
        earlier[question.id] = question


def check_expression(question: QuestionView, source: str, earlier: dict, later: dict,
                     collector: Collector) -> None:
    location = (*question.location, "relevant")
    try:
        expr = parse_expression(source)
    except ExpressionError as error:
        collector.add(location, Message(N_("relevant の式に誤りがあります: %(error)s"),
                                        error=Message.of(error)))
        return
    for compare in compare_nodes(expr):
        check_reference(question, compare, earlier, later, location, collector)


def compare_nodes(expr: Expr) -> list[Compare]:
    if isinstance(expr, BoolOp):
        return [node for operand in expr.operands for node in compare_nodes(operand)]
    if isinstance(expr, Not):
        return compare_nodes(expr.operand)
    return [expr]


def check_reference(question: QuestionView, compare: Compare, earlier: dict, later: dict,
                    location: Location, collector: Collector) -> None:
    ref = compare.ref
    if ref == question.id:
        collector.add(location, Message(N_("relevant が自分自身 {%(ref)s} を参照しています"),
                                        ref=ref))
    elif ref in later and ref not in earlier:
        collector.add(location, Message(N_("relevant は前にある設問だけを参照できます: "
                                           "{%(ref)s} は後ろにあります"), ref=ref))
    elif ref not in earlier:
        collector.add(location, Message(N_("relevant が参照する設問 {%(ref)s} がありません"),
                                        ref=ref))
    else:
        check_reference_target(question, compare, earlier[ref], location, collector)


def check_reference_target(question: QuestionView, compare: Compare, target: QuestionView,
                           location: Location, collector: Collector) -> None:
    if target.audience != question.audience:
        collector.add(location, Message(N_("{%(ref)s} は回答者 (%(audience)s) が違うため "
                                           "relevant に使えません"),
                                        ref=target.id, audience=target.audience))
    if target.is_choice and target.choices is not None:
        unknown = [value for value in compare.values if value not in target.values()]
        for value in unknown:
            collector.add(location, Message(
                N_("'%(value)s' は設問 %(id)s の選択肢の値ではありません (値: %(values)s)"),
                value=value, id=target.id, values=", ".join(sorted(target.values()))))


def check_retired(document: dict, questions: list[QuestionView], collector: Collector) -> None:
    current = {question.id.casefold() for question in questions}
    retired = list(entries(document, "retired"))
    check_unique(collector, [(loc, item.get("id")) for loc, item in retired], N_("廃止"))
    for location, item in retired:
        retired_id = string(item.get("id"))
        if retired_id and retired_id.casefold() in current:
            collector.add((*location, "id"), Message(
                N_("廃止した設問 ID '%(id)s' は設問として使えません"), id=retired_id))
        replacements = item.get("replaced_by")
        for index, new_id in enumerate(replacements if isinstance(replacements, list) else []):
            if isinstance(new_id, str) and new_id.casefold() not in current:
                collector.add((*location, "replaced_by", index), Message(
                    N_("replaced_by の設問 %(id)s がこの版にありません"), id=new_id))
