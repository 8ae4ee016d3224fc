"""Property tests of the parser and the engine: a valid cluster mutated at random (a value
replaced, a key removed, a list emptied or filled with junk) either parses and is answered (graph
and an explanation per pod pair) or is refused with the engine's own PolicyError naming the file
and a line inside it. Nothing else may escape: no KeyError, TypeError or RecursionError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import engine
from policies.engine.errors import PolicyError
from policies.engine.parse import parse_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BASE = list(yaml.safe_load_all((FIXTURES / "workloads.yaml").read_text())) + [
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                         "ports": [{"protocol": "TCP", "port": "http"}, {"port": 53, "endPort": 60}]}],
            "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [
                {"key": "team", "operator": "In", "values": ["a"]}]}}]}],
        },
    }
]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "TCP", "UDP", "SCTP", "ICMP", "In", "NotIn", "Exists", "0.0.0.0/0", "::/0", "a" * 300, "-1"]),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found.extend(paths(child, (*prefix, i)))
    return found


ALL_PATHS = [p for p in paths(BASE) if len(p) >= 2]


def mutate(objects: list[Any], path: tuple[Any, ...], action: str, value: Any) -> list[Any]:
    mutated = copy.deepcopy(objects)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value
    return mutated


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete", "wrap"]), VALUES),
        min_size=1,
        max_size=3,
    )
)
def test_a_mutated_cluster_is_answered_or_refused_with_a_location(mutations: list[Any]) -> None:
    objects = BASE
    for path, action, value in mutations:
        try:
            objects = mutate(objects, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    text = yaml.safe_dump_all(objects, allow_unicode=True)
    try:
        result = parse_files([("mutated.yaml", text)])
    except PolicyError as exc:
        assert exc.file == "mutated.yaml"
        if exc.line is not None:
            assert 1 <= exc.line <= text.count("\n") + 1
        return
    graph = engine.build_graph(result.cluster, level="pod")
    assert graph.to_dict()["nodes"] is not None
    pods = [f"{pod.namespace}/{pod.name}" for pod in result.cluster.pods][:3]
    for source in pods:
        for destination in pods:
            try:
                engine.explain(result.cluster, source, destination, port=8080).to_dict()
            except PolicyError as exc:
                assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "items"]), VALUES)))
def test_random_documents_are_parsed_or_refused_with_the_file(objects: list[Any]) -> None:
    text = yaml.safe_dump_all(objects, allow_unicode=True)
    try:
        parse_files([("random.yaml", text)])
    except PolicyError as exc:
        assert exc.file == "random.yaml"
