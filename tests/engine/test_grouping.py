"""Grouping pods only by what policies can tell apart changes no answer.

The reference is the grouping by every label, service account and named port (what the engine did
before it projected): on random clusters with labels and ports no policy reads, both give the same
nodes and edges at pod, workload and namespace level, and the projection gives fewer groups.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.engine import build_graph, lint
from policies.engine import groups as groups_module
from policies.engine.cluster import ContainerPort, Labels, Namespace, Pod
from policies.engine.groups import relevant_keys
from policies.engine.k8s.model import NetworkPolicy, PortSpec, Rule
from policies.engine.k8s.selector import LabelSelector, Requirement
from policies.engine.model import Cluster

from .randomclusters import random_cluster


def _graphs(cluster: Cluster, level: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, int, int]:
    projected = build_graph(cluster, level=level)
    with monkeypatch.context() as m:
        m.setattr(groups_module, "relevant_keys", lambda cluster: None)
        reference = build_graph(cluster, level=level)
    return projected.to_dict(), reference.to_dict(), projected.index.n_groups, reference.index.n_groups


@pytest.mark.parametrize("seed", range(40))
def test_projected_grouping_gives_the_same_graph(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = random_cluster(seed, noise=True, size=(6, 14))
    for level in ("pod", "workload", "namespace"):
        projected, reference, n_projected, n_reference = _graphs(cluster, level, monkeypatch)
        assert projected == reference, level
        assert n_projected <= n_reference


def _finding(data: dict[str, Any]) -> dict[str, Any]:
    if data["code"] == "NP005":  # names a few example pods, those of the first group it meets
        data["message"] = data["message"].split(" pods (")[0]
    return data


def test_projected_grouping_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(20):
        cluster = random_cluster(seed, noise=True, size=(6, 14))
        projected = [_finding(f.to_dict()) for f in lint(cluster)]
        with monkeypatch.context() as m:
            m.setattr(groups_module, "relevant_keys", lambda cluster: None)
            reference = [_finding(f.to_dict()) for f in lint(cluster)]
        assert projected == reference, seed


def _pod(name: str, labels: dict[str, str], ports: tuple[ContainerPort, ...] = ()) -> Pod:
    return Pod("a", name, Labels(labels), ports=ports)


def test_labels_and_ports_no_policy_reads_collapse() -> None:
    web = LabelSelector((Requirement("app", "In", frozenset({"web"})),))
    policy = NetworkPolicy("a", "np", web, frozenset({"Ingress"}),
                           ingress=(Rule((), (PortSpec("TCP", "http"),)),))
    pods = (
        _pod("w1", {"app": "web", "version": "1"}, (ContainerPort("http", 80), ContainerPort("metrics", 9100))),
        _pod("w2", {"app": "web", "version": "2"}, (ContainerPort("http", 80),)),
        _pod("w3", {"app": "web", "version": "3"}, (ContainerPort("http", 8080),)),
        _pod("d1", {"app": "db", "hash": "x"}),
        _pod("d2", {"app": "db", "hash": "y"}),
    )
    cluster = Cluster((Namespace("a", Labels({"kubernetes.io/metadata.name": "a"})),), pods, policies=(policy,))
    assert relevant_keys(cluster) == (frozenset({"app"}), frozenset({"http"}))
    graph = build_graph(cluster)
    groups = sorted((g.labels.to_dict()["app"], [p.name for p in g.pods], [p.port for p in g.ports])
                    for g in graph.index.groups)
    # w3 names another port number for "http": it stays apart; the versions and metrics do not count
    assert groups == [("db", ["d1", "d2"], []), ("web", ["w1", "w2"], [80]), ("web", ["w3"], [8080])]
    assert graph.allows("a/d1", "a/w3", "TCP", 8080) and not graph.allows("a/d1", "a/w3", "TCP", 80)
    assert graph.allows("a/d1", "a/w1", "TCP", 80) and not graph.allows("a/d1", "a/w1", "TCP", 9100)
