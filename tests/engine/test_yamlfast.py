"""The fast block-YAML reader gives exactly what libyaml's composer gives: the same data (types
included), the line of every field, the source and text of every object, and the same errors
(it hands whatever it does not read to the composer)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.engine import yamlload
from policies.engine.errors import PolicyError
from policies.engine.yamlfast import DocumentReader, Unsupported

ROOT = Path(__file__).resolve().parents[1]


def typed(value: Any) -> Any:
    """The value with every scalar's type, so that 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(load: Any) -> Any:
    try:
        objects = load()
    except PolicyError as exc:
        return ("error", str(exc))
    return [(o.kind, o.api_version, typed(o.data), o.source, list(o.lines.items()), o.text) for o in objects]


def composer(name: str, text: str) -> Any:
    return outcome(lambda: yamlload._FileLoader(name, text).load())


def loaded(name: str, text: str) -> Any:
    return outcome(lambda: yamlload.load_text(name, text))


def fast_only(text: str) -> list[Any]:
    """The objects the fast reader gives; fails if any document needed the composer."""
    documents = yamlload._split_documents(text)
    assert documents is not None
    lines = text.split("\n")
    out = []
    for index, _, start, stop in documents:
        reader = DocumentReader(lines, start, stop)
        if reader.entries:
            out.extend(yamlload._fast_objects("f.yaml", index, reader, lines))
    return out


# -- random documents in many spellings --------------------------------------------------------------

PLAIN = [
    "web", "yes", "No", "on", "OFF", "y", "true", "False", "null", "Null", "~", "0755", "0o17", "0x1F",
    "1_000", "-1", "+12", "12.", "1e3", "1.5e+3", ".inf", "-.Inf", ".NaN", "2024-01-01",
    "2024-04-10T04:30:29Z", "12:30", "190:20:30", "::/0", "10.0.0.0/8", "a:b", "http://x:80/p",
    "a#b", "=", "<<", "-x", "?q", ":c", "a b  c", "é-ü", "0", "00", "0b101", "3.14", "-0.5e-3",
    "v1", "k8s-app", "a,b", "a[0]", "x]", "nul",
]  # fmt: skip
QUOTED = [
    '"2024-04-10T04:30:29Z"', '"a #b"', '"a: b"', '"\\t\\n\\\\\\"x\\u00e9\\x41\\/"', '"yes"', '""',
    "'it''s'", "''", "'a #b'", '"\\q"', '"\\ud800"', "'x'  # note", '"y" # note', '"a"b',
]  # fmt: skip
KEYS = ["app", "name", "on", "1", "a.b/c", "kubernetes.io/metadata.name", "x y", '"q k"', "'s k'", "k-8"]
FLOW = [
    "{}", "[]", "[a, b]", '["/bin/sh", "-c", "x=:1"]', "{name: a, labels: {app: web}}", "[1, yes, ~]",
    "[a, ]", "{a: }", "{a:b}", "[{x: 1}, [2]]", "{a: 1, a: 2}", "[a, , b]", "[a #c]", "{ }", "[ a , b ]",
]  # fmt: skip


# What the fast reader leaves to the composer (or that is an error).
ODD_QUOTED = {'"\\q"', '"\\ud800"', '"a"b'}
ODD_FLOW = {"{a:b}", "{a: 1, a: 2}", "[a, , b]", "[a #c]"}
ODD_PLAIN = {"<<", "?q", ":c"}


