"""The former pair-by-pair evaluation, kept as a reference for the matrix evaluation.

Per-group direction tables (``k8s_tables`` with the admin tiers folded, or ``calico_tables``),
combined group pair by group pair with ConnectionSet algebra, then expanded to level edges
member by member: the engine's graph before it moved to port atoms and bit matrices. Slow, and
simple enough to read against SEMANTICS.md.
"""

from __future__ import annotations

from collections import defaultdict

from policies.engine.admin.tables import apply_admin_tiers
from policies.engine.connections import ConnectionSet
from policies.engine.evaluate import choose_evaluator
from policies.engine.groups import ALL, NONE, EndpointGroup, GroupIndex, Table
from policies.engine.model import Cluster
from policies.engine.options import Settings
from policies.engine.reachability import _level_id

from .k8s_tables import k8s_tables

Adjacency = dict[str, dict[str, ConnectionSet]]


def _pair(index: GroupIndex, egress: list[Table], ingress: list[Table], evaluator: str,
          a: EndpointGroup, b: EndpointGroup) -> tuple[ConnectionSet, ConnectionSet | None]:
    settings = index.settings
    if a.host_network and b.host_network:
        return ALL, None
    if a.host_network:
        ing = ingress[b.index].get(a.index)
        same = None
        if a.nodes & b.nodes:
            same = ALL if evaluator == "calico" or settings.node_ingress_exempt else ing
        return ing, same
    eg = egress[a.index].get(b.index)
    if b.host_network:
        same = None
        if b.nodes & a.nodes:
            if evaluator == "calico":
                same = NONE if settings.default_endpoint_to_host_action == "DROP" else eg
            else:
                same = egress[a.index].node_exempt.get(b.index, ALL) if settings.node_egress_exempt else eg
        return eg, same
    return eg & ingress[b.index].get(a.index), None


def reference_adjacency(cluster: Cluster, level: str, evaluator: str, settings: Settings) -> Adjacency:
    """Level edges as the pair-by-pair evaluation computed them."""
    chosen = choose_evaluator(cluster, evaluator)
    index = GroupIndex(cluster, settings)
    if chosen == "calico":
        from policies.engine.calico.tables import calico_tables

        egress, ingress = calico_tables(index)
    else:
        egress, ingress = k8s_tables(index)
        apply_admin_tiers(index, egress, ingress)
    n = index.n_groups
    edges: dict[tuple[int, int], tuple[ConnectionSet, ConnectionSet | None]] = {}
    for a in index.groups:
        for b in index.groups:
            conn, same = _pair(index, egress, ingress, chosen, a, b)
            if same is not None and same != conn:
                edges[(a.index, b.index)] = (conn, same)
            elif conn:
                edges[(a.index, b.index)] = (conn, None)
        for block in index.blocks:
            key = n + block.index
            to_block = egress[a.index].get(key) if not a.host_network else ALL
            if to_block:
                edges[(a.index, key)] = (to_block, None)
            from_block = ingress[a.index].get(key) if not a.host_network else ALL
            if from_block:
                edges[(key, a.index)] = (from_block, None)
    members: dict[int, dict[str, set[str]]] = defaultdict(dict)
    for g in index.groups:
        for pod in g.pods:
            nodes = members[g.index].setdefault(_level_id(pod, level), set())
            if pod.node:
                nodes.add(pod.node)
    for b in index.blocks:
        members[n + b.index][b.id] = set()
    self_loops = level == "namespace"
    acc: Adjacency = defaultdict(dict)
    for (a, b), (conn, same) in edges.items():
        for u, unodes in members[a].items():
            for v, vnodes in members[b].items():
                if u == v and (not self_loops or (a == b and len(index.groups[a].pods) < 2)):
                    continue
                c = conn
                if same is not None:
                    shared = unodes & vnodes
                    apart = not shared or len(unodes | vnodes) > 1
                    c = (same if shared else NONE) | (conn if apart else NONE)
                if c.is_empty:
                    continue
                old = acc[u].get(v)
                acc[u][v] = c if old is None else old | c
    return {u: dict(row) for u, row in acc.items() if row}
