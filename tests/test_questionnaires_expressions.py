"""The `relevant` expression language: parser, canonical text, evaluation."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveyapp.model import BoolOp, Compare, Not
from surveyapp.questionnaires import ExpressionError, format_expression, parse_expression

ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{1,12}", fullmatch=True)
values = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
compares = st.one_of(
    st.builds(Compare, ids, st.sampled_from(["==", "!="]), st.tuples(values)),
    st.builds(Compare, ids, st.just("in"),
              st.lists(values, min_size=1, max_size=4).map(tuple)),
)
expressions = st.recursive(compares, lambda children: st.one_of(
    st.builds(Not, children),
    st.builds(BoolOp, st.sampled_from(["and", "or"]),
              st.lists(children, min_size=2, max_size=3).map(tuple)),
), max_leaves=12)


def test_equality_parses_into_a_compare():
    assert parse_expression("{HAS-SYSTEM} == 'yes'") == Compare("HAS-SYSTEM", "==", ("yes",))


def test_in_list_parses_every_value():
    assert parse_expression("{A} in ['x', \"y\"]") == Compare("A", "in", ("x", "y"))


def test_and_binds_tighter_than_or():
    parsed = parse_expression("{A} == 'a' or {B} == 'b' and {C} == 'c'")
    assert parsed == BoolOp("or", (Compare("A", "==", ("a",)), BoolOp(
        "and", (Compare("B", "==", ("b",)), Compare("C", "==", ("c",))))))


def test_parentheses_and_not_group_as_written():
    parsed = parse_expression("not ({A} != 'a' or {B} == 'b')")
    assert parsed == Not(BoolOp("or", (Compare("A", "!=", ("a",)), Compare("B", "==", ("b",)))))


def test_evaluation_uses_answers_without_eval():
    expr = parse_expression("{A} == 'yes' and not {B} in ['x', 'y']")
    assert expr.evaluate({"A": "yes", "B": "z"})
    assert not expr.evaluate({"A": "yes", "B": ("y",)})
    assert not expr.evaluate({})


@pytest.mark.parametrize("source", [
    "", "{A}", "{A} == yes", "{A} = 'x'", "{A} == 'x' and", "({A} == 'x'", "{A} in []",
    "{A} in ['x',]", "__import__('os')", "{A} == 'x' {B} == 'y'", "{1A} == 'x'",
    "{A} == 'unterminated", "not", "{A} in 'x'",
])
def test_syntax_errors_raise_expression_error_with_a_column(source):
    with pytest.raises(ExpressionError) as raised:
        parse_expression(source)
    assert raised.value.column >= 1 and "文字目" in str(raised.value)


def test_deep_nesting_fails_cleanly():
    with pytest.raises(ExpressionError, match="入れ子が深すぎます"):
        parse_expression("(" * 200 + "{A} == 'a'" + ")" * 200)


def test_overlong_expression_is_refused():
    with pytest.raises(ExpressionError, match="長すぎます"):
        parse_expression("{A} == 'a' or " * 100 + "{A} == 'a'")


@given(expressions)
def test_format_then_parse_round_trips(expr):
    text = format_expression(expr)
    if len(text) <= 1000:
        assert parse_expression(text) == expr


@given(st.text(max_size=200))
def test_parser_never_crashes_on_random_text(source):
    with contextlib.suppress(ExpressionError):
        parse_expression(source)


@given(st.text(alphabet="{}()[]'\",=!ABab01 andorint-", max_size=80))
def test_parser_never_crashes_on_near_miss_syntax(source):
    with contextlib.suppress(ExpressionError):
        parse_expression(source)
