"""The upload's fast first look (engine.check_syntax) against the full reader (yamlload): it never
refuses what the reader accepts, and what it refuses it says as the reader does."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from policies.engine import PolicyError, check_syntax, syntax
from policies.engine.yamlload import MAX_DEPTH, load_text

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n"


def reader_error(name: str, text: str) -> PolicyError | None:
    try:
        load_text(name, text)
    except PolicyError as exc:
        return exc
    return None


def refusal(name: str, text: str) -> PolicyError | None:
    try:
        check_syntax(name, text)
    except PolicyError as exc:
        return exc
    return None


def manifest_files() -> list[Path]:
    files = [p for p in sorted((ROOT / "tests").rglob("*")) if p.suffix in (".yaml", ".yml", ".json")]
    return [p for p in files if "node_modules" not in p.parts]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_it_refuses_a_test_file_only_as_the_reader_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    refused = refusal(path.name, text)
    if refused is None:
        return
    expected = reader_error(path.name, text)
    assert expected is not None, f"refused what the reader accepts: {refused}"
    assert (refused.message, refused.line, refused.document) == (expected.message, expected.line, expected.document)


@pytest.mark.parametrize(
    ("text", "message", "line", "document"),
    [
        (NAMESPACE + "---\n" + NAMESPACE.replace("name: prod", "name: [prod"), "YAML syntax error", 10, 1),
        (NAMESPACE + "---\n- a\n- b\n", "not a list", 6, 1),
        (NAMESPACE + "---\njust a string\n", "not a single value", 6, 1),
        (NAMESPACE + "---\nmetadata:\n  kind: Pod\n", "the object has no kind", 6, 1),
        ("kind: Pod\nmetadata: {name: a, name: b}\n", "duplicate key", None, None),  # the reader's, later
    ],
)
def test_what_it_refuses_and_where(text: str, message: str, line: int | None, document: int | None) -> None:
    refused = refusal("f.yaml", text)
    if line is None:
        assert refused is None  # not its job: the analysis reads the fields
        assert message in str(reader_error("f.yaml", text))
        return
    assert refused is not None
    assert message in refused.message
    assert (refused.file, refused.line, refused.document) == ("f.yaml", line, document)
    expected = reader_error("f.yaml", text)
    assert expected is not None and (expected.line, expected.document) == (line, document)


def test_deep_nesting_is_refused_at_once() -> None:
    deep = "kind: ConfigMap\ndata: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    refused = refusal("deep.yaml", deep)
    assert refused is not None and f"deeper than {MAX_DEPTH}" in refused.message


@pytest.mark.parametrize(
    "text",
    [
        NAMESPACE + "---\n# only a comment\n---\n" + NAMESPACE,
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}',
        "--- {kind: Namespace, metadata: {name: prod}}\n",
        "%YAML 1.1\n---\n" + NAMESPACE,
        "apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n  metadata: {name: a}\n",
        NAMESPACE + "...\n",
    ],
)
def test_valid_objects_pass_both_ways(text: str) -> None:
    assert reader_error("f.yaml", text) is None
    check_syntax("f.yaml", text)
    with mock.patch.object(syntax, "_plainly_fine", return_value=False):  # the exact walk too
        check_syntax("f.yaml", text)


def test_the_quick_path_takes_the_usual_file() -> None:
    text = (NAMESPACE + "---\n") * 3 + "# the end\n"
    assert syntax._plainly_fine(text)
    assert not syntax._plainly_fine("- a\n")
    assert not syntax._plainly_fine('{"kind": "Namespace"}')


def test_the_size_limit() -> None:
    with pytest.raises(PolicyError, match="larger than the limit of 10 bytes"):
        check_syntax("big.yaml", NAMESPACE, max_bytes=10)
