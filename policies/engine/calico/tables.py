"""The Calico evaluator at graph level: per endpoint group and direction, the allowed ConnectionSet
to or from every peer (SEMANTICS.md 5.4 to 5.7), as the former Kubernetes twin (now the tests'
reference, ``tests/engine/k8s_tables.py``) gave it.

Ordered Allow / Deny / Pass evaluation is exact over sets of connections because ConnectionSet
has an exact complement: per peer, an "undecided" set starts as everything; a matching Allow
moves rule-connections & undecided into the allowed set, a Deny drops them, a Pass hands them to
the next tier that applies; at the end of a tier what is left is denied (or passed on with
``defaultAction: Pass``), and after the last tier the namespace profile allows the rest.

Peers are not evaluated one by one: the peers that some rule names explicitly (by selector,
nets or notSelector) or whose named ports a rule uses are evaluated, and every other peer shares
one default result.

Approximations, where ``explain`` (``calico_decision``) stays exact:

* ICMP type and code are not part of a ConnectionSet: ``icmp`` / ``notICMP`` rules match on
  their protocol alone, whatever the type and code;
* source ports (``source.ports`` / ``notPorts``) are taken at the default source port 40000,
  which is what ``explain`` uses when a flow gives none;
* ``http`` and ``services`` matches are taken as matching (the rule's other criteria decide),
  and selectors that could also match network sets or host endpoints take their pod-only
  result; ``explain`` reports both kinds as approximate or UNSUPPORTED;
* ``ipVersion`` uses the family of the peer's address (IPv4 first for a dual-stack group).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from policies.engine.calico.admin import DOMAIN_NAMES
from policies.engine.calico.index import CalicoIndex, calico_index
from policies.engine.calico.match import EndMatcher
from policies.engine.calico.model import (
    SERVICE_ACCOUNT_LABEL_MAX,
    CalicoPolicy,
    CalicoRule,
    EntityRule,
    PortMatch,
    Tier,
)
from policies.engine.cluster import ContainerPort, IPBlock
from policies.engine.connections import PORT_PROTOCOLS, ConnectionSet
from policies.engine.flows import Endpoint
from policies.engine.groups import OPEN_TABLE, EndpointGroup, GroupIndex, PeerKey, Table
from policies.engine.keys import policy_key

ALL = ConnectionSet.all()
NONE = ConnectionSet.none()
DEFAULT_SOURCE_PORT = 40000  # the flow default (flows.Flow.src_port)
_PORT_PROTOCOLS = tuple(sorted(PORT_PROTOCOLS))


@dataclass(frozen=True)
class PeerMatch:
    """The peers an EntityRule's address and identity criteria match: every peer, only the
    listed ones, or every peer except the listed ones."""

    kind: Literal["all", "only", "except"]
    keys: frozenset[PeerKey] = frozenset()

    def matches(self, key: PeerKey | None) -> bool:
        """``key`` None stands for every peer that no rule lists."""
        if self.kind == "all":
            return True
        if key is None:
            return self.kind == "except"
        return (key in self.keys) == (self.kind == "only")

    def __and__(self, other: PeerMatch) -> PeerMatch:
        if self.kind == "all":
            return other
        if other.kind == "all":
            return self
        if self.kind == "only" and other.kind == "only":
            return PeerMatch("only", self.keys & other.keys)
        if self.kind == "except" and other.kind == "except":
            return PeerMatch("except", self.keys | other.keys)
        only, exc = (self, other) if self.kind == "only" else (other, self)
        return PeerMatch("only", only.keys - exc.keys)


EVERY_PEER = PeerMatch("all")


@dataclass(frozen=True)
class _Entry:
    tier: int
    action: str
    rule: CalicoRule
    match: PeerMatch
    local_ports: tuple[ContainerPort, ...] | None  # named ports of the local end (None: no pod)
    # The rule's connections, or None when its remote end uses named ports, so that they depend on
    # the peer.
    conns: ConnectionSet | None


def _port_set(
    ports: tuple[PortMatch, ...], rule: CalicoRule, owner: tuple[ContainerPort, ...] | None
) -> ConnectionSet:
    """Destination ports as connections; named ports resolve on ``owner`` (5.5.4)."""
    out = NONE
    for p in ports:
        if isinstance(p, str):
            cp = next((c for c in owner or () if c.name == p), None)
            if cp is not None and (rule.protocol is None or rule.protocol == cp.protocol):
                out |= ConnectionSet.protocol(cp.protocol, cp.port, cp.port)
        else:
            out |= ConnectionSet.build({proto: (p,) for proto in _PORT_PROTOCOLS})
    return out


def _source_port_set(
    ports: tuple[PortMatch, ...], rule: CalicoRule, owner: tuple[ContainerPort, ...] | None
) -> ConnectionSet:
    """Source ports, taken at the default source port: the connections they let through."""
    out = NONE
    for p in ports:
        if isinstance(p, str):
            cp = next((c for c in owner or () if c.name == p), None)
            if cp is not None and cp.port == DEFAULT_SOURCE_PORT and rule.protocol in (None, cp.protocol):
                out |= ConnectionSet.protocol(cp.protocol)
        elif p[0] <= DEFAULT_SOURCE_PORT <= p[1]:
            out |= ConnectionSet.build({proto: ((1, 65535),) for proto in _PORT_PROTOCOLS})
    return out


def rule_connections(
    rule: CalicoRule, src_ports: tuple[ContainerPort, ...] | None, dst_ports: tuple[ContainerPort, ...] | None
) -> ConnectionSet:
    """The connections a rule matches once its address and identity criteria hold."""
    conns = ALL
    if rule.protocol is not None:
        conns = ConnectionSet.protocol(rule.protocol)
    if rule.not_protocol is not None:
        conns -= ConnectionSet.protocol(rule.not_protocol)
    dst, src = rule.destination, rule.source
    if dst.ports:
        conns &= _port_set(dst.ports, rule, dst_ports)
    if dst.not_ports:
        conns -= _port_set(dst.not_ports, rule, dst_ports)
    if src.ports:
        conns &= _source_port_set(src.ports, rule, src_ports)
    if src.not_ports:
        conns -= _source_port_set(src.not_ports, rule, src_ports)
    return conns


class CalicoTables:
    """Per-cluster state for the tables: endpoints of peers and cached peer matches."""

    def __init__(self, index: GroupIndex) -> None:
        self.index = index
        self.calico: CalicoIndex = calico_index(index.cluster)
        self.ends = EndMatcher(self.calico, index.settings)
        self.peers: dict[PeerKey, Endpoint] = {}
        for g in index.groups:
            self.peers[g.index] = self.endpoint(g)
        for b in index.blocks:
            key = index.block_key(b.index)
            self.peers[key] = Endpoint("external", b.id, ip=b.representative())
        self.pod_groups = [g for g in index.groups if not g.host_network]
        self._remote: dict[tuple[str, str, int], PeerMatch] = {}
        self._sets: dict[IPBlock, frozenset[PeerKey]] = {}
        # Rules live as long as the Calico index, so their id is a stable, cheap key.
        self._conns: dict[tuple[int, object, object], ConnectionSet] = {}

    @staticmethod
    def endpoint(g: EndpointGroup) -> Endpoint:
        pod = g.pods[0]
        ident = pod.workload_id if pod.from_template else pod.id
        return Endpoint("node" if g.host_network else "pod", ident, pod=pod, node=pod.node, ip=g.ip)

    def ports_of(self, key: PeerKey | None) -> tuple[ContainerPort, ...] | None:
        if key is None or key >= self.index.n_groups:
            return None
        g = self.index.groups[key]
        return None if g.host_network else g.ports

    # -- peer matches ------------------------------------------------------------------------------

    def _in_set(self, net: IPBlock) -> frozenset[PeerKey]:
        found = self._sets.get(net)
        if found is None:
            found = frozenset(self.index.blocks_of_set(net))
            self._sets[net] = found
        return found

    def remote_match(self, policy: CalicoPolicy, direction: str, i: int, er: EntityRule) -> PeerMatch:
        """The peers the remote end of rule ``i`` matches; independent of the local group."""
        key = (f"{policy.kind}:{policy.id}", direction, i)
        cached = self._remote.get(key)
        if cached is not None:
            return cached
        match = EVERY_PEER
        if er.nets:
            match &= PeerMatch("only", frozenset().union(*(self._in_set(IPBlock(n)) for n in er.nets)))
        if er.not_nets:
            match &= PeerMatch("except", frozenset().union(*(self._in_set(IPBlock(n)) for n in er.not_nets)))
        selected = self.selected_groups(policy, er)
        if selected is not None:  # the effective selector is not empty: only pods it selects
            match &= PeerMatch("only", selected)
        if er.not_selector is not None:
            match &= PeerMatch(
                "except",
                frozenset(
                    g.index
                    for g in self.pod_groups
                    if er.not_selector.evaluate(self.calico.pod_labels(g.pods[0]))
                ),
            )
        self._remote[key] = match
        return match

    def selected_groups(self, policy: CalicoPolicy, er: EntityRule) -> frozenset[PeerKey] | None:
        """The pod groups an EntityRule's effective selector selects (5.5.3), or None when it
        is empty (no identity constraint). The same logic as ``EndMatcher.identity``, without
        the explanations."""
        ns = policy.namespace
        has_selector = er.selector is not None or er.has_service_accounts
        scoped = (bool(ns) or er.namespace_selector is not None) and (
            has_selector or er.not_selector is not None or er.namespace_selector is not None
        )
        if not scoped and not has_selector:
            return None
        if not scoped:
            groups: Iterable[EndpointGroup] = self.pod_groups
        elif er.namespace_selector is not None:
            sel = er.namespace_selector
            groups = [
                g
                for name, members in self.index.by_namespace.items()
                if sel.evaluate(self.calico.namespace_labels(name), namespace_context=True)
                for g in members
            ]
        else:
            groups = self.index.by_namespace.get(ns, ())
        out = set()
        for g in groups:
            sa = g.service_account
            if er.service_accounts_names and (
                len(sa) >= SERVICE_ACCOUNT_LABEL_MAX or sa not in er.service_accounts_names
            ):
                continue
            if er.service_accounts_selector is not None and not er.service_accounts_selector.evaluate(
                self.calico.service_account_labels(g.namespace, sa)
            ):
                continue
            if er.selector is not None and not er.selector.evaluate(
                self.calico.endpoint_labels(g.namespace, g.labels, sa)
            ):
                continue
            out.add(g.index)
        return frozenset(out)

    def connections(
        self,
        rule: CalicoRule,
        src_ports: tuple[ContainerPort, ...] | None,
        dst_ports: tuple[ContainerPort, ...] | None,
    ) -> ConnectionSet:
        key = (id(rule), src_ports, dst_ports)
        found = self._conns.get(key)
        if found is None:
            found = rule_connections(rule, src_ports, dst_ports)
            self._conns[key] = found
        return found

    # -- one table ------------------------------------------------------------------------------------

    def entries(
        self, g: EndpointGroup, direction: str, tiers: list[tuple[Tier, list[CalicoPolicy]]]
    ) -> list[_Entry]:
        local = self.peers[g.index]
        ingress = direction == "Ingress"
        out = []
        for t, (_, pols) in enumerate(tiers):
            for policy in pols:
                for i, rule in enumerate(policy.rules(direction)):
                    if rule.action == "Log" or DOMAIN_NAMES in rule.unsupported:
                        # Log: no effect on the verdict. domainNames: nothing the graph can name (the
                        # groups it could touch are marked unsupported, reachability.py).
                        continue
                    local_er, remote_er = (
                        (rule.destination, rule.source) if ingress else (rule.source, rule.destination)
                    )
                    if not self.ends.end_matches(local_er, policy, local, g.ip):
                        continue
                    match = self.remote_match(policy, direction, i, remote_er)
                    if rule.ip_version is not None:
                        match &= self.version_match(g, rule.ip_version)
                    if match.kind == "only" and not match.keys:
                        continue
                    remote_named = any(isinstance(p, str) for p in (*remote_er.ports, *remote_er.not_ports))
                    conns = None
                    if not remote_named:
                        src, dst = (None, g.ports) if ingress else (g.ports, None)
                        conns = self.connections(rule, src, dst)
                        if not conns:
                            continue
                    out.append(_Entry(t, rule.action, rule, match, g.ports, conns))
        return out

    def version_match(self, g: EndpointGroup, version: int) -> PeerMatch:
        own = g.ip.version if g.ip is not None else 4
        keys = frozenset(
            k for k, end in self.peers.items() if (end.ip.version if end.ip is not None else own) == version
        )
        return PeerMatch("only", keys)

    def evaluate(
        self,
        entries: list[_Entry],
        tiers: list[tuple[Tier, list[CalicoPolicy]]],
        matched: int,
        remote_ports: tuple[ContainerPort, ...] | None,
        direction: str,
    ) -> ConnectionSet:
        """Allowed connections for a peer that matches the entries whose bit is set in
        ``matched``, with the given named ports (5.6)."""
        undecided = ALL
        allowed = NONE
        pos = 0
        for t, (tier, _) in enumerate(tiers):
            open_ = undecided
            passed = NONE
            while pos < len(entries) and entries[pos].tier == t:
                e = entries[pos]
                pos += 1
                if not open_ or not (matched >> (pos - 1)) & 1:
                    continue
                conns = e.conns
                if conns is None:
                    if direction == "Ingress":
                        conns = self.connections(e.rule, remote_ports, e.local_ports)
                    else:
                        conns = self.connections(e.rule, e.local_ports, remote_ports)
                hit = conns & open_
                if not hit:
                    continue
                open_ -= hit
                if e.action == "Allow":
                    allowed |= hit
                elif e.action == "Pass":
                    passed |= hit
            undecided = passed | open_ if tier.default_action == "Pass" else passed
            if not undecided:
                break
        return allowed | undecided  # the namespace profile allows what every tier passed

    def table(self, g: EndpointGroup, direction: str) -> Table:
        """What ``g`` allows in ``direction`` under Calico semantics."""
        if g.host_network:
            return OPEN_TABLE  # not a workload endpoint; the graph treats it as node traffic
        tiers = self.calico.applicable(g.namespace, g.labels, g.service_account, direction)
        if not tiers:
            return OPEN_TABLE
        entries = self.entries(g, direction, tiers)
        # A peer's signature is the set of entries it matches, as a bit mask: peers with the same
        # mask (and the same named ports, where rules use them) get the same result.
        default_mask = sum(1 << j for j, e in enumerate(entries) if e.match.kind != "only")
        masks: dict[PeerKey, int] = {}
        named: set[str] = set()
        for j, e in enumerate(entries):
            for k in e.match.keys:
                masks[k] = masks.get(k, default_mask) ^ (1 << j)
            if e.conns is None:
                remote = e.rule.source if direction == "Ingress" else e.rule.destination
                named |= {p for p in (*remote.ports, *remote.not_ports) if isinstance(p, str)}
        special = set(masks)
        if named:
            special |= {x.index for x in self.pod_groups if any(p.name in named for p in x.ports)}
        results: dict[tuple[int, object], ConnectionSet] = {}

        def result_of(key: PeerKey | None) -> ConnectionSet:
            mask = default_mask if key is None else masks.get(key, default_mask)
            ports = None
            if named:
                own = self.ports_of(key)
                ports = tuple(p for p in own if p.name in named) if own is not None else None
            found = results.get((mask, ports))
            if found is None:
                found = self.evaluate(entries, tiers, mask, ports, direction)
                results[(mask, ports)] = found
            return found

        default = result_of(None)
        overrides = {}
        for key in sorted(special):
            result = result_of(key)
            if result != default:
                overrides[key] = result
        # The policies' keys (keys.py), as traces and ``reachability.policy_entries`` give them.
        keys = tuple(sorted({policy_key(p.trace_kind, p.namespace, p.name) for _, pols in tiers for p in pols}))
        return Table(default, overrides, isolated=True, policies=keys)


def calico_tables(
    index: GroupIndex, progress: Callable[[float], None] | None = None
) -> tuple[list[Table], list[Table]]:
    """Egress and ingress tables of every group under the calico evaluator."""
    state = CalicoTables(index)
    egress: list[Table] = []
    ingress: list[Table] = []
    n = max(1, index.n_groups)
    for g in index.groups:
        egress.append(state.table(g, "Egress"))
        ingress.append(state.table(g, "Ingress"))
        if progress is not None and g.index % 64 == 0:
            progress(g.index / n)
    return egress, ingress
