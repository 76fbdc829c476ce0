"""A parser for the subset of JQL the bridge (and a person poking at the demo) uses.

Written by hand as a small recursive-descent parser because no library parses JQL: Atlassian's own
grammar is an internal ANTLR file, and the Python packages on PyPI that mention JQL *build* query
strings rather than parse them. The grammar is small enough that a hand parser stays readable and
gives Jira-like error messages with character positions::

    query     := [or_expr] [ORDER BY sort_key ("," sort_key)*] EOF
    or_expr   := and_expr ((OR | "||") and_expr)*
    and_expr  := not_expr ((AND | "&&") not_expr)*
    not_expr  := (NOT | "!") not_expr | "(" or_expr ")" | clause
    clause    := field operator operand
    operator  := "=" | "!=" | "~" | "!~" | "<" | "<=" | ">" | ">=" | IN | NOT IN | IS | IS NOT
    operand   := value | function | EMPTY | NULL | "(" (value | function) ("," (value | function))* ")"
    function  := word "(" [value ("," value)*] ")"
    sort_key  := field [ASC | DESC]

Fields are words such as ``status``, ``cf[10041]`` or ``issue.property[key].path``, or quoted
names (``"Incident ID"``). Meaning (which fields exist, what values are valid) is checked when the
query is compiled against a site, in `jql_eval.py`. History operators (``WAS``, ``CHANGED``) parse
to a clear "not supported" error rather than a confusing syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["word", "string", "op", "(", ")", ",", "eof"]

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc", "was", "changed"})
VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_OPERATOR_CHARS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<", "!")
_PUNCTUATION: dict[str, TokenKind] = {"(": "(", ")": ")", ",": ","}
_WORD_STOP = set(" \t\r\n\"'=!<>~(),&|")


class JqlError(ValueError):
    """Bad or unsupported JQL; ``str(error)`` is the message for ``errorMessages``."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    #: 1-based character position, as Jira reports it.
    position: int

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


# -- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class FunctionCall:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmptyValue:
    pass


Scalar = Value | FunctionCall


@dataclass(frozen=True)
class ValueList:
    items: tuple[Scalar, ...]


Operand = Value | FunctionCall | EmptyValue | ValueList


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    operand: Operand
    position: int


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    term: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...]


# -- lexer ---------------------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "\"'":
            index = _read_string(text, index, tokens)
        elif char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, index + 1))
            index += 1
        elif text.startswith(_OPERATOR_CHARS, index):
            operator = next(op for op in _OPERATOR_CHARS if text.startswith(op, index))
            tokens.append(Token("op", operator, index + 1))
            index += len(operator)
        else:
            index = _read_word(text, index, tokens)
    tokens.append(Token("eof", "EOF", len(text) + 1))
    return tokens


def _read_string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            tokens.append(Token("string", "".join(chars), start + 1))
            return index + 1
        chars.append(char)
        index += 1
    raise syntax_error(f"The quoted string '{''.join(chars)}' has not been completed.", start + 1)


def _read_word(text: str, start: int, tokens: list[Token]) -> int:
    index = start
    while index < len(text) and text[index] not in _WORD_STOP:
        if text[index] == "[":
            # Bracketed segments belong to the word: cf[10041], issue.property[key].path
            closing = text.find("]", index)
            if closing == -1:
                raise syntax_error("Expecting ']' before the end of the query.", index + 1)
            index = closing + 1
        else:
            index += 1
    if index == start:
        raise syntax_error(f"The character '{text[start]}' is a reserved JQL character.", start + 1)
    tokens.append(Token("word", text[start:index], start + 1))
    return index


