"""A namespace view: one or more namespaces' pods or workloads with every edge in and out, each
other namespace drawn as one node, the external blocks as they are.

Its edges must equal the pod-level graph folded onto the view's nodes: a pod inside stays itself
(or becomes its workload), a pod of another namespace becomes that namespace's node, an edge
between two outer ends is left out, a workload to itself is not an edge. The pod-level graph is
the pair-by-pair reference (``reference_graph``), so the view is checked against the former
evaluation, not against itself; in one block and in the smallest blocks.
"""

from __future__ import annotations

import io
import json
import random

import pytest

from policies.engine import ConnectionSet, PolicyError, build_graph
from policies.engine.model import Cluster
from policies.engine.options import Settings
from policies.engine.reachability import Graph

from .calico.test_tables import random_calico_cluster
from .randomclusters import random_admin_cluster, random_cluster
from .reference_graph import reference_adjacency
from .test_cli import OLD, netpol

Edges = dict[tuple[str, str], ConnectionSet]


def _folded(cluster: Cluster, level: str, focus: set[str], evaluator: str, settings: Settings) -> Edges:
    """The reference pod-level edges folded onto the view's nodes."""
    pods = build_graph(cluster, level="pod", evaluator=evaluator, settings=settings)
    nodes = {n.id: n for n in pods.nodes}

    def end(node_id: str) -> tuple[str, bool]:
        node = nodes[node_id]
        if node.kind == "external":
            return node_id, False
        if node.namespace not in focus:
            return node.namespace, False
        return (node.workload if level == "workload" else node_id), True

    out: Edges = {}
    for u, row in reference_adjacency(cluster, "pod", evaluator, settings).items():
        for v, conn in row.items():
            (source, s_in), (target, t_in) = end(u), end(v)
            if not (s_in or t_in) or source == target:
                continue
            out[(source, target)] = out[(source, target)] | conn if (source, target) in out else conn
    return {key: conn for key, conn in out.items() if not conn.is_empty}


def _edges(graph: Graph) -> Edges:
    return {(e.source, e.target): e.conn for e in graph.edges()}


def _check(cluster: Cluster, seed: int, evaluator: str = "k8s", settings: Settings | None = None) -> int:
    settings = settings or Settings()
    namespaces = sorted({p.namespace for p in cluster.pods})
    rng = random.Random(seed)
    focuses = [{rng.choice(namespaces)}, set(rng.sample(namespaces, min(2, len(namespaces))))]
    seen = 0
    for focus in focuses:
        for level in ("pod", "workload"):
            want = _folded(cluster, level, focus, evaluator, settings)
            for budget in (1, 1 << 28):
                graph = build_graph(cluster, level=level, evaluator=evaluator, settings=settings,
                                    namespaces=focus, block_bytes=budget)
                assert _edges(graph) == want, (sorted(focus), level, budget)
                assert graph.stats()["edges"] == len(want)
                ids = {n.id for n in graph.nodes}
                assert {end for pair in want for end in pair} <= ids
                # every other namespace with pods is one node, of kind namespace
                outer = {p.namespace for p in cluster.pods} - focus
                assert outer <= ids and all(graph.node(ns).kind == "namespace" for ns in outer)
                assert all(n.namespace in focus for n in graph.nodes if n.kind in ("pod", "workload"))
            seen += len(want)
    return seen


@pytest.mark.parametrize("seed", range(10))
def test_sparse_clusters(seed: int) -> None:
    _check(random_cluster(seed, size=(8, 16)), seed)


@pytest.mark.parametrize("seed", range(6))
def test_dense_and_open_clusters(seed: int) -> None:
    dense = random_cluster(seed, noise=True, size=(20, 35), policies=(8, 16))
    open_ = random_cluster(seed, noise=True, size=(20, 35), policies=(0, 0))
    assert _check(dense, seed) + _check(open_, seed) > 0


@pytest.mark.parametrize("seed", range(6))
def test_node_rules(seed: int) -> None:
    """hostNetwork pods on a shared node: the settings that rebuild pairs from their pods' nodes."""
    settings = Settings(ip_block_matches_pod_ips=False, node_ingress_exempt=False, node_egress_exempt=True)
    _check(random_cluster(seed, noise=True, size=(15, 30), policies=(4, 10)), seed, settings=settings)


@pytest.mark.parametrize("seed", range(6))
def test_admin_policies(seed: int) -> None:
    _check(random_admin_cluster(seed), seed)


@pytest.mark.parametrize("seed", range(6))
def test_calico(seed: int) -> None:
    _check(random_calico_cluster(seed), seed, evaluator="calico")


def test_outer_namespace_nodes_carry_namespace_level_counts() -> None:
    cluster = random_cluster(3, noise=True, size=(20, 30), policies=(4, 8))
    namespaces = sorted({p.namespace for p in cluster.pods})
    view = build_graph(cluster, level="workload", namespaces=[namespaces[0]])
    whole = build_graph(cluster, level="namespace")
    for ns in namespaces[1:]:
        assert view.node(ns).to_dict() == whole.node(ns).to_dict()


def test_a_namespace_view_is_refused_at_namespace_level_and_for_a_namespace_without_pods() -> None:
    cluster = random_cluster(1)
    with pytest.raises(PolicyError, match="pod or workload level"):
        build_graph(cluster, level="namespace", namespaces=[cluster.pods[0].namespace])
    with pytest.raises(PolicyError, match="'nowhere' has no pods"):
        build_graph(cluster, level="workload", namespaces=["nowhere"])


def test_command_line_namespace_view() -> None:
    code, out, err = netpol("reach", OLD, "--level", "workload", "--namespace", "shop", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["namespaces"] == ["shop"]
    assert list(data)[:3] == ["evaluator", "level", "namespaces"]
    inside = {n["id"] for n in data["nodes"] if n["kind"] == "workload"}
    assert inside and all(i.startswith("shop/") for i in inside)
    assert all(e["source"] in inside or e["target"] in inside for e in data["edges"])
    whole = json.loads(netpol("reach", OLD, "--level", "workload", "--format", "json")[1])
    assert "namespaces" not in whole
    within = {(e["source"], e["target"]) for e in whole["edges"]
              if e["source"] in inside and e["target"] in inside}
    assert within == {(e["source"], e["target"]) for e in data["edges"]
                      if e["source"] in inside and e["target"] in inside}
    code, out, err = netpol("reach", OLD, "--namespace", "nowhere")
    assert code == 2 and "'nowhere' has no pods" in err


def test_text_formats_render_a_view() -> None:
    out = io.StringIO()
    from policies.engine import render

    cluster = random_cluster(2, size=(8, 12))
    ns = sorted({p.namespace for p in cluster.pods})[0]
    graph = build_graph(cluster, level="pod", namespaces=[ns])
    for fmt in ("txt", "csv", "dot", "md"):
        render(graph, fmt, out=out)
    assert out.getvalue()
