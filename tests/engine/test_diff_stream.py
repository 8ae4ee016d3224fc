"""``diff`` of two computed graphs merges their sorted edge streams instead of holding either
level graph: it gives exactly what diffing the graphs' JSON forms gives, on versions that share
nothing as well as on versions that differ in one policy (test_diff_fast.py, test_diff_graphs.py,
and the corpus cases there)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from policies.engine import build_graph, diff, diff_dicts
from policies.engine.cluster import Labels
from policies.engine.connections import ConnectionSet
from policies.engine.diff import _dict_changes, _stream_changes
from policies.engine.groups import address_sets
from policies.engine.model import Cluster
from policies.engine.reachability import Graph, GraphEdge

from .randomclusters import random_admin_cluster, random_cluster

LEVELS = ("pod", "workload", "namespace")


def _version(seed: int) -> Cluster:
    shape = seed % 4
    if shape == 0:
        return random_admin_cluster(seed)
    if shape == 1:  # dense: many pods and policies
        return random_cluster(seed, size=(12, 24), policies=(6, 12), noise=True)
    if shape == 2:  # open: no policies
        return random_cluster(seed, size=(4, 12), policies=(0, 0))
    return random_cluster(seed, size=(2, 14), policies=(1, 6))


def _no_adjacency(self: Graph) -> None:
    raise AssertionError("diff held a whole level graph (Graph.adjacency)")


@pytest.mark.parametrize("seed", range(24))
def test_diff_of_unrelated_versions_equals_the_json_diff(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two versions drawn on their own (pods, labels, namespaces and policies all differ): flows
    added, removed and changed, nodes added and removed, each flow's responsible policies."""
    old, new = _version(seed), _version(seed + 1000)
    for level in LEVELS:
        before = build_graph(old, level=level, extra_address_sets=address_sets(new))
        after = build_graph(new, level=level, extra_address_sets=address_sets(old))
        want = diff_dicts(json.loads(json.dumps(before.to_dict())), json.loads(json.dumps(after.to_dict())))
        with monkeypatch.context() as m:
            m.setattr(Graph, "adjacency", _no_adjacency)
            got = diff(build_graph(old, level=level, extra_address_sets=address_sets(new)),
                       build_graph(new, level=level, extra_address_sets=address_sets(old)))
        assert got == want
        assert got.to_dict() == want.to_dict()


@pytest.mark.parametrize("seed", range(12))
def test_diff_of_changed_endpoints_equals_the_json_diff(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same policies over pods relabelled, dropped and added: flows change because of the
    endpoints, and the policies on their ends are named."""
    rng = random.Random(seed)
    old = random_cluster(seed, size=(8, 16), policies=(2, 6))
    pods = [replace(p, labels=Labels({"app": rng.choice("ab"), "tier": "b"})) if rng.random() < 0.3 else p
            for p in old.pods if rng.random() < 0.8]
    extra = random_cluster(seed + 500, size=(2, 4), policies=(0, 0)).pods
    pods += [replace(p, name=f"new-{p.name}") for p in extra]
    new = replace(old, pods=tuple(sorted(pods, key=lambda p: (p.namespace, p.name))))
    for level in LEVELS:
        before = build_graph(old, level=level, extra_address_sets=address_sets(new))
        after = build_graph(new, level=level, extra_address_sets=address_sets(old))
        want = diff_dicts(before.to_dict(), after.to_dict())
        monkeypatch.setattr(Graph, "adjacency", _no_adjacency)
        assert diff(before, after) == want
        monkeypatch.undo()


@pytest.mark.parametrize("seed", range(12))
def test_graph_edges_come_sorted_as_python_strings(seed: int) -> None:
    """The merge's assumption: edges by source, then target, node ids compared as Python strings
    (external blocks such as "0.0.0.0-9.255.255.255" and "10.0.0.0/15" among the pods)."""
    cluster = _version(seed)
    for level in LEVELS:
        keys = [(e.source, e.target) for e in build_graph(cluster, level=level).edges()]
        assert keys == sorted(set(keys))


# -- the merge itself --------------------------------------------------------------------------

_IDS = ["0.0.0.0-9.255.255.255", "10.0.0.0/15", "10.0.0.0/8", "9.0.0.0/8", "X/Pod/a", "x/Pod/a", "x/Pod/a-b",
        "x/Pod/a/b", "x/Pod/ab", "x-y/Pod/a", "y/Deployment/é", "y/Deployment/z"]


def _pool() -> list[ConnectionSet]:
    """Connection sets, some equal but distinct objects (a diff compares identity, then value)."""
    sets = [ConnectionSet.all(), ConnectionSet.protocol("TCP", 80, 80), ConnectionSet.protocol("UDP", 53, 53),
            ConnectionSet.protocol("TCP", 80, 80) | ConnectionSet.protocol("UDP", 53, 53), ConnectionSet.none()]
    return sets + [ConnectionSet.from_dict(s.to_dict()) for s in sets]


def _edges(rng: random.Random, pool: list[ConnectionSet], density: float) -> dict[tuple[str, str], ConnectionSet]:
    return {(u, v): rng.choice(pool) for u in _IDS for v in _IDS if u != v and rng.random() < density}


def _stream(edges: dict[tuple[str, str], ConnectionSet]) -> list[GraphEdge]:
    return [GraphEdge(u, v, c) for (u, v), c in sorted(edges.items())]


@pytest.mark.parametrize("seed", range(60))
def test_merged_streams_give_the_changes_of_the_whole_edge_sets(seed: int) -> None:
    rng = random.Random(seed)
    pool = _pool()
    old = _edges(rng, pool, rng.choice([0.0, 0.1, 0.5, 0.9]))
    if seed % 3 == 0:  # mostly the same flows, a few edited
        new = {k: (rng.choice(pool) if rng.random() < 0.1 else c) for k, c in old.items() if rng.random() < 0.95}
        new.update(_edges(rng, pool, 0.05))
    else:
        new = _edges(rng, pool, rng.choice([0.0, 0.1, 0.5, 0.9]))
    got = list(_stream_changes(_stream(old), _stream(new)))
    assert got == _dict_changes(old, new)
    assert got == [(u, v, old.get((u, v), ConnectionSet.none()), new.get((u, v), ConnectionSet.none()))
                   for u, v in sorted(set(old) | set(new))
                   if old.get((u, v), ConnectionSet.none()) != new.get((u, v), ConnectionSet.none())]


@pytest.mark.parametrize("which", ["old", "new"])
@pytest.mark.parametrize("edges", [
    [("x/b", "y/a"), ("x/a", "y/b")],  # sources out of order
    [("x/a", "y/b"), ("x/a", "y/a")],  # targets out of order
    [("x/a", "y/a"), ("x/a", "y/a")],  # one flow twice
])
def test_a_stream_out_of_order_is_refused(which: str, edges: list[tuple[str, str]]) -> None:
    """A stream out of order would turn equal flows into a removal and an addition: refused."""
    bad = [GraphEdge(u, v, ConnectionSet.all()) for u, v in edges]
    good = [GraphEdge("x/a", "y/a", ConnectionSet.all())]
    streams = (bad, good) if which == "old" else (good, bad)
    with pytest.raises(RuntimeError, match=f"the {which} graph's edges are out of order"):
        list(_stream_changes(*streams))
