"""The manifest loader: documents, lists, line numbers, source text, and hostile input."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policies.engine.errors import PolicyError
from policies.engine.yamlload import end_line_of, load_text, read_sources

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(text: str, name: str = "f.yaml") -> list:
    return load_text(name, textwrap.dedent(text))


def error_text(text: str, name: str = "f.yaml") -> str:
    with pytest.raises(PolicyError) as info:
        load(text, name)
    return str(info.value)


# -- documents -------------------------------------------------------------------------------------


def test_documents_are_indexed_from_zero_and_empty_ones_are_skipped_but_counted():
    objs = load(
        """\
        # leading comment
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: a}
        ---
        ---
        # only a comment
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: b}
        """
    )
    assert [(o.name, o.source.document, o.source.line, o.source.end_line) for o in objs] == [
        ("a", 0, 3, 5),
        ("b", 3, 10, 12),
    ]


def test_object_text_is_its_exact_source_lines():
    (obj,) = load(
        """\
        ---
        apiVersion: v1   # core
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
          - name: c
            command: |
              echo hi

        # a comment after the object
        ---
        """
    )
    assert obj.text == (
        "apiVersion: v1   # core\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
        "  containers:\n  - name: c\n    command: |\n      echo hi\n"
    )
    assert (obj.source.line, obj.source.end_line) == (2, 10)


def test_field_paths_map_to_lines():
    (obj,) = load(
        """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: np
        spec:
          ingress:
          - from:
            - podSelector: {}
            - ipBlock:
                cidr: 10.0.0.0/8
            ports: [{port: 80}]
          egress: []
        """
    )
    assert obj.lines["spec.ingress[0]"] == 7
    assert obj.lines["spec.ingress[0].from[1].ipBlock.cidr"] == 10
    assert obj.lines["spec.ingress[0].ports[0].port"] == 11
    assert obj.line_of("spec.ingress[0].from[1].ipBlock.except[3]") == 9
    assert end_line_of(obj, "spec.ingress[0]") == 11
    assert end_line_of(obj, "spec.ingress[0].from") == 10
    assert end_line_of(obj, "spec.egress") == 12


def test_scalars_follow_yaml_types_and_timestamps_stay_strings():
    (obj,) = load(
        """\
        kind: ConfigMap
        metadata: {name: c, creationTimestamp: 2024-01-02T03:04:05Z}
        data: {a: 80, b: "80", c: true, d: ~, e: 1.5, f: 0x10, g: on}
        """
    )
    assert obj.data["data"] == {"a": 80, "b": "80", "c": True, "d": None, "e": 1.5, "f": 16, "g": True}
    assert obj.metadata["creationTimestamp"] == "2024-01-02T03:04:05Z"


def test_merge_keys_are_expanded_and_explicit_keys_win():
    (obj,) = load(
        """\
        kind: X
        base: &base {app: web, tier: front}
        metadata:
          labels:
            <<: *base
            tier: back
        """
    )
    assert obj.metadata["labels"] == {"app": "web", "tier": "back"}


def test_json_is_read_as_yaml():
    (obj,) = load('{"kind": "Namespace", "apiVersion": "v1",\n "metadata": {"name": "j"}}\n', "f.json")
    assert (obj.kind, obj.name, obj.source.line, obj.source.end_line) == ("Namespace", "j", 1, 2)
    assert obj.lines["metadata.name"] == 2


# -- lists -----------------------------------------------------------------------------------------


def test_typed_list_items_inherit_kind_and_api_version():
    objs = load(
        """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicyList
        items:
        - metadata: {name: a}
        - kind: NetworkPolicy
          apiVersion: networking.k8s.io/v1
          metadata: {name: b}
        """
    )
    assert [(o.kind, o.api_version, o.name, o.source.item_path, o.source.line) for o in objs] == [
        ("NetworkPolicy", "networking.k8s.io/v1", "a", "items[0]", 4),
        ("NetworkPolicy", "networking.k8s.io/v1", "b", "items[1]", 5),
    ]
    assert objs[0].data["kind"] == "NetworkPolicy"


def test_list_items_keep_their_own_lines_and_dedented_text():
    objs = load(
        """\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Namespace
            metadata:
              name: a
          - apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Namespace, metadata: {name: b}}
        """
    )
    assert [(o.name, o.source.item_path, o.source.line, o.source.end_line) for o in objs] == [
        ("a", "items[0]", 4, 7),
        ("b", "items[1].items[0]", 11, 11),
    ]
    assert objs[0].text == "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
    assert objs[0].lines == {
        "apiVersion": 4,
        "kind": 5,
        "metadata": 6,
        "metadata.name": 7,
        "metadata#end": 7,
        "#end": 7,
    }
    assert objs[1].text == "{apiVersion: v1, kind: Namespace, metadata: {name: b}}\n"


def test_plain_list_items_need_a_kind():
    text = error_text(
        """\
        apiVersion: v1
        kind: List
        items:
        - metadata: {name: a}
        """
    )
    assert text == "f.yaml:4, document 0: the object in items[0] has no kind"


def test_json_typed_list_without_item_kinds():
    objs = load_text(
        "pods.json",
        '{"kind": "PodList", "apiVersion": "v1", "items": [\n'
        '  {"metadata": {"name": "a"}},\n'
        '  {"metadata": {"name": "b"},\n   "spec": {}}\n]}\n',
    )
    assert [(o.kind, o.api_version, o.name, o.source.line, o.source.end_line) for o in objs] == [
        ("Pod", "v1", "a", 2, 2),
        ("Pod", "v1", "b", 3, 4),
    ]


def test_empty_list():
    assert load("kind: PodList\napiVersion: v1\nitems: []\n") == []
    assert load("kind: PodList\napiVersion: v1\nitems:\n") == []


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "kind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: [b}\n",
            "f.yaml:5, document 1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)",
            id="flow",
        ),
        pytest.param(
            "kind: Pod\nmetadata:\n  name: a\n labels: {}\n",
            "f.yaml:4, document 0: YAML syntax error: did not find expected key (while parsing a block mapping)",
            id="indentation",
        ),
        pytest.param(
            "kind: Pod\nmetadata: *nothing\n",
            "f.yaml:2, document 0: YAML syntax error: found undefined alias",
            id="undefined-alias",
        ),
        pytest.param(
            "kind: Pod\nmetadata: {name: a}\n---\n- kind: Pod\n",
            "f.yaml:4, document 1: a document must be a Kubernetes object (a mapping), not a list",
            id="not-a-mapping",
        ),
        pytest.param(
            "just text\n",
            "f.yaml:1, document 0: a document must be a Kubernetes object (a mapping), not a single value",
            id="scalar",
        ),
        pytest.param(
            "apiVersion: v1\nmetadata: {name: a}\n",
            "f.yaml:1, document 0: the object has no kind",
            id="no-kind",
        ),
        pytest.param("kind: 5\n", "f.yaml:1, document 0: kind must be a non-empty string", id="kind-type"),
        pytest.param("kind: Pod\napiVersion: 1\n", "f.yaml:2, document 0: apiVersion must be a string", id="api-type"),
        pytest.param(
            "kind: Pod\nmetadata:\n  name: a\n  name: b\n",
            "f.yaml:4, document 0, field metadata.name: duplicate key 'name'",
            id="duplicate-key",
        ),
        pytest.param(
            "kind: PodList\nitems: {a: 1}\n",
            "f.yaml:2, document 0: items of a PodList must be a list",
            id="items-type",
        ),
        pytest.param(
            "kind: PodList\nitems: [1]\n",
            "f.yaml:2, document 0: items[0] must be a Kubernetes object (a mapping)",
            id="item-type",
        ),
        pytest.param(
            "kind: X\nspec: &a {loop: *a}\n",
            "f.yaml:2, document 0, field spec.loop: an alias refers to a value that contains it "
            "(a recursive structure)",
            id="recursive",
        ),
    ],
)
def test_errors_name_file_document_and_line(text, expected):
    assert error_text(text) == expected


def test_alias_bomb_is_refused():
    lines = ["kind: X", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    text = "\n".join(lines) + "\n"
    with pytest.raises(PolicyError, match="aliases expand to more than 1000000 nodes") as info:
        load_text("bomb.yaml", text)
    assert info.value.file == "bomb.yaml"
    assert info.value.document == 0


def test_a_few_aliases_are_fine():
    (obj,) = load("kind: X\na: &a {k: v}\nb: *a\nc: [*a, *a]\n")
    assert obj.data["c"] == [{"k": "v"}, {"k": "v"}]


def test_size_limit_names_the_file_and_limit():
    with pytest.raises(PolicyError) as info:
        load_text("big.yaml", "kind: X\n" + "#" * 100 + "\n", max_bytes=50)
    assert str(info.value) == "big.yaml: the file is larger than the limit of 50 bytes"


def test_size_limit_counts_bytes_not_characters():
    text = "kind: X\nname: " + "é" * 30 + "\n"  # 44 characters, 74 bytes
    with pytest.raises(PolicyError, match="limit of 60 bytes"):
        load_text("u.yaml", text, max_bytes=60)


def test_deep_nesting_is_an_error_not_a_crash():
    """libyaml's composer recurses in C; 100,000 levels would overflow the stack and kill the process."""
    code = (
        "from policies.engine.yamlload import load_text\n"
        "from policies.engine.errors import PolicyError\n"
        "block = ''.join(' ' * i + 'k:\\n' for i in range(3000))\n"
        "for text in ('kind: X\\ns: ' + '[' * 100000 + ']' * 100000 + '\\n',\n"
        "             'kind: X\\ns: ' + '[' * 300 + ']' * 300 + '\\n',\n"
        "             'kind: X\\n' + block, '- ' * 20000 + 'x\\n'):\n"
        "    try:\n"
        "        load_text('deep.yaml', text)\n"
        "    except PolicyError as exc:\n"
        "        print(exc)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "deep.yaml:2: the YAML nests deeper than 200 levels",
        "deep.yaml:2, document 0: the YAML nests deeper than 200 levels",
        "deep.yaml:202: the YAML nests deeper than 200 levels",
        "deep.yaml:1: the YAML nests deeper than 200 levels",
    ]