# -- parser --------------------------------------------------------------------------------------


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def query(self) -> Query:
        where = None if self.current.kind == "eof" or self.current.is_keyword("order") else self.or_expr()
        order_by: tuple[SortKey, ...] = ()
        if self.current.is_keyword("order"):
            order_by = self.order_by()
        if self.current.kind != "eof":
            raise self.error(f"Expecting either 'OR' or 'AND' but got '{self.current.text}'.")
        return Query(where, order_by)

    def or_expr(self) -> Node:
        terms = [self.and_expr()]
        while self.current.is_keyword("or") or (self.current.kind == "op" and self.current.text == "||"):
            self.advance()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_expr(self) -> Node:
        terms = [self.not_expr()]
        while self.current.is_keyword("and") or (self.current.kind == "op" and self.current.text == "&&"):
            self.advance()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def not_expr(self) -> Node:
        if self.current.is_keyword("not") or (self.current.kind == "op" and self.current.text == "!"):
            self.advance()
            return Not(self.not_expr())
        if self.current.kind == "(":
            self.advance()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.clause()

    def clause(self) -> Clause:
        field_token = self.current
        if field_token.kind not in ("word", "string") or (
            field_token.kind == "word" and field_token.text.lower() in KEYWORDS
        ):
            raise self.error(f"Expecting a field name but got '{field_token.text}'.", field_token)
        self.advance()
        operator = self.operator()
        return Clause(field_token.text, operator, self.operand(operator), field_token.position)

    def operator(self) -> str:
        token = self.current
        if token.kind == "op" and token.text in ("=", "!=", "~", "!~", "<", "<=", ">", ">="):
            self.advance()
            return token.text
        if token.is_keyword("in"):
            self.advance()
            return "in"
        if token.is_keyword("is"):
            self.advance()
            if self.current.is_keyword("not"):
                self.advance()
                return "is not"
            return "is"
        if token.is_keyword("not"):
            self.advance()
            if not self.current.is_keyword("in"):
                raise self.error(f"Expecting 'IN' but got '{self.current.text}'.")
            self.advance()
            return "not in"
        if token.is_keyword("was", "changed"):
            raise JqlError(
                f"The operator '{token.text.upper()}' searches issue history, which jira_sim (the Jira "
                "simulator) does not support. Rewrite the query without history operators."
            )
        got = "the end of the query" if token.kind == "eof" else f"'{token.text}'"
        raise self.error(f"Expecting operator but got {got}. {VALID_OPERATORS}", token)

    def operand(self, operator: str) -> Operand:
        token = self.current
        if token.is_keyword("empty", "null"):
            self.advance()
            return EmptyValue()
        if operator in ("is", "is not"):
            raise self.error(f"Expecting 'EMPTY' or 'NULL' after '{operator.upper()}' but got '{token.text}'.")
        if token.kind == "(":
            self.advance()
            items = [self.scalar()]
            while self.current.kind == ",":
                self.advance()
                items.append(self.scalar())
            self.expect(")")
            return ValueList(tuple(items))
        if operator in ("in", "not in"):
            raise self.error(f"Expecting '(' but got '{token.text}'.")
        return self.scalar()

    def scalar(self) -> Scalar:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Value(token.text, quoted=True)
        if token.kind == "word" and token.text.lower() not in KEYWORDS:
            self.advance()
            if self.current.kind == "(":
                return self.function_call(token.text)
            return Value(token.text)
        if token.kind == "eof":
            raise self.error("Expecting either a value, list or function before the end of the query.", token)
        raise self.error(f"Expecting either a value, list or function but got '{token.text}'.", token)

    def function_call(self, name: str) -> FunctionCall:
        self.expect("(")
        args: list[str] = []
        while self.current.kind not in (")", "eof"):
            token = self.advance()
            if token.kind in ("word", "string"):
                args.append(token.text)
            elif token.kind != ",":
                raise self.error(f"Unexpected '{token.text}' in the arguments of {name}().", token)
        self.expect(")")
        return FunctionCall(name, tuple(args))

    def order_by(self) -> tuple[SortKey, ...]:
        self.advance()
        if not self.current.is_keyword("by"):
            raise self.error(f"Expecting 'by' but got '{self.current.text}'.")
        self.advance()
        keys = [self.sort_key()]
        while self.current.kind == ",":
            self.advance()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        token = self.current
        if token.kind not in ("word", "string"):
            raise self.error(f"Expecting a field name but got '{token.text}'.", token)
        self.advance()
        descending = False
        if self.current.is_keyword("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return SortKey(token.text, descending)

    def expect(self, kind: TokenKind) -> None:
        if self.current.kind != kind:
            raise self.error(f"Expecting '{kind}' but got '{self.current.text}'.")
        self.advance()

    def error(self, message: str, token: Token | None = None) -> JqlError:
        return syntax_error(message, (token or self.current).position)


def syntax_error(message: str, position: int) -> JqlError:
    return JqlError(f"Error in the JQL Query: {message} (line 1, character {position})")