class Writer:
    """A random stream of Kubernetes-like documents; half of them only in the fast reader's subset
    (so that both paths are compared often), the others with anything."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: list[str] = []
        self.odd = 0.0 if rng.random() < 0.5 else 1.0  # how often odd constructs are allowed

    def maybe(self, probability: float) -> bool:
        return self.rng.random() < probability * self.odd

    def noise(self, indent: int) -> None:
        r = self.rng.random()
        if r < 0.05:
            self.out.append("")
        elif r < 0.08:
            self.out.append(" " * self.rng.choice([0, indent, indent + 3]) + "# a comment")
        elif r < 0.09:
            self.out.append(" " * indent)

    def scalar(self) -> str:
        r = self.rng.random()
        pool, odd = (PLAIN, ODD_PLAIN) if r < 0.55 else (QUOTED, ODD_QUOTED) if r < 0.85 else (FLOW, ODD_FLOW)
        text = self.rng.choice(pool)
        while text in odd and not self.odd:
            text = self.rng.choice(pool)
        if self.rng.random() < 0.05:
            text += " # trailing"
        if self.rng.random() < 0.03:
            text += "  "
        return text

    def mapping(self, indent: int, depth: int, first_prefix: str = "") -> None:
        keys = self.rng.sample(KEYS, self.rng.randint(1, 4))
        if self.maybe(0.03):
            keys.append(keys[0])  # a duplicate key
        for i, key in enumerate(keys):
            prefix = first_prefix if i == 0 and first_prefix else " " * indent
            self.value(prefix + key, indent, depth)
            self.noise(indent)

    def value(self, head: str, indent: int, depth: int) -> None:
        r = self.rng.random()
        if depth > 3 or r < 0.5:
            self.out.append(f"{head}: {self.scalar()}")
        elif r < 0.55:
            self.out.append(f"{head}:" + self.rng.choice(["", " # c", "  "]))  # null, or a block below
        elif r < 0.62:
            chomp = self.rng.choice(["", "-", "+", "2", ">"] if self.odd else ["", "-", "+"])
            self.out.append(f"{head}: |{chomp}" if chomp != ">" else f"{head}: >")
            body = indent + self.rng.choice([2, 4])
            for _ in range(self.rng.randint(0, 3)):
                line = self.rng.choice(["", " " * body + "line  ", " " * (body + 2) + "more", " " * body + "# x"])
                self.out.append(line)
            if self.rng.random() < 0.3:
                self.out.append("")
        elif r < 0.8:
            self.out.append(f"{head}:")
            self.mapping(indent + self.rng.choice([2, 4, 1]), depth + 1)
        else:
            self.out.append(f"{head}:")
            self.sequence(indent + self.rng.choice([0, 2]), depth + 1)

    def sequence(self, indent: int, depth: int) -> None:
        for _ in range(self.rng.randint(1, 3)):
            r = self.rng.random()
            dash = " " * indent + self.rng.choice(["- ", "-  "])
            if r < 0.45:
                self.out.append(dash + self.scalar())
            elif r < 0.5 and self.odd:
                self.out.append(dash.rstrip())
                self.out.append(" " * (indent + 2) + "k: v")
            elif r < 0.53 and self.odd:
                self.out.append(dash + "- nested")
            else:
                self.mapping(len(dash), depth + 1, first_prefix=dash)
            self.noise(indent)

    def document(self) -> None:
        kind = self.rng.choice(["Pod", "NetworkPolicy", "List", "PodList", None])
        lines = []
        if kind:
            lines.append(f"kind: {kind}")
        if self.rng.random() < 0.8:
            lines.append("apiVersion: " + self.rng.choice(["v1", "networking.k8s.io/v1", '"v1"', "1"]))
        self.out.extend(lines)
        if kind and kind.endswith("List") and self.rng.random() < 0.8:
            self.out.append("items:" + self.rng.choice(["", " []", " ~"]))
            if self.out[-1] == "items:":
                indent = self.rng.choice([0, 2])
                for _ in range(self.rng.randint(0, 3)):
                    dash = " " * indent + "- "
                    if self.rng.random() < 0.7:
                        self.out.append(dash + "metadata:")
                        self.out.append(" " * (indent + 4) + "name: p")
                        self.mapping(indent + 2, 1)
                    else:
                        self.mapping(indent + 2, 1, first_prefix=dash)
        self.mapping(0, 0)

    def stream(self) -> str:
        if self.rng.random() < 0.2:
            self.out.append("# leading comment")
        for i in range(self.rng.randint(1, 3)):
            if i or self.rng.random() < 0.6:
                self.out.append(self.rng.choice(["---", "--- # doc", "---  "]))
            if self.rng.random() < 0.1:
                continue  # an empty document
            self.document()
        if self.maybe(0.05):
            self.out.append(self.rng.choice(["...", "%YAML 1.1", "\tkey: tab"]))
        return "\n".join(self.out) + self.rng.choice(["\n", "", "\n\n"])


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_random_streams_read_as_the_composer_reads_them(seed: int) -> None:
    text = Writer(random.Random(seed)).stream()
    assert loaded("f.yaml", text) == composer("f.yaml", text), text


@pytest.mark.parametrize("directory", ["corpus", "fixtures", "engine/vectors", "engine/admin_vectors"])
def test_every_manifest_of_the_tests_reads_as_the_composer_reads_it(directory: str) -> None:
    files = sorted(p for p in (ROOT / directory).rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        assert loaded(str(path), text) == composer(str(path), text), path


# -- what the fast reader takes itself -------------------------------------------------------------------

KUBECTL_LIST = """\
apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Pod"}
    creationTimestamp: "2024-04-10T04:30:29Z"
    labels:
      app: web
      pod-template-hash: 5d4f8
    name: web-1
    namespace: shop
    ownerReferences:
    - apiVersion: apps/v1
      controller: true
      kind: ReplicaSet
      name: web-5d4f8
  spec:
    containers:
    - command: ["/bin/sh", "-c", "serve --port=8080"]
      image: web:1.0
      name: web
      ports:
      - containerPort: 8080
        name: http
        protocol: TCP
      resources: {}
    nodeName: n1
  status:
    phase: Running
    podIP: 10.0.0.5
    podIPs:
    - ip: 10.0.0.5
