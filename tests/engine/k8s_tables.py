"""The Kubernetes evaluator's per-group direction tables (SEMANTICS.md 4.3 to 4.7): the former
evaluation, kept as the reference that the engine's rows (``k8s.matrices``) and lint are checked
against, group by group with ConnectionSet algebra.

For one endpoint group and one direction, a table gives the connections allowed to or from every
other peer (group or external block), as a default plus per-peer overrides, built from each
policy peer's selection computed once by the group index. No loop runs over pod pairs.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from policies.engine.connections import ConnectionSet
from policies.engine.groups import NONE, OPEN_TABLE, EndpointGroup, GroupIndex, PeerKey, Table
from policies.engine.keys import policy_key

if TYPE_CHECKING:
    from policies.engine.k8s.model import NetworkPolicy

__all__ = ["k8s_table", "k8s_tables"]


class _Overrides:
    """Per-peer connections of one table, gathered as the set of rule connections that reach each
    peer and united once per distinct set (peers reached by the same rules share the result)."""

    def __init__(self) -> None:
        self.conns: list[ConnectionSet] = []
        self._slot: dict[int, int] = {}  # id of a (cached, long-lived) ConnectionSet -> position
        self.hits: dict[PeerKey, set[int]] = defaultdict(set)

    def slot(self, conn: ConnectionSet) -> int:
        found = self._slot.get(id(conn))
        if found is None:
            found = self._slot[id(conn)] = len(self.conns)
            self.conns.append(conn)
        return found

    def add(self, keys: Iterable[PeerKey], conn: ConnectionSet) -> None:
        slot = self.slot(conn)
        hits = self.hits
        for key in keys:
            hits[key].add(slot)

    def united(self, default: ConnectionSet) -> dict[PeerKey, ConnectionSet]:
        cache: dict[frozenset[int], ConnectionSet] = {}
        out: dict[PeerKey, ConnectionSet] = {}
        for key, slots in self.hits.items():
            sig = frozenset(slots)
            conn = cache.get(sig)
            if conn is None:
                conn = default
                for s in sorted(sig):
                    conn = conn | self.conns[s]
                cache[sig] = conn
            out[key] = conn
        return out


def k8s_table(index: GroupIndex, group: EndpointGroup, direction: str) -> Table:
    """What ``group`` allows in ``direction`` under Kubernetes semantics (4.3 to 4.7)."""
    pols = index.k8s_policies(group, direction)
    if not pols:
        return OPEN_TABLE
    default = NONE
    extra = _Overrides()
    for np in pols:
        for rule in np.rules(direction):
            if direction == "Ingress":
                conn = index.resolve_ports(rule.ports, group.ports)
                if conn.is_empty:
                    continue
                if not rule.peers:
                    default |= conn
                    continue
                for peer in rule.peers:
                    extra.add(index.select_k8s_peer(peer, np.namespace), conn)
            else:
                if not rule.peers:
                    default |= index.resolve_ports(rule.ports, None)
                    if any(isinstance(p.port, str) for p in rule.ports):
                        for g in index.groups:
                            if not g.host_network:
                                extra.add((g.index,), index.resolve_ports(rule.ports, g.ports))
                    continue
                for peer in rule.peers:
                    keys = index.select_k8s_peer(peer, np.namespace)
                    if not index.has_named(rule.ports):
                        conn = index.resolve_ports(rule.ports, None)
                        if conn:
                            extra.add(keys, conn)
                        continue
                    for key in keys:
                        conn = index.resolve_ports(rule.ports, index.dst_ports(key))
                        if conn:
                            extra.add((key,), conn)
    return Table(default, extra.united(default), isolated=True, policies=tuple(sorted(_key(np) for np in pols)))


def k8s_tables(
    index: GroupIndex, progress: Callable[[float], None] | None = None
) -> tuple[list[Table], list[Table]]:
    """Egress and ingress tables of every group."""
    egress: list[Table] = []
    ingress: list[Table] = []
    n = max(1, index.n_groups)
    for g in index.groups:
        egress.append(k8s_table(index, g, "Egress"))
        ingress.append(k8s_table(index, g, "Ingress"))
        if progress is not None and g.index % 64 == 0:
            progress(g.index / n)
    return egress, ingress


def _key(np: NetworkPolicy) -> str:
    """A NetworkPolicy's key (keys.py)."""
    return policy_key("NetworkPolicy", np.namespace, np.name)
