"""Pass 2: rules a JSON Schema cannot express (DESIGN.md §3)."""

from __future__ import annotations

from surveyapp.model import QUESTION_TYPES, BoolOp, Compare, Expr, Not
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
                 "セクション")
    check_unique(collector, [(q.location, q.id) for q in questions], "設問")
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
                      f"previous_version ({previous}) は version ({version}) より前の版に"
                      "してください")


def check_unique(collector: Collector, items: list[tuple[Location, object]], what: str) -> None:
    """Ids are compared case-insensitively: `PWD-05` and `pwd-05` would collide in
    exports and spreadsheets."""
    seen: dict[str, str] = {}
    for location, item_id in items:
        if not isinstance(item_id, str):
            continue
        if item_id.casefold() in seen:
            collector.add((*location, "id"), f"{what} ID '{item_id}' が重複しています "
                          f"('{seen[item_id.casefold()]}' と大文字小文字を区別せず同じ)")
        seen.setdefault(item_id.casefold(), item_id)


def check_bands(document: dict, collector: Collector) -> None:
    scoring = mapping(document.get("scoring"))
    bands = list(entries(scoring, "bands", ("scoring",)))
    check_unique(collector, [(loc, band.get("id")) for loc, band in bands], "評価区分")
    seen: set[float] = set()
    for location, band in bands:
        minimum = number(band.get("min"))
        if minimum is not None and minimum in seen:
            collector.add((*location, "min"), f"評価区分の min {band['min']} が重複しています")
        seen.add(minimum)
    if bands and 0 not in seen:
        collector.add(("scoring", "bands"), "min: 0 の評価区分が 1 つ必要です "
                      "(どの得点にも区分が決まるように)")


def check_choice_sets(document: dict, questions: list[QuestionView],
                      collector: Collector) -> None:
    sets = mapping(document.get("choice_sets"))
    used = {q.raw.get("choices") for q in questions if isinstance(q.raw.get("choices"), str)}
    for question in questions:
        name = question.raw.get("choices")
        if isinstance(name, str) and name not in sets:
            known = ", ".join(sorted(sets)) or "なし"
            collector.add((*question.location, "choices"),
                          f"選択肢セット '{name}' は choice_sets にありません (定義済み: {known})")
    for name in sets:
        if name not in used:
            collector.warn(("choice_sets", name),
                           f"選択肢セット '{name}' はどの設問にも使われていません")


def check_question(question: QuestionView, collector: Collector) -> None:
    if question.type not in QUESTION_TYPES:
        return  # the schema pass reported the missing or unknown type
    if question.is_choice:
        check_choices(question, collector)
    else:
        check_free_input(question, collector)
    check_optional_texts(question, collector)


def check_free_input(question: QuestionView, collector: Collector) -> None:
    if "choices" in question.raw:
        collector.add((*question.location, "choices"),
                      f"{question.type} 型の設問に choices は書けません")
    if question.weight > 0:
        collector.add((*question.location, "weight"),
                      f"{question.type} 型の設問は採点できません (schema_version 1)。"
                      "weight: 0 にするか省略してください")


def check_choices(question: QuestionView, collector: Collector) -> None:
    location = question.location
    if "choices" not in question.raw:
        collector.add(location, f"{question.type} 型の設問には choices が必要です")
        return
    choices = question.choices or ()
    check_unique_values(question, collector)
    if question.type == "quiz":
        check_quiz(question, collector)
        return
    for choice in choices:
        if choice.correct:
            collector.add((*choice.location, "correct"), "correct は quiz 型の設問だけで使えます")
        if not choice.has_score:
            collector.add(choice.location, f"選択肢 '{choice.value}' に score がありません "
                          "(該当なしは score: null)")
    positive = any((choice.score or 0) > 0 for choice in choices)
    if choices and question.weight > 0 and not positive:
        collector.warn(location, "weight が 0 より大きいのに、正の score の選択肢がないため"
                       "採点されません")


def check_unique_values(question: QuestionView, collector: Collector) -> None:
    seen: set[str] = set()
    for choice in question.choices or ():
        if choice.value.casefold() in seen:
            collector.add((*choice.location, "value"),
                          f"設問 {question.id} の選択肢の値 '{choice.value}' が重複しています")
        seen.add(choice.value.casefold())


def check_quiz(question: QuestionView, collector: Collector) -> None:
    choices = question.choices or ()
    if choices and not any(choice.correct for choice in choices):
        collector.add((*question.location, "choices"),
                      "quiz 型の設問には correct: true の選択肢が 1 つ以上必要です")
    for choice in choices:
        if choice.has_score:
            collector.warn((*choice.location, "score"), "quiz 型の選択肢の score は使われません "
                           "(正解 1、それ以外 0)")


def check_optional_texts(question: QuestionView, collector: Collector) -> None:
    raw, location = question.raw, question.location
    if "explanation" in raw and question.type != "quiz":
        collector.warn((*location, "explanation"), "explanation は quiz 型の設問だけで表示されます")
    if "evidence_label" in raw and raw.get("evidence", "none") == "none":
        collector.warn((*location, "evidence_label"),
                       "evidence が none なので evidence_label は表示されません")


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
        collector.add(location, f"relevant の式に誤りがあります: {error}")
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
        collector.add(location, f"relevant が自分自身 {{{ref}}} を参照しています")
    elif ref in later and ref not in earlier:
        collector.add(location, "relevant は前にある設問だけを参照できます: "
                      f"{{{ref}}} は後ろにあります")
    elif ref not in earlier:
        collector.add(location, f"relevant が参照する設問 {{{ref}}} がありません")
    else:
        check_reference_target(question, compare, earlier[ref], location, collector)


def check_reference_target(question: QuestionView, compare: Compare, target: QuestionView,
                           location: Location, collector: Collector) -> None:
    if target.audience != question.audience:
        collector.add(location, f"{{{target.id}}} は回答者 ({target.audience}) が違うため "
                      "relevant に使えません")
    if target.is_choice and target.choices is not None:
        unknown = [value for value in compare.values if value not in target.values()]
        for value in unknown:
            collector.add(location, f"'{value}' は設問 {target.id} の選択肢の値ではありません "
                          f"(値: {', '.join(sorted(target.values()))})")


def check_retired(document: dict, questions: list[QuestionView], collector: Collector) -> None:
    current = {question.id.casefold() for question in questions}
    retired = list(entries(document, "retired"))
    check_unique(collector, [(loc, item.get("id")) for loc, item in retired], "廃止")
    for location, item in retired:
        retired_id = string(item.get("id"))
        if retired_id and retired_id.casefold() in current:
            collector.add((*location, "id"),
                          f"廃止した設問 ID '{retired_id}' は設問として使えません")
        replacements = item.get("replaced_by")
        for index, new_id in enumerate(replacements if isinstance(replacements, list) else []):
            if isinstance(new_id, str) and new_id.casefold() not in current:
                collector.add((*location, "replaced_by", index),
                              f"replaced_by の設問 {new_id} がこの版にありません")