def test_garbage_collection_is_restored():
    assert gc.isenabled()
    load("kind: X\n")
    with pytest.raises(PolicyError):
        load("kind: [\n")
    assert gc.isenabled()


# -- reading paths ---------------------------------------------------------------------------------


def test_directories_are_read_recursively_and_sorted():
    root = FIXTURES / "manifests"
    names = [Path(name).relative_to(root).as_posix() for name, _ in read_sources([str(root)])]
    assert names == ["namespaces.yaml", "nested/pods.json", "nested/policy.yml"]


def test_stdin_is_named_stdin():
    assert read_sources(["-"], stdin=io.StringIO("kind: X\n")) == [("<stdin>", "kind: X\n")]


def test_stdin_size_limit():
    with pytest.raises(PolicyError, match=r"^<stdin>: the file is larger than the limit of 10 bytes$"):
        read_sources(["-"], stdin=io.StringIO("kind: X\n" * 3), max_bytes=10)


def test_missing_path():
    with pytest.raises(PolicyError, match=r"^nope/x.yaml: no such file or directory$"):
        read_sources(["nope/x.yaml"])


def test_file_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("kind: X\n" * 20)
    with pytest.raises(PolicyError) as info:
        read_sources([str(big)], max_bytes=100)
    assert str(info.value) == f"{big}: the file is larger than the limit of 100 bytes"


def test_invalid_utf8_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"kind: X\nname: \xff\n")
    with pytest.raises(PolicyError) as info:
        read_sources([str(bad)])
    assert str(info.value) == f"{bad}:2: the file is not valid UTF-8"


def test_byte_order_mark_is_dropped(tmp_path):
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbfkind: X\n")
    assert read_sources([str(f)]) == [(str(f), "kind: X\n")]
