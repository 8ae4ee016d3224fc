"""The matrix evaluation (port atoms, group x peer bit matrices) against the pair-by-pair one.

``reference_graph.reference_adjacency`` is the former evaluation: per-group tables combined pair
by pair with ConnectionSet algebra. On random clusters (sparse, dense with many label combinations,
open, with admin network policies, with Calico tiers) and several settings, both give the same
edges with the same connections at pod, workload and namespace level; the Kubernetes matrices
filled rule by rule equal the tables cell by cell; and masks over atoms round-trip ConnectionSets.
"""

from __future__ import annotations

import random

import pytest

from policies.engine.admin.matrices import k8s_matrices
from policies.engine.admin.tables import apply_admin_tiers
from policies.engine.atoms import PortAtoms
from policies.engine.connections import ConnectionSet
from policies.engine.groups import GroupIndex
from policies.engine.model import Cluster
from policies.engine.options import Settings
from policies.engine.reachability import LEVELS, build_graph

from .calico.test_tables import random_calico_cluster
from .k8s_tables import k8s_tables
from .randomclusters import random_admin_cluster, random_cluster
from .reference_graph import reference_adjacency

KNOBS = [Settings(), Settings(ip_block_matches_pod_ips=False, node_ingress_exempt=False, node_egress_exempt=True)]
CALICO_KNOBS = [Settings(), Settings(ip_block_matches_pod_ips=False, default_endpoint_to_host_action="DROP")]


def _same_graph(cluster: Cluster, settings: Settings, evaluator: str = "k8s") -> int:
    edges = 0
    for level in LEVELS:
        got = build_graph(cluster, level=level, evaluator=evaluator, settings=settings).adjacency()
        want = reference_adjacency(cluster, level, evaluator, settings)
        assert got == want, level
        edges += sum(len(row) for row in got.values())
    return edges


@pytest.mark.parametrize("seed", range(40))
def test_sparse_clusters(seed: int) -> None:
    for settings in KNOBS:
        _same_graph(random_cluster(seed), settings)


@pytest.mark.parametrize("seed", range(30))
def test_dense_clusters_with_many_label_combinations(seed: int) -> None:
    cluster = random_cluster(seed, noise=True, size=(20, 40), policies=(8, 16))
    assert sum(_same_graph(cluster, s) for s in KNOBS) > 0


@pytest.mark.parametrize("seed", range(10))
def test_open_clusters(seed: int) -> None:
    cluster = random_cluster(seed, noise=True, size=(20, 40), policies=(0, 0))
    assert sum(_same_graph(cluster, s) for s in KNOBS) > 0


@pytest.mark.parametrize("seed", range(40))
def test_admin_policies(seed: int) -> None:
    cluster = random_admin_cluster(seed)
    assert cluster.admin_policies
    for settings in KNOBS:
        _same_graph(cluster, settings)


@pytest.mark.parametrize("seed", range(40))
def test_calico(seed: int) -> None:
    for settings in CALICO_KNOBS:
        _same_graph(random_calico_cluster(seed), settings, "calico")


@pytest.mark.parametrize("seed", range(40))
def test_k8s_matrices_equal_the_tables_cell_by_cell(seed: int) -> None:
    cluster = random_admin_cluster(seed) if seed % 2 else random_cluster(seed, noise=True, size=(10, 20),
                                                                         policies=(3, 8))
    index = GroupIndex(cluster, Settings())
    egress, ingress = k8s_tables(index)
    apply_admin_tiers(index, egress, ingress)
    dm = k8s_matrices(index)
    for g in index.groups:
        if g.host_network:
            continue  # a hostNetwork row is not read: its traffic is node traffic
        assert dm.egress_isolated[g.index] == egress[g.index].isolated
        assert dm.ingress_isolated[g.index] == ingress[g.index].isolated
        assert dm.egress_policies[g.index] == egress[g.index].policies
        assert dm.ingress_policies[g.index] == ingress[g.index].policies
        for peer in index.peer_keys():
            assert dm.egress_conn(g.index, peer) == egress[g.index].get(peer), (g.index, peer)
            assert dm.ingress_conn(g.index, peer) == ingress[g.index].get(peer), (g.index, peer)


def _random_set(rng: random.Random) -> ConnectionSet:
    conn = ConnectionSet.none()
    for _ in range(rng.randint(0, 4)):
        proto = rng.choice(["TCP", "UDP", "SCTP", "ICMP", "47"])
        lo = rng.randint(1, 65535)
        conn |= ConnectionSet.protocol(proto, lo, min(65535, lo + rng.choice([0, 1, 100, 70000])))
    return ConnectionSet.all() - conn if rng.random() < 0.3 else conn


def test_masks_round_trip_and_follow_the_algebra() -> None:
    rng = random.Random(7)
    for _ in range(200):
        sets = [_random_set(rng) for _ in range(rng.randint(1, 40))]
        atoms = PortAtoms(sets)
        for a in sets:
            assert atoms.conn(atoms.mask(a)) == a
            b = rng.choice(sets)
            assert atoms.conn(atoms.mask(a) | atoms.mask(b)) == a | b
            assert atoms.conn(atoms.mask(a) & atoms.mask(b)) == a & b
            assert atoms.conn(atoms.mask(a) & ~atoms.mask(b) & atoms.full) == a - b


def test_more_atoms_than_one_word() -> None:
    """Clusters whose rules name many ports need several 64-bit words per mask."""
    cluster = random_cluster(3, size=(10, 12), policies=(3, 3))
    from dataclasses import replace

    from policies.engine.k8s.model import NetworkPolicy, PortSpec, Rule
    from policies.engine.k8s.selector import LabelSelector

    rules = tuple(Rule((), (PortSpec("TCP", 1000 + 3 * i),)) for i in range(70))  # 70 distinct sets: over 64 atoms
    wide = NetworkPolicy("x", "wide", LabelSelector(()), frozenset({"Ingress"}), rules, ())
    cluster = replace(cluster, policies=(*cluster.policies, wide))
    index = GroupIndex(cluster, Settings())
    assert k8s_matrices(index).atoms.words > 1
    assert _same_graph(cluster, Settings()) > 0


@pytest.mark.parametrize("seed", range(30))
def test_vector_selection_equals_group_by_group_selection(seed: int) -> None:
    from policies.engine.k8s.vectors import GroupVectors

    cluster = random_cluster(seed, noise=True, size=(10, 30), policies=(4, 10))
    index = GroupIndex(cluster, Settings())
    vectors = GroupVectors(index)
    for np_ in cluster.policies:
        assert vectors.policy_rows(np_.namespace, np_.pod_selector) == [
            g.index for g in index.by_namespace.get(np_.namespace, ()) if np_.pod_selector.matches(g.labels)]
        for rule in (*np_.ingress, *np_.egress):
            for peer in rule.peers:
                assert vectors.peer(peer, np_.namespace).tolist() == sorted(index.select_k8s_peer(peer, np_.namespace))
