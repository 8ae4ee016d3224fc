"""Diffing two computed graphs gives what diffing their JSON forms gives (``diff`` reads the graphs'
edges directly instead of writing and reading every edge)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from policies.engine import build_graph, diff, diff_dicts
from policies.engine.groups import address_sets

from .randomclusters import random_admin_cluster, random_cluster


@pytest.mark.parametrize("seed", range(30))
def test_graph_diff_equals_json_diff(seed: int) -> None:
    old = random_admin_cluster(seed) if seed % 3 == 0 else random_cluster(seed, size=(6, 14), policies=(2, 6))
    dropped = old.policies[seed % len(old.policies)] if old.policies else None
    new = replace(old, policies=tuple(p for p in old.policies if p is not dropped),
                  pods=old.pods[:-1] if seed % 2 else old.pods)
    for level in ("pod", "workload", "namespace"):
        before = build_graph(old, level=level, extra_address_sets=address_sets(new))
        after = build_graph(new, level=level, extra_address_sets=address_sets(old))
        got = diff(before, after)
        assert got == diff_dicts(before.to_dict(), after.to_dict())
        if dropped is not None and level == "pod" and not got.is_empty:
            assert got.policies_changed


@pytest.mark.parametrize("seed", range(0, 30, 5))
def test_graphs_written_before_nodes_carried_keys_diff_the_same(seed: int) -> None:
    """A graph stored before its nodes named policies by key (engine ids: "ns/name") diffs as the
    same graph with keys: each id is read as the keys of the graph's policies with that id."""
    old = random_cluster(seed, size=(6, 14), policies=(2, 6))
    new = replace(old, policies=old.policies[1:])
    before = build_graph(old, level="pod", extra_address_sets=address_sets(new)).to_dict()
    after = build_graph(new, level="pod", extra_address_sets=address_sets(old)).to_dict()
    ids = {p["key"]: p["id"] for p in before["policies"]}
    legacy = {
        **before,
        "nodes": [
            {**n, "policies": {d: [ids[k] for k in ks] for d, ks in n["policies"].items()}} if "policies" in n else n
            for n in before["nodes"]
        ],
    }
    assert any(n.get("policies", {}).get("ingress") for n in before["nodes"])
    named = [k for n in before["nodes"] for k in n.get("policies", {}).get("ingress", [])]
    assert all(k.startswith("NetworkPolicy/") for k in named)
    assert diff_dicts(legacy, after) == diff_dicts(before, after)
