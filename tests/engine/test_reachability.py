"""Graph-level marks: nodes whose edges the graph cannot state exactly say so."""

from __future__ import annotations

from policies.engine import build_graph, explain, parse_files

HTTP = """
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: http-only, namespace: x}
spec:
  selector: app == 'a'
  ingress:
  - action: Allow
    protocol: TCP
    http: {methods: [GET]}
  - action: Allow
    protocol: ICMP
    icmp: {type: 8}
"""


def test_calico_rules_read_approximately_mark_the_nodes_they_apply_to() -> None:
    cluster = parse_files([("h.yaml", HTTP)]).cluster
    graph = build_graph(cluster)
    nodes = {n["id"]: n for n in graph.to_dict()["nodes"]}
    assert nodes["x/a"]["approximate"] == ["x/http-only ingress rule 0: http", "x/http-only ingress rule 1: ICMP type"]
    assert "approximate" not in nodes["x/b"]
    assert graph.summary()["approximate"] == ["x/a"]
    # The graph takes the http match as matching; the explanation says it is approximate.
    assert graph.allows("x/b", "x/a", "TCP", 80)
    assert explain(cluster, "x/b", "x/a", port=80).result.ingress.approximate


def test_kubernetes_only_graphs_have_no_marks() -> None:
    cluster = parse_files([("h.yaml", HTTP.split("---\napiVersion: projectcalico.org/v3")[0])]).cluster
    data = build_graph(cluster).to_dict()
    assert not any("approximate" in n or "unsupported" in n for n in data["nodes"])


def test_level_graph_as_networkx() -> None:
    cluster = parse_files([("h.yaml", HTTP)]).cluster
    graph = build_graph(cluster, level="workload")
    nxg = graph.to_networkx()
    assert set(nxg.nodes) == {n.id for n in graph.nodes}
    assert {(u, v) for u, v in nxg.edges} == {(e.source, e.target) for e in graph.edges()}
    assert nxg.edges["x/Pod/b", "x/Pod/a"]["conn"] == graph.connection("x/Pod/b", "x/Pod/a")
