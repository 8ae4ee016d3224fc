"""The Kubernetes evaluator's per-group direction tables (SEMANTICS.md 4.3 to 4.7).

For one endpoint group and one direction, a table gives the connections allowed to or from every
other peer (group or external block), as a default plus per-peer overrides, built from each
policy peer's selection computed once by the group index. No loop runs over pod pairs.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections.abc import Callable

from policies.engine.connections import ConnectionSet
from policies.engine.groups import NONE, OPEN_TABLE, EndpointGroup, GroupIndex, PeerKey, Table

__all__ = ["k8s_table", "k8s_tables"]


def _add(extra: dict[PeerKey, ConnectionSet], key: PeerKey, conn: ConnectionSet) -> None:
    old = extra.get(key)
    if old is None:
        extra[key] = conn
    elif old is not conn:  # the port cache hands out shared objects: skip the common repeat
        extra[key] = old | conn


def k8s_table(index: GroupIndex, group: EndpointGroup, direction: str) -> Table:
    """What ``group`` allows in ``direction`` under Kubernetes semantics (4.3 to 4.7)."""
    pols = index.k8s_policies(group, direction)
    if not pols:
        return OPEN_TABLE
    default = NONE
    extra: dict[PeerKey, ConnectionSet] = {}
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
                    for key in index.select_k8s_peer(peer, np.namespace):
                        _add(extra, key, conn)
            else:
                if not rule.peers:
                    default |= index.resolve_ports(rule.ports, None)
                    if any(isinstance(p.port, str) for p in rule.ports):
                        for g in index.groups:
                            if not g.host_network:
                                _add(extra, g.index, index.resolve_ports(rule.ports, g.ports))
                    continue
                for peer in rule.peers:
                    for key in index.select_k8s_peer(peer, np.namespace):
                        conn = index.resolve_ports(rule.ports, index.dst_ports(key))
                        if conn:
                            _add(extra, key, conn)
    overrides = {k: default | c for k, c in extra.items()} if not default.is_empty else extra
    return Table(default, overrides, isolated=True, policies=tuple(sorted(np.id for np in pols)))


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