- kind: Namespace
  metadata:
    name: shop  # the shop
kind: List
metadata:
  resourceVersion: ""
"""


def test_kubectl_output_is_read_without_the_composer() -> None:
    pod, namespace = fast_only(KUBECTL_LIST)
    assert pod.data["spec"]["containers"][0]["command"] == ["/bin/sh", "-c", "serve --port=8080"]
    assert pod.data["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == (
        '{"apiVersion":"v1","kind":"Pod"}\n'
    )
    assert pod.data["metadata"]["ownerReferences"][0]["controller"] is True
    assert pod.lines["spec.containers[0].ports[0].containerPort"] == 26
    assert (pod.source.line, pod.source.end_line, pod.source.item_path) == (3, 35, "items[0]")
    assert namespace.data == {"kind": "Namespace", "metadata": {"name": "shop"}}  # a List's items keep their own
    assert loaded("f.yaml", KUBECTL_LIST) == composer("f.yaml", KUBECTL_LIST)


@pytest.mark.parametrize(
    "text",
    [
        "kind: Pod\nmetadata: &m {name: a}\nspec: *m\n",  # anchors and aliases
        "kind: Pod\nmetadata: !!map {name: a}\n",  # tags
        "kind: Pod\nmetadata:\n  <<: {name: a}\n",  # merge keys
        "kind: Pod\nmetadata:\n  name: a\n  name: b\n",  # a duplicate key: the composer words the error
        "kind: Pod\nnote: >\n  folded\n",  # folded scalars
        "kind: Pod\nnote: two\n  lines\n",  # a multi-line plain scalar
        'kind: Pod\nnote: "two\n  lines"\n',  # a multi-line quoted scalar
    ],
)
def test_what_the_fast_reader_leaves_to_the_composer(text: str) -> None:
    with pytest.raises(Unsupported):
        fast_only(text)
    assert loaded("f.yaml", text) == composer("f.yaml", text)


def test_a_document_the_fast_reader_leaves_keeps_its_index_and_lines() -> None:
    text = "kind: A\nmetadata: {name: a}\n---\nkind: B\nspec: &x {a: 1}\nother: *x\n---\nkind: C\n"
    objects = yamlload.load_text("f.yaml", text)
    assert [(o.kind, o.source.document, o.source.line, o.lines["other"] if o.kind == "B" else 0) for o in objects] == [
        ("A", 0, 1, 0),
        ("B", 1, 4, 6),
        ("C", 2, 8, 0),
    ]
    assert objects[1].data["other"] == {"a": 1}


def test_every_policy_kind_is_read_with_its_lines_at_once() -> None:
    from policies.engine.parse import ADMIN_KINDS, CALICO_KINDS

    assert {"NetworkPolicy"} | ADMIN_KINDS | CALICO_KINDS <= yamlload.EAGER_LINE_KINDS


def test_other_objects_get_their_lines_when_asked() -> None:
    text = "kind: Pod\nmetadata:\n  name: a\n---\nkind: NetworkPolicy\nspec:\n  podSelector: {}\n"
    pod, policy = yamlload.load_text("f.yaml", text)
    assert isinstance(policy.lines, dict)
    assert not isinstance(pod.lines, dict)
    assert pod.line_of("metadata.name") == 3 and dict(pod.lines) == {
        "kind": 1, "metadata": 2, "metadata.name": 3, "metadata#end": 3, "#end": 3,
    }  # fmt: skip
    assert policy.lines["spec.podSelector#end"] == 7
