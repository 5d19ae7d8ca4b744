"""The `relevant` expression language: a tokenizer and a recursive-descent parser.

Grammar (DESIGN.md §3), lowest precedence first; a parenthesised group stays one node
so `format_expression` and `parse_expression` round-trip exactly:

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | primary
    primary := "(" expr ")" | ref ("==" | "!=") string | ref "in" "[" string ("," string)* "]"
    ref     := "{" ID "}"

Nothing is ever evaluated as Python: the result is model.Compare / BoolOp / Not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from surveyapp.model import N_, BoolOp, Compare, Expr, Message, Not

MAX_LENGTH = 1000
MAX_NESTING = 20

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>\{[A-Za-z][A-Za-z0-9_.-]{0,39}\})
  | (?P<string>'[^'\n]*'|"[^"\n]*")
  | (?P<op>==|!=)
  | (?P<punct>[()\[\],])
  | (?P<word>[A-Za-z_]+)
""", re.VERBOSE)
KEYWORDS = ("and", "or", "not", "in")
END = N_("式の終わり")  # what a parse error found or wanted at the end
VALUE = N_("'値'")


class ExpressionError(ValueError):
    """A `relevant` expression that cannot be parsed; `.column` is 1-based. `message`
    and `params` carry the text for translation (model.Message)."""

    def __init__(self, problem: Message, column: int) -> None:
        located = Message(N_("%(column)d 文字目: %(problem)s"), column=column, problem=problem)
        super().__init__(located)
        self.column = column
        self.message, self.params = located.message, located.params


@dataclass(frozen=True)
class Token:
    kind: str  # ref | string | op | punct | keyword | end
    text: str
    column: int

    @property
    def value(self) -> str:
        return self.text[1:-1]


def tokenize(source: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(Message(N_("解釈できない文字 %(char)s があります"),
                                          char=repr(source[position])), position + 1)
        tokens.extend(token_of(match))
        position = match.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


def token_of(match: re.Match) -> list[Token]:
    kind, text, column = match.lastgroup, match.group(), match.start() + 1
    if kind == "space":
        return []
    if kind == "word":
        if text not in KEYWORDS:
            raise ExpressionError(Message(N_("'%(word)s' は使えません (and, or, not, in だけ。"
                                             "設問は {ID} のように書きます)"), word=text), column)
        kind = "keyword"
    return [Token(kind, text, column)]


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self, kind: str, text: str | None = None, wanted: str = "") -> Token:
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            found = token.text or Message(END)
            raise ExpressionError(Message(N_("%(wanted)s が必要ですが '%(found)s' があります"),
                                          wanted=wanted or text or kind, found=found),
                                  token.column)
        self.index += 1
        return token

    def at(self, kind: str, text: str) -> bool:
        return self.current.kind == kind and self.current.text == text

    def parse(self) -> Expr:
        expr = self.chain("or", self.conjunction)
        self.take("end", wanted=Message(END))
        return expr

    def chain(self, keyword: str, operand) -> Expr:
        operands = [operand()]
        while self.at("keyword", keyword):
            self.index += 1
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(keyword, tuple(operands))

    def conjunction(self) -> Expr:
        return self.chain("and", self.unary)

    def unary(self) -> Expr:
        if self.at("keyword", "not"):
            self.index += 1
            return Not(self.nested(self.unary))
        return self.primary()

    def nested(self, parse):
        # Bounded recursion: a hostile `not not not ...` fails cleanly, never overflows.
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(Message(N_("入れ子が深すぎます (上限 %(max)d)"),
                                          max=MAX_NESTING), self.current.column)
        result = parse()
        self.depth -= 1
        return result

    def primary(self) -> Expr:
        if self.at("punct", "("):
            self.index += 1
            expr = self.nested(lambda: self.chain("or", self.conjunction))
            self.take("punct", ")", wanted="')'")
            return expr
        return self.comparison()

    def comparison(self) -> Compare:
        ref = self.take("ref", wanted=Message(N_("設問の参照 {ID}"))).value
        if self.current.kind == "op":
            op = self.take("op").text
            return Compare(ref, op, (self.take("string", wanted=Message(VALUE)).value,))
        self.take("keyword", "in", wanted=Message(N_("==, != または in")))
        return Compare(ref, "in", self.value_list())

    def value_list(self) -> tuple[str, ...]:
        self.take("punct", "[", wanted="'['")
        values = [self.take("string", wanted=Message(VALUE)).value]
        while self.at("punct", ","):
            self.index += 1
            values.append(self.take("string", wanted=Message(VALUE)).value)
        self.take("punct", "]", wanted="']'")
        return tuple(values)


def parse_expression(source: str) -> Expr:
    """Parse `relevant` text; raises ExpressionError with the column of the problem."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(Message(N_("式が長すぎます (上限 %(max)d 文字)"), max=MAX_LENGTH),
                              MAX_LENGTH)
    return Parser(tokenize(source)).parse()


def format_expression(expr: Expr) -> str:
    """Canonical text of an expression; `parse_expression` gives back an equal tree."""
    if isinstance(expr, Compare):
        return format_compare(expr)
    if isinstance(expr, Not):
        return f"not {format_operand(expr.operand)}"
    return f" {expr.op} ".join(format_operand(operand) for operand in expr.operands)


def format_operand(expr: Expr) -> str:
    return f"({format_expression(expr)})" if isinstance(expr, BoolOp) else \
        format_expression(expr)


def format_compare(expr: Compare) -> str:
    quoted = [quote(value) for value in expr.values]
    if expr.op == "in":
        return f"{{{expr.ref}}} in [{', '.join(quoted)}]"
    return f"{{{expr.ref}}} {expr.op} {quoted[0]}"


def quote(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"
