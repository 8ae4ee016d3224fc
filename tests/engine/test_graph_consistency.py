"""The graph (computed per endpoint group) agrees with the per-flow evaluator on every pair.

Random clusters exercise selectors, ipBlocks with except, named ports, ranges, hostNetwork pods,
pods without IPs and workload templates; every pod pair, node and external block is probed on the
ports the policies mention.
"""

from __future__ import annotations

import pytest

from policies.engine import build_graph, evaluate, make_flow
from policies.engine.model import Cluster
from policies.engine.options import Settings

from .randomclusters import random_cluster

PROBES = [("TCP", 53), ("UDP", 53), ("TCP", 80), ("TCP", 81), ("TCP", 90), ("SCTP", 80), ("TCP", 8080),
          ("UDP", 8080), ("TCP", 9090), ("UDP", 9090), ("TCP", 8085)]


def _endpoint_ids(cluster: Cluster) -> list[str]:
    return [p.workload_id if p.from_template else p.id for p in cluster.pods]


def _check(cluster: Cluster, settings: Settings, evaluator: str = "k8s") -> int:
    graph = build_graph(cluster, level="pod", evaluator=evaluator, settings=settings)
    ids = _endpoint_ids(cluster)
    cluster_ips = {str(ip) for p in cluster.pods for ip in p.ips} | {str(ip) for n in cluster.nodes for ip in n.ips}
    externals = [n for n in graph.nodes if n.kind == "external" and str(graph.index.blocks[
        n.groups[0] - graph.index.n_groups].representative()) not in cluster_ips]
    checked = 0
    for src in ids:
        for dst in ids:
            if src == dst:
                continue
            for proto, port in PROBES:
                flow = make_flow(cluster, src, dst, protocol=proto, port=port)
                expected = evaluate(cluster, flow, evaluator=evaluator, settings=settings).allowed
                assert graph.allows(src, dst, proto, port) == expected, (src, dst, proto, port)
                checked += 1
        for ext in externals:
            ip = str(graph.index.blocks[ext.groups[0] - graph.index.n_groups].representative())
            for proto, port in PROBES:
                out = evaluate(cluster, make_flow(cluster, src, ip, protocol=proto, port=port),
                               evaluator=evaluator, settings=settings).allowed
                into = evaluate(cluster, make_flow(cluster, ip, src, protocol=proto, port=port),
                                evaluator=evaluator, settings=settings).allowed
                assert graph.allows(src, ext.id, proto, port) == out, (src, ext.id, proto, port)
                assert graph.allows(ext.id, src, proto, port) == into, (ext.id, src, proto, port)
                checked += 2
    return checked


@pytest.mark.parametrize("seed", range(60))
def test_graph_matches_flow_evaluator(seed: int) -> None:
    cluster = random_cluster(seed)
    assert _check(cluster, Settings()) > 0


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_graph_matches_flow_evaluator_with_other_knobs(seed: int) -> None:
    cluster = random_cluster(seed)
    knobs = Settings(ip_block_matches_pod_ips=False, node_ingress_exempt=False, node_egress_exempt=True)
    assert _check(cluster, knobs) > 0


@pytest.mark.parametrize("seed", range(0, 60, 4))
def test_graph_matches_flow_evaluator_with_labels_no_policy_reads(seed: int) -> None:
    cluster = random_cluster(seed, noise=True, size=(6, 10))
    assert _check(cluster, Settings()) > 0


@pytest.mark.parametrize("seed", range(40))
def test_graph_matches_flow_evaluator_with_admin_policies(seed: int) -> None:
    """The same, with AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy of both
    tiers (namespaces, pods, networks and nodes peers, named ports, ranges, SCTP, Pass)."""
    from .randomclusters import random_admin_cluster

    cluster = random_admin_cluster(seed)
    assert cluster.admin_policies
    assert _check(cluster, Settings()) > 0


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_graph_matches_flow_evaluator_with_admin_policies_and_other_knobs(seed: int) -> None:
    from .randomclusters import random_admin_cluster

    knobs = Settings(ip_block_matches_pod_ips=False, node_ingress_exempt=False, node_egress_exempt=True)
    assert _check(random_admin_cluster(seed), knobs) > 0


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_graph_matches_flow_evaluator_on_dense_clusters(seed: int) -> None:
    """Many pods with many label combinations, many policies allowing across namespaces."""
    cluster = random_cluster(seed, noise=True, size=(12, 18), policies=(6, 10))
    assert _check(cluster, Settings()) > 0


@pytest.mark.parametrize("seed", range(0, 40, 8))
def test_graph_matches_flow_evaluator_on_open_clusters(seed: int) -> None:
    """No policy at all: every pair connects."""
    cluster = random_cluster(seed, noise=True, size=(8, 14), policies=(0, 0))
    assert not cluster.policies
    assert _check(cluster, Settings()) > 0
