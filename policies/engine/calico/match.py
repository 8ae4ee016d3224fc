"""Calico rule matching against one packet (SEMANTICS.md 5.5).

``EndMatcher`` checks the address and identity criteria of an EntityRule against one end, which
do not depend on the protocol or ports, so the graph tables share it with the per-flow evaluator;
``PacketMatcher`` adds the protocol, ICMP and port criteria of one packet.
https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#rule
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policies.engine.calico.index import CalicoIndex, host_endpoint_of
from policies.engine.calico.model import (
    ORCHESTRATOR_LABEL,
    SERVICE_ACCOUNT_LABEL_MAX,
    CalicoPolicy,
    CalicoRule,
    EntityRule,
    PortMatch,
    describe_ports,
)
from policies.engine.calico.selector import And, Eq, Selector
from policies.engine.cluster import IPAddress, IPNetwork
from policies.engine.connections import PORT_PROTOCOLS
from policies.engine.flows import Endpoint, Flow
from policies.engine.options import Settings

__all__ = ["EndMatcher", "Packet", "PacketMatcher", "RuleResult", "packet_of"]

ICMP_PROTOCOLS = ("ICMP", "ICMPv6")


@dataclass
class Packet:
    flow: Flow
    src_ip: IPAddress | None
    dst_ip: IPAddress | None
    version: int


def _end_ip(end: Endpoint, other: Endpoint) -> IPAddress | None:
    """N5: a dual-stack pod uses the family of the other end; pod to pod uses IPv4."""
    if end.kind == "pod" and end.pod is not None and end.pod.ips:
        want = other.ip.version if other.kind != "pod" and other.ip is not None else 4
        return end.pod.ip_for_family(want) or end.ip or end.pod.ips[0]
    return end.ip


def packet_of(flow: Flow) -> Packet:
    src_ip = _end_ip(flow.src, flow.dst)
    dst_ip = _end_ip(flow.dst, flow.src)
    known = src_ip or dst_ip
    return Packet(flow, src_ip, dst_ip, known.version if known is not None else 4)


@dataclass(frozen=True)
class _Check:
    ok: bool
    why: str
    uncertain: str = ""  # why the outcome may differ in a real cluster


@dataclass(frozen=True)
class RuleResult:
    matched: bool  # the modelled outcome
    why: str
    peer_matched: bool
    port_matched: bool
    uncertain: str = ""  # non-empty: the real outcome could be the opposite


def _shown(sel: Selector) -> str:
    """A rule selector as explanations show it: a converted Kubernetes peer's implicit
    ``projectcalico.org/orchestrator == 'k8s'`` term (5.7) is left out."""
    k8s = Eq(ORCHESTRATOR_LABEL, "k8s")
    if sel == k8s:
        return "the Kubernetes pod selector (every pod)"
    if isinstance(sel, And) and sel.operands[0] == k8s:
        rest = sel.operands[1:]
        return f"selector {rest[0] if len(rest) == 1 else And(rest)}"
    return f"selector {sel}"


def _in_nets(ip: IPAddress, nets: Sequence[IPNetwork]) -> bool:
    return any(n.version == ip.version and ip in n for n in nets)


class EndMatcher:
    """The address and identity criteria of an EntityRule against one end (5.5.2, 5.5.3).

    Shared by the per-flow evaluator and the graph tables: these criteria do not depend on the
    protocol or ports of the packet."""

    def __init__(self, index: CalicoIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings

    def _unmodelled(self, end: Endpoint, ip: IPAddress | None) -> str:
        """Why a selector could match ``end`` through an object the evaluator does not model."""
        res = self.index.resources
        if ip is not None:
            for nset in res.network_sets:
                if nset.contains(ip):
                    return f"{ip} is in {nset.id}, which Calico selectors can match"
        hep_id = host_endpoint_of(self.index, end, ip)
        if hep_id:
            return f"{end.id} has {hep_id}, which Calico selectors can match"
        return ""

    def identity(self, er: EntityRule, policy: CalicoPolicy, end: Endpoint) -> _Check:
        """The effective selector of 5.5.3 (namespace scoping, serviceAccounts, selector)."""
        ns = policy.namespace
        ns_kind = "selector" if er.namespace_selector is not None else ("own" if ns else "")
        sel_present = er.selector is not None or er.has_service_accounts
        scoped = bool(ns_kind) and (
            sel_present or er.not_selector is not None or er.namespace_selector is not None
        )
        if not scoped and not sel_present:
            return _Check(True, "")
        if end.kind != "pod" or end.pod is None:
            return _Check(
                False, f"{end.id} is not a workload endpoint, so the {self._what(er)} cannot match it"
            )
        pod = end.pod
        parts: list[str] = []
        if scoped:
            if er.namespace_selector is not None:
                if not er.namespace_selector.evaluate(
                    self.index.namespace_labels(pod.namespace), namespace_context=True
                ):
                    return _Check(
                        False,
                        f"namespace {pod.namespace} does not match namespaceSelector {er.namespace_selector}",
                    )
                parts.append(f"namespace {pod.namespace} matches {er.namespace_selector}")
            elif pod.namespace != ns:
                return _Check(
                    False,
                    f"{end.id} is outside the policy's namespace {ns} (rule selectors of a "
                    "namespaced policy are scoped to it)",
                )
            else:
                parts.append(f"in namespace {ns}")
        if er.service_accounts_names:
            sa = pod.service_account
            if len(sa) >= SERVICE_ACCOUNT_LABEL_MAX or sa not in er.service_accounts_names:
                return _Check(
                    False,
                    f"{end.id} runs as service account {sa}, not {', '.join(er.service_accounts_names)}",
                )
            parts.append(f"service account {sa}")
        if er.service_accounts_selector is not None:
            sa_labels = self.index.service_account_labels(pod.namespace, pod.service_account)
            if not er.service_accounts_selector.evaluate(sa_labels):
                return _Check(
                    False,
                    f"service account {pod.service_account} does not match {er.service_accounts_selector}",
                )
            parts.append(f"service account matches {er.service_accounts_selector}")
        if er.selector is not None:
            if not er.selector.evaluate(self.index.pod_labels(pod)):
                return _Check(False, f"{end.id} does not match {_shown(er.selector)}")
            parts.append(f"matches {_shown(er.selector)}")
        return _Check(True, f"{end.id} " + ", ".join(parts))

    @staticmethod
    def _what(er: EntityRule) -> str:
        if er.selector is not None:
            return "selector"
        if er.namespace_selector is not None:
            return "namespaceSelector"
        if er.has_service_accounts:
            return "serviceAccounts match"
        return "namespace scope of the notSelector"

    def end_checks(
        self, er: EntityRule, policy: CalicoPolicy, end: Endpoint, ip: IPAddress | None, name: str
    ) -> list[_Check]:
        """nets, notNets, the effective selector and notSelector, each as a check."""
        peer: list[_Check] = []
        pod_ip = end.kind == "pod"
        usable_ip = ip if not (pod_ip and not self.settings.ip_block_matches_pod_ips) else None
        if er.nets:
            nets = ", ".join(map(str, er.nets))
            if ip is None:
                peer.append(
                    _Check(False, f"{name} {end.id} has no IP address, so nets {nets} cannot match it")
                )
            elif usable_ip is None:
                peer.append(_Check(False, "nets do not match pod IPs (ip_block_matches_pod_ips is off)"))
            elif _in_nets(usable_ip, er.nets):
                peer.append(_Check(True, f"{name} {ip} is in nets {nets}"))
            else:
                peer.append(_Check(False, f"{name} {ip} is not in nets {nets}"))
        if er.not_nets:
            nets = ", ".join(map(str, er.not_nets))
            if usable_ip is not None and _in_nets(usable_ip, er.not_nets):
                peer.append(_Check(False, f"{name} {ip} is in notNets {nets}"))
            else:
                peer.append(_Check(True, f"{name} {ip if ip else end.id} is not in notNets {nets}"))
        unmodelled = self._unmodelled(end, ip) if er.has_identity else ""
        ident = self.identity(er, policy, end)
        if ident.why:
            peer.append(_Check(ident.ok, f"{name} {ident.why}" if ident.ok else ident.why, unmodelled))
        if er.not_selector is not None:
            excluded = (
                end.kind == "pod"
                and end.pod is not None
                and er.not_selector.evaluate(self.index.pod_labels(end.pod))
            )
            if excluded:
                peer.append(_Check(False, f"{end.id} matches notSelector {er.not_selector}", unmodelled))
            else:
                peer.append(
                    _Check(True, f"{name} {end.id} does not match notSelector {er.not_selector}", unmodelled)
                )
        if er.services:
            peer.append(_Check(True, f"{name} services {er.services} not evaluated", "services matches"))
        return peer

    def end_matches(self, er: EntityRule, policy: CalicoPolicy, end: Endpoint, ip: IPAddress | None) -> bool:
        """The modelled outcome of ``end_checks``."""
        return all(c.ok for c in self.end_checks(er, policy, end, ip, ""))


class PacketMatcher(EndMatcher):
    """Matches rules of one policy against one packet."""

    def __init__(self, index: CalicoIndex, settings: Settings, pkt: Packet) -> None:
        super().__init__(index, settings)
        self.pkt = pkt

    def ports(self, ports: tuple[PortMatch, ...], rule: CalicoRule, end: Endpoint, port: int | None) -> bool:
        proto = self.pkt.flow.protocol
        for p in ports:
            if isinstance(p, str):
                # Named ports resolve on the end's own workload endpoint (5.5.4).
                if end.kind != "pod" or end.pod is None or port is None:
                    continue
                cp = end.pod.named_port(p)
                if (
                    cp is not None
                    and cp.protocol == proto
                    and (rule.protocol is None or rule.protocol == proto)
                    and cp.port == port
                ):
                    return True
            elif port is not None and proto in PORT_PROTOCOLS and p[0] <= port <= p[1]:
                return True
        return False

    def entity(
        self,
        er: EntityRule,
        rule: CalicoRule,
        policy: CalicoPolicy,
        end: Endpoint,
        ip: IPAddress | None,
        port: int | None,
        name: str,
    ) -> tuple[list[_Check], list[_Check]]:
        """(address/identity checks, port checks) for one end."""
        peer = self.end_checks(er, policy, end, ip, name)
        ports: list[_Check] = []
        what = "destination port" if name == "destination" else "source port"
        if port is None:
            what = f"the flow has no {what}, so it"
        if er.ports:
            ok = self.ports(er.ports, rule, end, port)
            ports.append(
                _Check(
                    ok,
                    f"{what} {port} {'is' if ok else 'is not'} in {describe_ports(er.ports)}"
                    + (
                        ""
                        if ok or not any(isinstance(p, str) for p in er.ports)
                        else f" (named ports resolve on {end.id})"
                    ),
                )
            )
        if er.not_ports:
            hit = self.ports(er.not_ports, rule, end, port)
            ports.append(
                _Check(
                    not hit,
                    f"{what} {port} {'is' if hit else 'is not'} in notPorts {describe_ports(er.not_ports)}",
                )
            )
        return peer, ports

    # -- one rule ---------------------------------------------------------------------------------
    def rule(self, rule: CalicoRule, policy: CalicoPolicy, direction: str) -> RuleResult:
        flow = self.pkt.flow
        head: list[_Check] = []
        if rule.protocol is not None:
            ok = flow.protocol == rule.protocol
            head.append(_Check(ok, f"protocol {flow.protocol} {'is' if ok else 'is not'} {rule.protocol}"))
        if rule.not_protocol is not None:
            ok = flow.protocol != rule.not_protocol
            head.append(
                _Check(
                    ok,
                    f"protocol {flow.protocol} {'is not' if ok else 'is'} {rule.not_protocol} (notProtocol)",
                )
            )
        if rule.has_icmp:
            ok = self._icmp(rule.icmp_type, rule.icmp_code)
            head.append(
                _Check(
                    ok,
                    f"the flow {'matches' if ok else 'does not match'} icmp type {rule.icmp_type}"
                    + (f" code {rule.icmp_code}" if rule.icmp_code is not None else ""),
                )
            )
        if rule.has_not_icmp:
            ok = not self._icmp(rule.not_icmp_type, rule.not_icmp_code)
            head.append(
                _Check(
                    ok, f"the flow {'does not match' if ok else 'matches'} notICMP type {rule.not_icmp_type}"
                )
            )
        if rule.ip_version is not None:
            ok = self.pkt.version == rule.ip_version
            head.append(_Check(ok, f"the flow is IPv{self.pkt.version}"))
        src_peer, src_ports = self.entity(
            rule.source, rule, policy, flow.src, self.pkt.src_ip, flow.src_port, "source"
        )
        dst_peer, dst_ports = self.entity(
            rule.destination, rule, policy, flow.dst, self.pkt.dst_ip, flow.port, "destination"
        )
        if "http" in rule.unsupported:
            head.append(_Check(True, "http match not evaluated", "http match"))
        checks = head + src_peer + src_ports + dst_peer + dst_ports
        remote_peer = src_peer if direction == "Ingress" else dst_peer
        local_peer = dst_peer if direction == "Ingress" else src_peer
        peer_ok = all(c.ok for c in remote_peer + local_peer)
        port_ok = all(c.ok for c in src_ports + dst_ports + head)
        certain_fail = next((c for c in checks if not c.ok and not c.uncertain), None)
        if certain_fail is not None:
            return RuleResult(False, certain_fail.why, peer_ok, port_ok)
        unknown = [c.uncertain for c in checks if c.uncertain]
        failed = next((c for c in checks if not c.ok), None)
        if failed is not None:
            return RuleResult(False, failed.why, peer_ok, port_ok, "; ".join(unknown))
        whys = [c.why for c in checks if c.why]
        why = "matches: " + "; ".join(whys) if whys else "matches every packet (no match criteria)"
        return RuleResult(True, why, peer_ok, port_ok, "; ".join(unknown))

    def _icmp(self, icmp_type: int | None, code: int | None) -> bool:
        flow = self.pkt.flow
        if flow.protocol not in ICMP_PROTOCOLS or flow.icmp_type is None:
            return False
        return flow.icmp_type == icmp_type and (code is None or flow.icmp_code == code)
