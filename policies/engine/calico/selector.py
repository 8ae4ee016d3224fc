"""Calico's selector language: tokenizer, parser and evaluator (SEMANTICS.md 5.2).

Whitespace is space and tab only; label names are 1-512 characters of ``[A-Za-z0-9_./-]``; string
literals use single or double quotes and have no escapes. ``!`` binds one primary, ``&&`` binds
tighter than ``||``, and ``!=`` / ``not in`` match a label set that lacks the key. An empty selector
is ``all()``. https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#selectors
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from policies.engine.errors import PolicyError

MAX_LABEL_LENGTH = 512
_WHITESPACE = " \t"
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")


class CalicoSelectorError(PolicyError):
    """A selector that Calico would reject; ``column`` is 1-based within the selector text."""

    def __init__(
        self,
        message: str,
        *,
        column: int,
        selector: str,
        file: str = "",
        document: int | None = None,
        line: int | None = None,
        path: str = "",
        obj: str = "",
    ) -> None:
        shown = selector if len(selector) <= 120 else selector[:117] + "..."
        super().__init__(
            f"invalid selector {shown!r}: {message} at column {column}",
            file=file,
            document=document,
            line=line,
            path=path,
            obj=obj,
        )
        self.reason = message
        self.column = column
        self.selector = selector


# -- the AST ------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    # Values cannot contain both quote characters: the literal has no escapes.
    return f"'{value}'" if '"' in value else f'"{value}"'


class Selector:
    """A parsed selector. ``evaluate`` takes the label set the selector is applied to.

    ``namespace_context`` is set when the selector is an EntityRule or GNP ``namespaceSelector``
    evaluated for a pod: there ``global()`` means "not namespaced", which no pod is (5.5.3).
    """

    precedence: ClassVar[int] = 3  # 1: ||, 2: &&, 3: everything that needs no parentheses

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        raise NotImplementedError

    def uses_global(self) -> bool:
        return False

    def is_all(self) -> bool:
        return False


@dataclass(frozen=True)
class All(Selector):
    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return True

    def is_all(self) -> bool:
        return True

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True)
class Global(Selector):
    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return not namespace_context

    def uses_global(self) -> bool:
        return True

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True)
class Has(Selector):
    label: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return self.label in labels

    def __str__(self) -> str:
        return f"has({self.label})"


@dataclass(frozen=True)
class Eq(Selector):
    label: str
    value: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return labels.get(self.label) == self.value

    def __str__(self) -> str:
        return f"{self.label} == {_quote(self.value)}"


@dataclass(frozen=True)
class Ne(Selector):
    label: str
    value: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        # A missing key matches (CAL-AST LabelNeValueNode).
        return labels.get(self.label) != self.value

    def __str__(self) -> str:
        return f"{self.label} != {_quote(self.value)}"


@dataclass(frozen=True)
class Contains(Selector):
    label: str
    value: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return self.label in labels and self.value in labels[self.label]

    def __str__(self) -> str:
        return f"{self.label} contains {_quote(self.value)}"


@dataclass(frozen=True)
class StartsWith(Selector):
    label: str
    value: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return self.label in labels and labels[self.label].startswith(self.value)

    def __str__(self) -> str:
        return f"{self.label} starts with {_quote(self.value)}"


@dataclass(frozen=True)
class EndsWith(Selector):
    label: str
    value: str

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return self.label in labels and labels[self.label].endswith(self.value)

    def __str__(self) -> str:
        return f"{self.label} ends with {_quote(self.value)}"


def _set_text(values: tuple[str, ...]) -> str:
    return "{" + ", ".join(_quote(v) for v in values) + "}"


@dataclass(frozen=True)
class In(Selector):
    label: str
    values: tuple[str, ...]  # sorted, unique

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return self.label in labels and labels[self.label] in self.values

    def __str__(self) -> str:
        return f"{self.label} in {_set_text(self.values)}"


@dataclass(frozen=True)
class NotIn(Selector):
    label: str
    values: tuple[str, ...]  # sorted, unique

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        # A missing key matches (CAL-AST LabelNotInSetNode).
        return self.label not in labels or labels[self.label] not in self.values

    def __str__(self) -> str:
        return f"{self.label} not in {_set_text(self.values)}"


@dataclass(frozen=True)
class Not(Selector):
    operand: Selector

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return not self.operand.evaluate(labels, namespace_context=namespace_context)

    def uses_global(self) -> bool:
        return self.operand.uses_global()

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"!({inner})" if self.operand.precedence < 3 else f"!{inner}"


@dataclass(frozen=True)
class And(Selector):
    operands: tuple[Selector, ...]
    precedence: ClassVar[int] = 2

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return all(o.evaluate(labels, namespace_context=namespace_context) for o in self.operands)

    def uses_global(self) -> bool:
        return any(o.uses_global() for o in self.operands)

    def __str__(self) -> str:
        return " && ".join(f"({o})" if o.precedence < 2 else str(o) for o in self.operands)


@dataclass(frozen=True)
class Or(Selector):
    operands: tuple[Selector, ...]
    precedence: ClassVar[int] = 1

    def evaluate(self, labels: Mapping[str, str], *, namespace_context: bool = False) -> bool:
        return any(o.evaluate(labels, namespace_context=namespace_context) for o in self.operands)

    def uses_global(self) -> bool:
        return any(o.uses_global() for o in self.operands)

    def __str__(self) -> str:
        return " || ".join(str(o) for o in self.operands)


ALL = All()


# Constructors that keep the AST canonical: nested && (or ||) are flattened and !! cancels, so
# that str() and parse_selector() round-trip to an equal AST.


def and_(*operands: Selector) -> Selector:
    flat: list[Selector] = []
    for o in operands:
        flat.extend(o.operands if isinstance(o, And) else (o,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def or_(*operands: Selector) -> Selector:
    flat: list[Selector] = []
    for o in operands:
        flat.extend(o.operands if isinstance(o, Or) else (o,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def not_(operand: Selector) -> Selector:
    return operand.operand if isinstance(operand, Not) else Not(operand)


def in_set(label: str, values: tuple[str, ...] | list[str], negated: bool = False) -> Selector:
    vals = tuple(sorted(set(values)))
    return NotIn(label, vals) if negated else In(label, vals)


# -- the tokenizer (CAL-TOK) ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # label string { } , == != ! && || ( ) in notin contains starts ends has all global eof
    pos: int  # 0-based offset in the selector text
    value: str = ""


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[_Token] = []

    def fail(self, message: str, pos: int | None = None) -> CalicoSelectorError:
        return CalicoSelectorError(message, column=(self.pos if pos is None else pos) + 1, selector=self.text)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def startswith(self, word: str) -> bool:
        return self.text.startswith(word, self.pos)

    def at_boundary(self, pos: int) -> bool:
        return pos >= len(self.text) or self.text[pos] not in _IDENT_CHARS

    def identifier(self) -> str:
        start = self.pos
        end = start
        while end < len(self.text) and self.text[end] in _IDENT_CHARS:
            end += 1
        if end - start > MAX_LABEL_LENGTH:
            raise self.fail(f"a label name is longer than {MAX_LABEL_LENGTH} characters", start)
        self.pos = end
        return self.text[start:end]

    def word(self, word: str) -> bool:
        """Consume ``word`` if it is next and ends at a word boundary."""
        end = self.pos + len(word)
        if self.startswith(word) and self.at_boundary(end):
            self.pos = end
            return True
        return False

    def two_words(self, first: str, second: str) -> bool | None:
        """``first`` ws* ``second``: True if consumed, None if ``first`` is not next."""
        if not self.startswith(first):
            return None
        save = self.pos
        self.pos += len(first)
        self.skip_ws()
        if self.word(second):
            return True
        self.pos = save
        return False

    def run(self) -> list[_Token]:
        simple = {"(": "(", ")": ")", "{": "{", "}": "}", ",": ","}
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                self.tokens.append(_Token("eof", self.pos))
                return self.tokens
            start = self.pos
            c = self.text[start]
            after_label = bool(self.tokens) and self.tokens[-1].kind == "label"
            if c in simple:
                self.tokens.append(_Token(simple[c], start))
                self.pos += 1
            elif c in "'\"":
                end = self.text.find(c, start + 1)
                if end < 0:
                    raise self.fail("unterminated string", start)
                self.tokens.append(_Token("string", start, self.text[start + 1 : end]))
                self.pos = end + 1
            elif c == "=":
                if not self.startswith("=="):
                    raise self.fail("expected ==")
                self.tokens.append(_Token("==", start))
                self.pos += 2
            elif c == "!":
                kind = "!=" if self.startswith("!=") else "!"
                self.tokens.append(_Token(kind, start))
                self.pos += len(kind)
            elif c == "&":
                if not self.startswith("&&"):
                    raise self.fail("expected &&")
                self.tokens.append(_Token("&&", start))
                self.pos += 2
            elif c == "|":
                if not self.startswith("||"):
                    raise self.fail("expected ||")
                self.tokens.append(_Token("||", start))
                self.pos += 2
            elif after_label:
                self.tokens.append(_Token(self.operator(), start))
            elif self.startswith("has("):
                self.pos += 4
                self.skip_ws()
                label_pos = self.pos
                label = self.identifier()
                if not label:
                    raise self.fail("expected a label name in has(", label_pos)
                self.skip_ws()
                if not self.startswith(")"):
                    raise self.fail("expected ) to close has(")
                self.pos += 1
                self.tokens.append(_Token("has", start, label))
            elif self.startswith("all(") or self.startswith("global("):
                kind = "all" if c == "a" else "global"
                self.pos += len(kind) + 1
                self.skip_ws()
                if not self.startswith(")"):
                    raise self.fail(f"expected ) to close {kind}(")
                self.pos += 1
                self.tokens.append(_Token(kind, start))
            elif c in _IDENT_CHARS:
                self.tokens.append(_Token("label", start, self.identifier()))
            else:
                what = "a newline" if c in "\r\n" else repr(c)
                raise self.fail(f"unexpected character {what}")

    def operator(self) -> str:
        """The word operator that must follow a label."""
        two_word_ops = (("starts", "with", "starts"), ("ends", "with", "ends"), ("not", "in", "notin"))
        for first, second, kind in two_word_ops:
            if self.two_words(first, second):
                return kind
        for word in ("contains", "in"):
            if self.word(word):
                return word
        label = self.tokens[-1].value
        raise self.fail(f"expected an operator after label {label!r}")


# -- the parser (CAL-PARSE) -------------------------------------------------------------------------

_MATCH_OPS: dict[str, Callable[[str, str], Selector]] = {
    "==": Eq,
    "!=": Ne,
    "contains": Contains,
    "starts": StartsWith,
    "ends": EndsWith,
}


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, tok: _Token | None = None) -> CalicoSelectorError:
        tok = tok or self.tok
        return CalicoSelectorError(message, column=tok.pos + 1, selector=self.text)

    def describe(self, tok: _Token) -> str:
        if tok.kind in ("label", "string"):
            return f"{tok.kind} {tok.value!r}"
        if tok.kind == "eof":
            return "the end of the selector"
        word = {
            "has": "has(",
            "all": "all()",
            "global": "global()",
            "starts": "starts with",
            "ends": "ends with",
            "notin": "not in",
        }.get(tok.kind, tok.kind)
        return repr(word)

    def parse_or(self) -> Selector:
        operands = [self.parse_and()]
        while self.tok.kind == "||":
            self.i += 1
            operands.append(self.parse_and())
        return or_(*operands)

    def parse_and(self) -> Selector:
        operands = [self.parse_unary()]
        while self.tok.kind == "&&":
            self.i += 1
            operands.append(self.parse_unary())
        return and_(*operands)

    def parse_unary(self) -> Selector:
        negated = False
        while self.tok.kind == "!":
            negated = not negated
            self.i += 1
        node = self.parse_primary()
        return not_(node) if negated else node

    def parse_primary(self) -> Selector:
        tok = self.tok
        if tok.kind == "has":
            self.i += 1
            return Has(tok.value)
        if tok.kind == "all":
            self.i += 1
            return ALL
        if tok.kind == "global":
            self.i += 1
            return Global()
        if tok.kind == "(":
            self.i += 1
            node = self.parse_or()
            if self.tok.kind != ")":
                raise self.fail(f"expected ) but found {self.describe(self.tok)}")
            self.i += 1
            return node
        if tok.kind == "label":
            return self.parse_match(tok.value)
        raise self.fail(f"expected a label, has(, all(), global(), ( or ! but found {self.describe(tok)}")

    def parse_match(self, label: str) -> Selector:
        self.i += 1
        op = self.tok
        self.i += 1
        if op.kind in _MATCH_OPS:
            value = self.tok
            if value.kind != "string":
                raise self.fail(f"expected a quoted string but found {self.describe(value)}")
            self.i += 1
            return _MATCH_OPS[op.kind](label, value.value)
        if op.kind in ("in", "notin"):
            if self.tok.kind != "{":
                raise self.fail(f"expected {{ but found {self.describe(self.tok)}")
            self.i += 1
            values: list[str] = []
            # Calico accepts an empty set and a trailing comma (CAL-PARSE).
            while self.tok.kind == "string":
                values.append(self.tok.value)
                self.i += 1
                if self.tok.kind != ",":
                    break
                self.i += 1
            if self.tok.kind != "}":
                raise self.fail(f"expected a quoted string or }} but found {self.describe(self.tok)}")
            self.i += 1
            return in_set(label, values, negated=op.kind == "notin")
        raise self.fail(f"expected an operator after label {label!r} but found {self.describe(op)}", op)


def parse_selector(text: str) -> Selector:
    """Parse a Calico selector; the empty (or blank) selector is ``all()``."""
    tokens = _Tokenizer(text).run()
    if tokens[0].kind == "eof":
        return ALL
    parser = _Parser(text, tokens)
    node = parser.parse_or()
    if parser.tok.kind != "eof":
        raise parser.fail(f"unexpected {parser.describe(parser.tok)} after a complete expression")
    return node


def global_column(text: str) -> int:
    """1-based column of the first ``global(`` in ``text`` (for error messages), or 0."""
    pos = text.find("global(")
    return pos + 1 if pos >= 0 else 0
