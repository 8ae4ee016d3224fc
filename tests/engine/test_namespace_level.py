"""The namespace level: an edge A -> B is the union of the pod edges between them, A -> A included."""

from __future__ import annotations

from collections import defaultdict

import pytest

from policies.engine import ConnectionSet, build_graph, parse_files
from policies.engine.model import Cluster

from .randomclusters import random_cluster

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty}
---
apiVersion: v1
kind: Pod
metadata: {name: a1, namespace: a, labels: {app: one}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b1, namespace: b, labels: {app: two}}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: b2, namespace: b, labels: {app: two}}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: c, labels: {app: web}, ownerReferences: [{kind: ReplicaSet, name: web-5d4f}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: c, labels: {app: web}, ownerReferences: [{kind: ReplicaSet, name: web-5d4f}]}
status: {podIP: 10.0.1.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-team-x-on-80, namespace: b}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: x}}
    ports: [{port: 80}]
"""


def _pod_level_union(cluster: Cluster) -> dict[tuple[str, str], ConnectionSet]:
    pod = build_graph(cluster, level="pod")
    namespace_of = {n.id: n.namespace if n.kind != "external" else n.id for n in pod.nodes}
    union: dict[tuple[str, str], ConnectionSet] = defaultdict(ConnectionSet.none)
    for e in pod.edges():
        key = (namespace_of[e.source], namespace_of[e.target])
        union[key] = union[key] | e.conn
    return dict(union)


def test_namespace_nodes_and_edges() -> None:
    cluster = parse_files([("ns.yaml", MANIFESTS)]).cluster
    graph = build_graph(cluster, level="namespace")
    nodes = {n["id"]: n for n in graph.to_dict()["nodes"]}

    assert {k: (n["kind"], n.get("pod_count"), n.get("workload_count")) for k, n in nodes.items()} == {
        "a": ("namespace", 1, 1), "b": ("namespace", 2, 2), "empty": ("namespace", 0, 0),
        "c": ("namespace", 2, 1),
        "0.0.0.0/0": ("external", None, None)}
    assert nodes["a"]["labels"]["team"] == "x"
    edges = {(e.source, e.target): str(e.conn) for e in graph.edges()}
    assert edges == {
        ("a", "b"): "TCP 80",
        ("b", "a"): "All Connections",
        ("c", "c"): "All Connections",
        ("a", "c"): "All Connections", ("c", "a"): "All Connections", ("b", "c"): "All Connections",
        ("c", "0.0.0.0/0"): "All Connections", ("0.0.0.0/0", "c"): "All Connections",
        ("a", "0.0.0.0/0"): "All Connections",
        ("b", "0.0.0.0/0"): "All Connections",
        ("0.0.0.0/0", "a"): "All Connections",
    }
    # b's pods are isolated for ingress and only team x may enter: b -> b is closed; a has one pod,
    # and a pod to itself is not an edge, so there is no a -> a either; c's two pods talk.
    assert ("b", "b") not in edges and ("a", "a") not in edges


@pytest.mark.parametrize("seed", range(40))
def test_namespace_edges_are_the_union_of_pod_edges(seed: int) -> None:
    cluster = random_cluster(seed)
    graph = build_graph(cluster, level="namespace")
    assert {(e.source, e.target): e.conn for e in graph.edges()} == _pod_level_union(cluster)
