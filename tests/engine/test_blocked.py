"""The evaluation in small blocks gives exactly the graph of the evaluation in one block.

``build_graph(block_bytes=...)`` bounds every array the evaluation holds at once: with a budget
of a few bytes each block is one row and each chunk one level node, so rows are rebuilt for every
chunk, reduced piece by piece and ORed together; with a middle budget the chunks hold several
level nodes and rows are built several at a time but not kept. Both must give the same edges,
with the same connections, as the default budget (one block for these small clusters), at pod,
workload and namespace level, on sparse, dense, open, admin and Calico random clusters, and
with the settings that change the node rules (which rebuild some pairs from their pods' nodes).
"""

from __future__ import annotations

import pytest

from policies.engine.model import Cluster
from policies.engine.options import Settings
from policies.engine.reachability import LEVELS, build_graph

from .calico.test_tables import random_calico_cluster
from .randomclusters import random_admin_cluster, random_cluster
from .reference_graph import reference_adjacency

KNOBS = [Settings(), Settings(ip_block_matches_pod_ips=False, node_ingress_exempt=False, node_egress_exempt=True)]
CALICO_KNOBS = [Settings(), Settings(ip_block_matches_pod_ips=False, default_endpoint_to_host_action="DROP")]
BUDGETS = (1, 4_000)


def _same_in_blocks(cluster: Cluster, settings: Settings, evaluator: str = "k8s") -> int:
    edges = 0
    for level in LEVELS:
        whole = build_graph(cluster, level=level, evaluator=evaluator, settings=settings)
        want = whole.adjacency()
        for budget in BUDGETS:
            graph = build_graph(cluster, level=level, evaluator=evaluator, settings=settings, block_bytes=budget)
            got = {e.source: {} for e in graph.edges()}  # streamed, as the writers read it
            for e in graph.edges():
                got[e.source][e.target] = e.conn
            assert got == want, (level, budget)
            assert graph.stats()["edges"] == sum(len(row) for row in want.values())
        edges += sum(len(row) for row in want.values())
    return edges


@pytest.mark.parametrize("seed", range(15))
def test_sparse_clusters(seed: int) -> None:
    for settings in KNOBS:
        _same_in_blocks(random_cluster(seed, size=(6, 14)), settings)


@pytest.mark.parametrize("seed", range(12))
def test_dense_clusters(seed: int) -> None:
    cluster = random_cluster(seed, noise=True, size=(20, 40), policies=(8, 16))
    assert sum(_same_in_blocks(cluster, s) for s in KNOBS) > 0


@pytest.mark.parametrize("seed", range(6))
def test_open_clusters(seed: int) -> None:
    cluster = random_cluster(seed, noise=True, size=(20, 40), policies=(0, 0))
    assert sum(_same_in_blocks(cluster, s) for s in KNOBS) > 0


@pytest.mark.parametrize("seed", range(12))
def test_admin_policies(seed: int) -> None:
    for settings in KNOBS:
        _same_in_blocks(random_admin_cluster(seed), settings)


@pytest.mark.parametrize("seed", range(12))
def test_calico(seed: int) -> None:
    for settings in CALICO_KNOBS:
        _same_in_blocks(random_calico_cluster(seed), settings, "calico")


@pytest.mark.parametrize("seed", range(8))
def test_blocks_against_the_pair_by_pair_reference(seed: int) -> None:
    """The smallest blocks against the former evaluation directly (not only against one block)."""
    cluster = random_cluster(seed, noise=True, size=(15, 30), policies=(4, 10))
    for level in LEVELS:
        for settings in KNOBS:
            got = build_graph(cluster, level=level, settings=settings, block_bytes=1).adjacency()
            assert got == reference_adjacency(cluster, level, "k8s", settings), level


def test_many_pods_per_group_at_namespace_level() -> None:
    """A -> A lists pods of A among themselves: a group of two pods reaches itself, a group of one
    does not, in every block size."""
    cluster = random_cluster(5, size=(40, 60), policies=(2, 4))
    from policies.engine.groups import GroupIndex

    index = GroupIndex(cluster, Settings())
    assert any(len(g.pods) > 1 for g in index.groups) and any(len(g.pods) == 1 for g in index.groups)
    want = reference_adjacency(cluster, "namespace", "k8s", Settings())
    for budget in (1, 4_000, 1 << 28):
        assert build_graph(cluster, level="namespace", block_bytes=budget).adjacency() == want


@pytest.mark.parametrize("seed", range(8))
def test_summary_streamed_equals_summary_of_the_held_graph(seed: int) -> None:
    """``summary`` reads the edges in one pass when the level graph is not held; the same answers
    as from the held adjacency, whose counts it checks against."""
    cluster = random_admin_cluster(seed)
    for level in LEVELS:
        streamed = build_graph(cluster, level=level, block_bytes=1).summary()
        graph = build_graph(cluster, level=level)
        adjacency = graph.adjacency()
        held = graph.summary()
        assert streamed == held
        assert held["counts"]["edges"] == sum(len(row) for row in adjacency.values())
        external = {n.id for n in graph.nodes if n.kind == "external"}
        assert held["exposed_to_external"] == sorted({v for u in external for v in adjacency.get(u, {})})
