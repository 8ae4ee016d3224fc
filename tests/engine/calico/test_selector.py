"""Calico's selector language (SEMANTICS.md 5.2): tokenizer, grammar, semantics and errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.engine.calico.selector import (
    ALL,
    All,
    And,
    CalicoSelectorError,
    Contains,
    EndsWith,
    Eq,
    Global,
    Has,
    In,
    Ne,
    Not,
    NotIn,
    Or,
    Selector,
    StartsWith,
    and_,
    in_set,
    not_,
    or_,
    parse_selector,
)
from policies.engine.errors import PolicyError

# -- semantics: every operator, on a present key, another value and a missing key ---------------

L = {"app": "web", "tier": "platinum-gold-1", "empty": "", "a/b.c-d_e": "x"}

SEMANTICS = [
    ("", True),
    ("   \t ", True),
    ("all()", True),
    ("global()", True),
    ("has(app)", True),
    ("has(nope)", False),
    ("has(empty)", True),
    ("app == 'web'", True),
    ("app == 'api'", False),
    ("nope == ''", False),  # == needs the key, even for an empty value
    ("empty == ''", True),
    ("app != 'api'", True),
    ("app != 'web'", False),
    ("nope != 'web'", True),  # != matches a missing key
    ("app in {'web', 'api'}", True),
    ("app in {'api'}", False),
    ("nope in {''}", False),
    ("app in {}", False),  # the empty set never matches
    ("app not in {'api'}", True),
    ("app not in {'web'}", False),
    ("nope not in {'web'}", True),  # not in matches a missing key
    ("app not in {}", True),
    ("app notin {'web'}", False),
    ("tier contains 'gold'", True),
    ("tier contains 'silver'", False),
    ("nope contains ''", False),  # string operators need the key
    ("tier starts with 'platinum'", True),
    ("tier starts with 'gold'", False),
    ("nope starts with ''", False),
    ("tier ends with '-1'", True),
    ("tier ends with 'gold'", False),
    ("nope ends with ''", False),
    ("a/b.c-d_e == 'x'", True),
    ("!has(app)", False),
    ("!!has(app)", True),
    ("!!!has(app)", False),
    ("!app == 'api'", True),
    ("has(app) && has(nope)", False),
    ("has(app) || has(nope)", True),
    ("(has(nope) || has(app)) && app == 'web'", True),
    ("App == 'web'", False),  # case-sensitive keys
    ("app == 'Web'", False),  # case-sensitive values
]


@pytest.mark.parametrize(("text", "expected"), SEMANTICS)
def test_selector_semantics(text: str, expected: bool) -> None:
    assert parse_selector(text).evaluate(L) is expected


def test_global_is_false_in_a_namespace_selector_context() -> None:
    assert parse_selector("global()").evaluate({}) is True
    assert parse_selector("global()").evaluate({}, namespace_context=True) is False
    assert parse_selector("!global()").evaluate({}, namespace_context=True) is True
    assert parse_selector("all()").evaluate({}, namespace_context=True) is True


# -- precedence (V46) and structure ----------------------------------------------------------------

STRUCTURE = [
    ("", ALL),
    ("a == 'b'", Eq("a", "b")),
    ('a == "b"', Eq("a", "b")),
    ("a=='b'", Eq("a", "b")),
    ("\ta\t==\t'b'\t", Eq("a", "b")),
    ('a == "it\'s"', Eq("a", "it's")),
    ("a == 'say \"hi\"'", Eq("a", 'say "hi"')),
    ("a == 'x\\'", Eq("a", "x\\")),  # no escapes: a backslash is an ordinary character
    ("has( a )", Has("a")),
    ("all( )", ALL),
    ("global( )", Global()),
    ("a in {'y', 'x', 'x'}", In("a", ("x", "y"))),
    ("a in{'x'}", In("a", ("x",))),
    ("a in {'x',}", In("a", ("x",))),  # Calico accepts a trailing comma
    ("a not in {}", NotIn("a", ())),
    ("a not\tin {'x'}", NotIn("a", ("x",))),
    ("a notin {'x'}", NotIn("a", ("x",))),
    ("a contains'x'", Contains("a", "x")),
    ("a starts  with 'x'", StartsWith("a", "x")),
    ("a ends with 'x'", EndsWith("a", "x")),
    # V46: && binds tighter than ||.
    (
        "app starts with 'fr' && team ends with 'ops' || tier contains 'gold'",
        Or((And((StartsWith("app", "fr"), EndsWith("team", "ops"))), Contains("tier", "gold"))),
    ),
    ("a == 'x' || b == 'y' && c == 'z'", Or((Eq("a", "x"), And((Eq("b", "y"), Eq("c", "z")))))),
    # ! applies to one primary only.
    ("!a == 'b' && c == 'd'", And((Not(Eq("a", "b")), Eq("c", "d")))),
    ("!(a == 'b' && c == 'd')", Not(And((Eq("a", "b"), Eq("c", "d"))))),
    ("!!a == 'b'", Eq("a", "b")),
    # Redundant parentheses and nesting flatten to one canonical tree.
    ("(a == 'x' && (b == 'y' && c == 'z'))", And((Eq("a", "x"), Eq("b", "y"), Eq("c", "z")))),
    ("((has(a)))", Has("a")),
    # Keywords are ordinary label names where a label is expected.
    ("in == 'x'", Eq("in", "x")),
    ("all == 'x'", Eq("all", "x")),
    ("has == 'x'", Eq("has", "x")),
    ("contains contains 'x'", Contains("contains", "x")),
    ("a" * 512 + " == 'x'", Eq("a" * 512, "x")),
]


@pytest.mark.parametrize(("text", "tree"), STRUCTURE)
def test_selector_structure(text: str, tree: Selector) -> None:
    assert parse_selector(text) == tree


CANONICAL = [
    ("", "all()"),
    ("app=='web'", 'app == "web"'),
    ("a == 'say \"hi\"'", "a == 'say \"hi\"'"),
    ("a in {'y','x'}", 'a in {"x", "y"}'),
    ("a notin {}", "a not in {}"),
    ("!(a == 'x' || b == 'y') && c != 'z'", '!(a == "x" || b == "y") && c != "z"'),
    ("(a == 'x' || b == 'y') && c == 'z'", '(a == "x" || b == "y") && c == "z"'),
    ("a == 'x' || b == 'y' && c == 'z'", 'a == "x" || b == "y" && c == "z"'),
    ("!has(a)", "!has(a)"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_text(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


# -- errors carry the column ------------------------------------------------------------------------

ERRORS = [
    ("a", 2, "expected an operator after label 'a'"),
    ("a ==", 5, "expected a quoted string"),
    ("a == b", 6, "expected a quoted string"),
    ("a = 'b'", 3, "expected =="),
    ("a == 'b", 6, "unterminated string"),
    ('a == "b', 6, "unterminated string"),
    ("a & b", 3, "expected &&"),
    ("a == 'x' | b == 'y'", 10, "expected ||"),
    ("has (a)", 5, "expected an operator"),  # no space allowed before (
    ("all ()", 5, "expected an operator"),
    ("global ()", 8, "expected an operator"),
    ("has()", 5, "expected a label name"),
    ("has(a", 6, "expected )"),
    ("all(x)", 5, "expected ) to close all("),
    ("(a == 'x'", 10, "expected )"),
    ("a == 'x')", 9, "unexpected ')'"),
    ("a == 'x' b == 'y'", 10, "unexpected label 'b'"),
    ("a inx {'x'}", 3, "expected an operator"),  # word boundary after `in`
    ("a containsx 'x'", 3, "expected an operator"),
    ("a not inx {}", 3, "expected an operator"),
    ("a starts 'x'", 3, "expected an operator"),
    ("a in 'x'", 6, "expected {"),
    ("a in {x}", 7, "expected a quoted string or }"),
    ("a in {'x' 'y'}", 11, "expected a quoted string or }"),
    ("a in {,}", 7, "expected a quoted string or }"),
    ("a == 'x' &&", 12, "expected a label"),
    ("!", 2, "expected a label"),
    ("a == 'x'\n", 9, "a newline"),
    ("a ==\r'x'", 5, "a newline"),
    ("a ==\u00a0'x'", 5, "unexpected character"),  # only space and tab are whitespace
    ("$ == 'x'", 1, "unexpected character '$'"),
    ("a" * 513 + " == 'x'", 1, "longer than 512"),
    ("== 'x'", 1, "expected a label"),
    ("'x' == a", 1, "expected a label"),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS)
def test_selector_errors_give_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(CalicoSelectorError) as info:
        parse_selector(text)
    err = info.value
    assert isinstance(err, PolicyError)
    assert err.column == column, str(err)
    assert message in err.reason
    assert f"at column {column}" in str(err)


# -- properties ------------------------------------------------------------------------------------

LABEL_KEYS = st.sampled_from(["app", "tier", "env", "a/b", "x.y-z_1", "in", "has", "all"])
VALUES = st.sampled_from(["", "web", "prod", "it's", 'say "hi"', "a b", "gold-1"])


def _leaf() -> st.SearchStrategy[Selector]:
    return st.one_of(
        st.just(ALL),
        st.builds(Has, LABEL_KEYS),
        *(st.builds(cls, LABEL_KEYS, VALUES) for cls in (Eq, Ne, Contains, StartsWith, EndsWith)),
        st.builds(lambda k, vs: in_set(k, vs), LABEL_KEYS, st.lists(VALUES, max_size=3)),
        st.builds(lambda k, vs: in_set(k, vs, negated=True), LABEL_KEYS, st.lists(VALUES, max_size=3)),
    )


SELECTORS: st.SearchStrategy[Selector] = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(not_, inner),
        st.builds(lambda xs: and_(*xs), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda xs: or_(*xs), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=8,
)
LABEL_SETS = st.dictionaries(LABEL_KEYS, VALUES, max_size=5)


@settings(max_examples=300, deadline=None)
@given(SELECTORS)
def test_canonical_text_parses_back_to_the_same_tree(sel: Selector) -> None:
    assert parse_selector(str(sel)) == sel


@settings(max_examples=300, deadline=None)
@given(SELECTORS, LABEL_SETS)
def test_negation_and_de_morgan(sel: Selector, labels: dict[str, str]) -> None:
    value = sel.evaluate(labels)
    assert parse_selector(f"!({sel})").evaluate(labels) is not value
    assert parse_selector(f"!!({sel})").evaluate(labels) is value
    other = Has("app")
    assert parse_selector(f"!(({sel}) && {other})").evaluate(labels) == parse_selector(
        f"!({sel}) || !{other}"
    ).evaluate(labels)


@settings(max_examples=300, deadline=None)
@given(LABEL_KEYS, VALUES, LABEL_SETS)
def test_ne_is_not_eq_and_not_in_is_not_in(key: str, value: str, labels: dict[str, str]) -> None:
    eq = parse_selector(str(Eq(key, value))).evaluate(labels)
    assert parse_selector(str(Ne(key, value))).evaluate(labels) is not eq
    assert parse_selector(str(in_set(key, [value]))).evaluate(labels) is eq
    assert parse_selector(str(in_set(key, [value], negated=True))).evaluate(labels) is not eq


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" \t'\"!&|(){},=abcxyz_./-", max_size=25))
def test_arbitrary_text_parses_or_raises_a_selector_error(text: str) -> None:
    try:
        sel = parse_selector(text)
    except CalicoSelectorError as exc:
        assert 1 <= exc.column <= len(text) + 1
    else:
        assert parse_selector(str(sel)) == sel


def test_all_is_the_empty_selector() -> None:
    assert isinstance(parse_selector(""), All)
    assert parse_selector("").is_all()
    assert not parse_selector("has(a)").is_all()


def test_uses_global() -> None:
    assert parse_selector("global()").uses_global()
    assert parse_selector("!(a == 'b' || global())").uses_global()
    assert not parse_selector("all()").uses_global()
