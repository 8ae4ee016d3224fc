"""The admin tiers folded into the graph's per-group direction tables (``groups.Table``).

For one group and direction, each peer's connections are split the way the per-flow evaluator
walks them: the Admin tier accepts some, denies some and passes or leaves the rest; of the rest,
a NetworkPolicy that isolates the group decides, and otherwise the Baseline tier may deny and
everything else is allowed by default. Peers are selected once per rule, as groups and external
blocks, so the work is per endpoint group, never per pod pair. A ``domainNames`` peer selects
nothing here; the groups it could affect are marked unsupported (see ``domain_name_policies``).
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.engine.admin.addresses import host_block
from policies.engine.admin.model import ADMIN, BASELINE, AdminPeer, AdminPolicy, AdminPort, AdminRule
from policies.engine.cluster import ContainerPort, IPBlock
from policies.engine.connections import ConnectionSet
from policies.engine.groups import ALL, NONE, EndpointGroup, GroupIndex, PeerKey, Table
from policies.engine.keys import policy_key

__all__ = ["apply_admin_tiers", "domain_name_policies", "group_admin_policies", "rule_ports",
           "select_peer"]


def group_admin_policies(index: GroupIndex, group: EndpointGroup, direction: str, tier: str) -> list[AdminPolicy]:
    """The tier's policies whose subject selects the group and that have rules for ``direction``."""
    if group.host_network:
        return []
    ns_labels = index.ns_labels.get(group.namespace) or index.cluster.namespace(group.namespace).labels
    found = [p for p in index.cluster.admin_policies if p.tier == tier and p.rules(direction)
             and p.namespace_selector.matches(ns_labels)
             and (p.pod_selector is None or p.pod_selector.matches(group.labels))]
    return sorted(found, key=lambda p: p.order_key)


def domain_name_policies(index: GroupIndex, group: EndpointGroup) -> list[str]:
    """Policies selecting the group whose egress names domains (which the graph cannot resolve)."""
    out = []
    for tier in (ADMIN, BASELINE):
        for p in group_admin_policies(index, group, "Egress", tier):
            if any(peer.kind == "domainNames" for rule in p.egress for peer in rule.peers):
                out.append(f"{p.kind} {p.name}: domainNames")
    return out


def select_peer(index: GroupIndex, peer: AdminPeer) -> set[PeerKey]:
    cluster = index.cluster
    keys: set[PeerKey] = set()
    if peer.kind in ("namespaces", "pods"):
        sel = peer.namespace_selector
        assert sel is not None
        for ns, labels in index.ns_labels.items():
            if sel.matches(labels):
                keys.update(g.index for g in index.by_namespace.get(ns, ())
                            if peer.pod_selector is None or peer.pod_selector.matches(g.labels))
    elif peer.kind == "networks":
        for net in peer.networks:
            keys.update(index.blocks_of_set(IPBlock(net)))
    elif peer.kind == "nodes":
        assert peer.node_selector is not None
        nodes = [n for n in cluster.nodes if peer.node_selector.matches(n.labels)]
        names = {n.name for n in nodes}
        for node in nodes:
            for ip in node.ips:
                keys.update(index.blocks_of_set(IPBlock(host_block(ip))))
        keys.update(g.index for g in index.groups if g.host_network and g.nodes and g.nodes <= names)
        if not index.settings.ip_block_matches_pod_ips:
            keys -= {g.index for g in index.groups if not g.host_network}
    return keys


def rule_ports(ports: tuple[AdminPort, ...] | None, dst: tuple[ContainerPort, ...] | None) -> ConnectionSet:
    if ports is None:
        return ALL
    conn = NONE
    for spec in ports:
        if spec.name:
            named = next((p for p in dst or () if p.name == spec.name), None)
            if named is not None:
                conn |= ConnectionSet.protocol(named.protocol, named.port, named.port)
        elif spec.port is not None:
            conn |= ConnectionSet.protocol(spec.protocol, spec.port, spec.end_port or spec.port)
    return conn


class _Tier:
    """Per peer key: what the tier accepted, denied and left (passed or unmatched)."""

    def __init__(self) -> None:
        self.accept: dict[PeerKey, ConnectionSet] = {}
        self.deny: dict[PeerKey, ConnectionSet] = {}
        self.taken: dict[PeerKey, ConnectionSet] = {}

    def walk(self, index: GroupIndex, group: EndpointGroup, direction: str,
             policies: Iterable[AdminPolicy]) -> None:
        for policy in policies:
            for rule in policy.rules(direction):
                self.rule(index, group, direction, rule)

    def rule(self, index: GroupIndex, group: EndpointGroup, direction: str, rule: AdminRule) -> None:
        keys: set[PeerKey] = set()
        for peer in rule.peers:
            keys |= select_peer(index, peer)
        for key in keys:
            dst = group.ports if direction == "Ingress" else index.dst_ports(key)
            conn = rule_ports(rule.ports, dst) - self.taken.get(key, NONE)
            if conn.is_empty:
                continue
            self.taken[key] = self.taken.get(key, NONE) | conn
            if rule.action == "Accept":
                self.accept[key] = self.accept.get(key, NONE) | conn
            elif rule.action == "Deny":
                self.deny[key] = self.deny.get(key, NONE) | conn


def apply_admin_tiers(index: GroupIndex, egress: list[Table], ingress: list[Table]) -> None:
    """Replace the tables of every group an admin policy selects (in place)."""
    if not index.cluster.admin_policies:
        return
    for g in index.groups:
        for direction, tables in (("Egress", egress), ("Ingress", ingress)):
            admin = group_admin_policies(index, g, direction, ADMIN)
            baseline = group_admin_policies(index, g, direction, BASELINE)
            if admin or baseline:
                tables[g.index] = _fold(index, g, direction, tables[g.index], admin, baseline)


def _fold(index: GroupIndex, group: EndpointGroup, direction: str, inner: Table,
          admin: list[AdminPolicy], baseline: list[AdminPolicy]) -> Table:
    top = _Tier()
    top.walk(index, group, direction, admin)
    base = _Tier()
    if not inner.isolated:
        base.walk(index, group, direction, baseline)
    keys = set(top.accept) | set(top.deny) | set(base.deny) | set(inner.overrides)

    def final(key: PeerKey) -> ConnectionSet:
        accepted = top.accept.get(key, NONE)
        rest = ALL - accepted - top.deny.get(key, NONE)
        if inner.isolated:
            return accepted | (inner.get(key) & rest)
        return accepted | (rest - base.deny.get(key, NONE))

    def exempt(key: PeerKey) -> ConnectionSet:
        """To the pod's own node under node_egress_exempt: NetworkPolicy is skipped, admin tiers are not."""
        accepted = top.accept.get(key, NONE)
        rest = ALL - accepted - top.deny.get(key, NONE)
        return accepted | (rest if inner.isolated else rest - base.deny.get(key, NONE))

    default = inner.default if inner.isolated else ALL
    overrides = {k: c for k in keys if (c := final(k)) != default}
    node_exempt: dict[PeerKey, ConnectionSet] = {}
    if direction == "Egress":
        hosts = {g.index for g in index.groups if g.host_network}
        node_exempt = {k: c for k in keys & hosts if (c := exempt(k)) != ALL}
    names = tuple(sorted({*inner.policies, *(policy_key(p.kind, "", p.name) for p in (*admin, *baseline))}))
    return Table(default, overrides, isolated=inner.isolated, policies=names, node_exempt=node_exempt)
