"""Names, namespaces, kinds and apiVersions are refused as the Kubernetes API server refuses them,
with the file, document, line and field of the offending value."""

from __future__ import annotations

import textwrap

import pytest

from policies.engine.errors import PolicyError
from policies.engine.names import dns_label_problem, dns_subdomain_problem
from policies.engine.parse import parse_files


def parse_error(text: str, name: str = "t.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_files([(name, textwrap.dedent(text))])
    return info.value


FIRST = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n"


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + "a" * 254 + "\n  namespace: x\n", "metadata.name", "254"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\n  namespace: x\n", "metadata.name", "lower-case"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-\n  namespace: x\n", "metadata.name", "ending"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: " + "n" * 64 + "\n", "metadata.namespace", "64"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: a.b\n", "metadata.namespace", "lower-case"),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", "metadata.name", "lower-case"),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: Web\n", "metadata.name", "lower-case"),
        ("apiVersion: v1\nkind: " + "K" * 101 + "\nmetadata:\n  name: x\n", "kind", "100"),
        ("apiVersion: v1\nkind: 'a kind'\nmetadata:\n  name: x\n", "kind", "CamelCase"),
        ("apiVersion: " + "g" * 195 + "/v1beta1\nkind: Thing\nmetadata:\n  name: x\n", "apiVersion", "200"),
        ("apiVersion: 'a b/v1'\nkind: Thing\nmetadata:\n  name: x\n", "apiVersion", "group/version"),
        ("apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: " + "T" * 254 + "\n", "metadata.name", "253"),
    ],
    ids=[
        "name-254",
        "name-uppercase",
        "name-trailing-dash",
        "namespace-64",
        "namespace-dot",
        "namespace-object-dot",
        "workload-uppercase",
        "kind-101",
        "kind-space",
        "apiversion-201",
        "apiversion-space",
        "custom-name-254",
    ],
)
def test_bad_names_are_refused_with_their_location(document: str, field: str, words: str) -> None:
    error = parse_error(FIRST + document, "names.yaml")

    assert error.file == "names.yaml"
    assert error.document == 1  # documents count from 0
    assert error.path == field
    assert error.line is not None
    top = field.split(".")[-1]
    assert (FIRST + document).splitlines()[error.line - 1].strip().startswith(f"{top}:")
    assert words in str(error)


def test_the_message_quotes_at_most_80_characters_of_a_long_name() -> None:
    error = parse_error("apiVersion: v1\nkind: Pod\nmetadata: {name: " + "a" * 5000 + ", namespace: x}\n")
    assert len(str(error)) < 400


def test_names_kubernetes_accepts_are_kept() -> None:
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == 253
    text = f"""\
    apiVersion: v1
    kind: Pod
    metadata: {{name: {longest}, namespace: {"n" * 63}}}
    ---
    apiVersion: example.com/v1
    kind: Widget
    metadata: {{name: Any_Name.Goes}}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: settings.v1, namespace: n-1}}
    """
    result = parse_files([("ok.yaml", textwrap.dedent(text))])
    assert [pod.name for pod in result.cluster.pods] == [longest]


@pytest.mark.parametrize(
    ("value", "label", "subdomain"),
    [
        ("a", True, True),
        ("a-b", True, True),
        ("a.b", False, True),
        ("-a", False, False),
        ("a..b", False, False),
        ("A", False, False),
        ("a" * 63, True, True),
        ("a" * 64, False, True),
        ("a" * 253, False, True),  # Kubernetes checks a subdomain's length, not each label's
        ("a" * 254, False, False),
    ],
)
def test_label_and_subdomain_rules(value: str, label: bool, subdomain: bool) -> None:
    assert (dns_label_problem(value) == "") is label
    assert (dns_subdomain_problem(value) == "") is subdomain


def test_a_policy_name_kubernetes_would_refuse_is_kept_with_a_note() -> None:
    text = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: use_common_labels, namespace: x}
    spec: {podSelector: {}}
    """
    result = parse_files([("np.yaml", textwrap.dedent(text))])

    assert [policy.name for policy in result.cluster.policies] == ["use_common_labels"]
    assert any(note.startswith("np.yaml:3: NetworkPolicy x/use_common_labels: ") for note in result.notes)


def test_a_policy_name_over_253_characters_is_refused() -> None:
    text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + "_" * 254 + "}\nspec: {}\n"
    assert parse_error(text).path == "metadata.name"
