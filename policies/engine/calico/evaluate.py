"""Calico's per-flow decision for one pod end, with a full trace (SEMANTICS.md 5.1 and 5.4 to 5.8).

Tiers are walked in TierLess order; inside a tier, the policies that apply to the pod for the
direction run in (order, "<name>/<namespace>/<kind>") order, and their rules in list order. Allow
and Deny are final, Log continues, Pass jumps to the next tier that applies. A tier that applies
and decides nothing ends in its defaultAction (Deny unless set to Pass). When every tier passed,
or none applied, the namespace profile ``kns.<ns>`` allows. Kubernetes NetworkPolicies take part
as Allow-only policies at order 1000 in the default tier (5.7).

Rules that use fields the evaluator cannot model (``http``, ``services``), and selectors that could
also match network sets or host endpoints (0.3), make a rule's outcome unknown. Both outcomes are
followed; if they lead to different verdicts the decision is UNSUPPORTED, otherwise it stands and
is marked approximate.
https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from policies.engine.calico.model import (
    DEFAULT_TIER,
    K8S_POLICY_ORDER,
    SERVICE_ACCOUNT_LABEL_MAX,
    CalicoPolicy,
    CalicoResources,
    CalicoRule,
    EntityRule,
    PortMatch,
    Tier,
    describe_ports,
)
from policies.engine.calico.selector import (
    ALL,
    And,
    Eq,
    Has,
    Selector,
    and_,
    in_set,
    not_,
)
from policies.engine.connections import PORT_PROTOCOLS
from policies.engine.flows import Decision, Endpoint, Flow, PolicyTrace, RuleTrace, Verdict
from policies.engine.model import (
    NAMESPACE_NAME_LABEL,
    Cluster,
    IPAddress,
    IPNetwork,
    Labels,
    NetworkPolicy,
    Pod,
    Rule,
    Source,
)
from policies.engine.selectors import LabelSelector
from policies.engine.settings import Settings

NAMESPACE_LABEL = "projectcalico.org/namespace"
ORCHESTRATOR_LABEL = "projectcalico.org/orchestrator"
SERVICE_ACCOUNT_LABEL = "projectcalico.org/serviceaccount"
NAME_LABEL = "projectcalico.org/name"
ICMP_PROTOCOLS = ("ICMP", "ICMPv6")
# Unknown rule outcomes are explored both ways; past this many verdict paths give up (UNSUPPORTED).
MAX_PATHS = 256


# -- Kubernetes NetworkPolicy conversion (5.7) ----------------------------------------------------


def label_selector_to_calico(sel: LabelSelector) -> Selector:
    """matchLabels k: v -> k == 'v'; In / NotIn -> in / not in; Exists -> has(k); DoesNotExist -> !has(k)."""
    parts: list[Selector] = []
    for r in sel.requirements:
        if r.operator == "In":
            parts.append(
                Eq(r.key, next(iter(r.values))) if len(r.values) == 1 else in_set(r.key, list(r.values))
            )
        elif r.operator == "NotIn":
            parts.append(in_set(r.key, list(r.values), negated=True))
        elif r.operator == "Exists":
            parts.append(Has(r.key))
        else:
            parts.append(not_(Has(r.key)))
    return and_(*parts) if parts else ALL


def _k8s_pod_selector(sel: LabelSelector | None) -> Selector:
    converted = label_selector_to_calico(sel) if sel is not None else ALL
    k8s = Eq(ORCHESTRATOR_LABEL, "k8s")
    return k8s if converted.is_all() else and_(k8s, converted)


def _k8s_rules(rule: Rule, index: int, direction: str) -> list[CalicoRule]:
    # One rule per distinct protocol among the ports; a port-less entry opens every port of it.
    groups: dict[str | None, list[PortMatch] | None] = {}
    for spec in rule.ports:
        current = groups.get(spec.protocol, [])
        if spec.port is None or current is None:
            groups[spec.protocol] = None
            continue
        current.append(spec.port if isinstance(spec.port, str) else (spec.port, spec.end_port or spec.port))
        groups[spec.protocol] = current
    if not rule.ports:
        groups = {None: None}  # no ports: no protocol, which matches every protocol
    peers: list[EntityRule] = []
    for peer in rule.peers or ():
        if peer.ip_block is not None:
            peers.append(
                EntityRule(nets=(peer.ip_block.cidr,), not_nets=peer.ip_block.excepts, line=peer.line)
            )
        else:
            peers.append(
                EntityRule(
                    selector=_k8s_pod_selector(peer.pod_selector),
                    namespace_selector=(
                        label_selector_to_calico(peer.namespace_selector)
                        if peer.namespace_selector is not None
                        else None
                    ),
                    line=peer.line,
                )
            )
    if not peers:
        peers = [EntityRule()]
    out = []
    for peer_er in peers:
        for proto, ports in groups.items():
            port_tuple = tuple(ports or ())
            if direction == "Ingress":
                src, dst = peer_er, EntityRule(ports=port_tuple)
            else:
                src = EntityRule()
                dst = EntityRule(
                    nets=peer_er.nets,
                    not_nets=peer_er.not_nets,
                    selector=peer_er.selector,
                    namespace_selector=peer_er.namespace_selector,
                    ports=port_tuple,
                    line=peer_er.line,
                )
            out.append(
                CalicoRule(
                    "Allow",
                    protocol=proto,
                    source=src,
                    destination=dst,
                    line=rule.line,
                    end_line=rule.end_line,
                    k8s_index=index,
                )
            )
    return out


def convert_k8s_policy(np: NetworkPolicy) -> CalicoPolicy:
    """A Kubernetes NetworkPolicy as Calico runs it: default tier, order 1000, Allow rules only."""
    return CalicoPolicy(
        kind="KubernetesNetworkPolicy",
        namespace=np.namespace,
        name=np.name,
        tier=DEFAULT_TIER,
        order=K8S_POLICY_ORDER,
        selector=_k8s_pod_selector(np.pod_selector),
        types=np.policy_types or frozenset({"Ingress"}),
        ingress=tuple(r for i, rule in enumerate(np.ingress) for r in _k8s_rules(rule, i, "Ingress")),
        egress=tuple(r for i, rule in enumerate(np.egress) for r in _k8s_rules(rule, i, "Egress")),
        source=np.source,
    )


# -- the per-cluster index ------------------------------------------------------------------------


class CalicoIndex:
    """Tiers, ordered policies and the label sets Calico selectors see, for one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        # A weak reference: the module cache below must not keep clusters alive.
        self._cluster = weakref.ref(cluster)
        self.resources = cluster.calico or CalicoResources()
        policies = [*self.resources.policies, *(convert_k8s_policy(np) for np in cluster.policies)]
        names = {DEFAULT_TIER} | {p.tier for p in policies}
        tiers = {t.name: t for t in self.resources.tiers}
        for name in names:
            tiers.setdefault(name, self.resources.tier(name))
        self.tiers: list[Tier] = sorted(tiers.values(), key=lambda t: t.sort_key())
        self.by_tier: dict[str, list[CalicoPolicy]] = {t.name: [] for t in self.tiers}
        # Candidates per tier: the global policies, and the namespaced ones per namespace.
        self._global: dict[str, list[CalicoPolicy]] = {t.name: [] for t in self.tiers}
        self._namespaced: dict[tuple[str, str], list[CalicoPolicy]] = {}
        for p in sorted(policies, key=lambda p: p.sort_key()):
            self.by_tier[p.tier].append(p)
            if p.kind == "GlobalNetworkPolicy":
                self._global[p.tier].append(p)
            else:
                self._namespaced.setdefault((p.tier, p.namespace), []).append(p)
        self.ns_labels: dict[str, Labels] = {}
        for ns in cluster.namespaces:
            self.ns_labels[ns.name] = ns.labels.with_items({NAME_LABEL: ns.name})
        self.sa_labels: dict[tuple[str, str], Labels] = {
            (sa.namespace, sa.name): sa.labels.with_items({NAME_LABEL: sa.name})
            for sa in cluster.service_accounts
        }
        self._endpoint_labels: dict[tuple[str, str, Labels], Labels] = {}

    def belongs_to(self, cluster: Cluster) -> bool:
        return self._cluster() is cluster

    def namespace_labels(self, namespace: str) -> Labels:
        """A namespace's labels as namespaceSelectors see them (N1 + N2)."""
        labels = self.ns_labels.get(namespace)
        if labels is None:
            # A namespace only referenced by other objects carries the N1 label alone.
            labels = Labels({NAMESPACE_NAME_LABEL: namespace, NAME_LABEL: namespace})
            self.ns_labels[namespace] = labels
        return labels

    def service_account_labels(self, namespace: str, name: str) -> Labels:
        """A service account's labels as serviceAccountSelectors see them (5.4)."""
        labels = self.sa_labels.get((namespace, name))
        if labels is None:
            labels = Labels({NAME_LABEL: name})
            self.sa_labels[(namespace, name)] = labels
        return labels

    def endpoint_labels(self, namespace: str, labels: Labels, service_account: str) -> Labels:
        """The labels of a workload endpoint (5.1): the pod's own, Calico's, and the inherited
        ``pcns.`` / ``pcsa.`` labels of its profiles (own labels win over inherited ones)."""
        key = (namespace, service_account, labels)
        cached = self._endpoint_labels.get(key)
        if cached is not None:
            return cached
        merged: dict[str, str] = {}
        for k, v in self.namespace_labels(namespace).items():
            merged[f"pcns.{k}"] = v
        for k, v in self.service_account_labels(namespace, service_account).items():
            merged[f"pcsa.{k}"] = v
        merged.update(labels)
        merged[NAMESPACE_LABEL] = namespace
        merged[ORCHESTRATOR_LABEL] = "k8s"
        if len(service_account) < SERVICE_ACCOUNT_LABEL_MAX:
            merged[SERVICE_ACCOUNT_LABEL] = service_account
        result = Labels(merged)
        self._endpoint_labels[key] = result
        return result

    def pod_labels(self, pod: Pod) -> Labels:
        return self.endpoint_labels(pod.namespace, pod.labels, pod.service_account)

    def applies(
        self, policy: CalicoPolicy, namespace: str, labels: Labels, service_account: str, direction: str
    ) -> bool:
        """Whether ``policy`` applies to an endpoint for ``direction`` (5.4)."""
        if direction not in policy.types:
            return False
        if policy.kind != "GlobalNetworkPolicy" and policy.namespace != namespace:
            return False  # a namespaced policy never selects outside its namespace
        ep_labels = self.endpoint_labels(namespace, labels, service_account)
        if policy.selector is not None and not policy.selector.evaluate(ep_labels):
            return False
        if policy.namespace_selector is not None and not policy.namespace_selector.evaluate(
            self.namespace_labels(namespace), namespace_context=True
        ):
            return False
        if policy.service_account_selector is not None and not policy.service_account_selector.evaluate(
            self.service_account_labels(namespace, service_account)
        ):
            return False
        return True

    def applicable(
        self, namespace: str, labels: Labels, service_account: str, direction: str
    ) -> list[tuple[Tier, list[CalicoPolicy]]]:
        """The tiers that apply, in order, each with its applicable policies in order."""
        out = []
        for tier in self.tiers:
            candidates: Iterable[CalicoPolicy] = self._global[tier.name]
            local = self._namespaced.get((tier.name, namespace))
            if local:
                candidates = heapq.merge(candidates, local, key=lambda p: p.sort_key())
            pols = [p for p in candidates if self.applies(p, namespace, labels, service_account, direction)]
            if pols:
                out.append((tier, pols))
        return out


_INDEXES: dict[int, CalicoIndex] = {}


def calico_index(cluster: Cluster) -> CalicoIndex:
    """The index of ``cluster``, built once per cluster object."""
    key = id(cluster)
    index = _INDEXES.get(key)
    if index is None or not index.belongs_to(cluster):
        index = CalicoIndex(cluster)
        _INDEXES[key] = index
        weakref.finalize(cluster, _INDEXES.pop, key, None)
    return index


# -- rule matching (5.5) ------------------------------------------------------------------------------


@dataclass
class _Packet:
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


def _packet(flow: Flow) -> _Packet:
    src_ip = _end_ip(flow.src, flow.dst)
    dst_ip = _end_ip(flow.dst, flow.src)
    known = src_ip or dst_ip
    return _Packet(flow, src_ip, dst_ip, known.version if known is not None else 4)


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
        hep_id = _host_endpoint_of(self.index, end, ip)
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


class _Matcher(EndMatcher):
    """Matches rules of one policy against one packet."""

    def __init__(self, index: CalicoIndex, settings: Settings, pkt: _Packet) -> None:
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


# -- the tiered walk (5.6) ----------------------------------------------------------------------------


class _NeedChoice(Exception):
    def __init__(self, key: tuple[str, str, int], modelled: bool) -> None:
        super().__init__(key)
        self.key = key
        self.modelled = modelled


@dataclass
class _Run:
    verdict: Verdict
    reason: str
    detail: str
    traces: list[PolicyTrace]
    deciding_tier: str = ""
    deciding_policy: str = ""
    deciding_rule: int | None = None
    unknowns: list[str] = field(default_factory=list)


def _action_text(action: str) -> str:
    return {"Allow": "allows", "Deny": "denies", "Pass": "passes to the next tier", "Log": "logs"}[action]


def _rule_traces(
    policy: CalicoPolicy, results: list[tuple[int, CalicoRule, RuleResult, bool]]
) -> tuple[RuleTrace, ...]:
    """RuleTraces for the rules evaluated; a converted Kubernetes rule is shown once (5.7)."""
    if policy.kind != "KubernetesNetworkPolicy":
        return tuple(
            RuleTrace(
                i,
                r.line,
                matched,
                r.action,
                res.peer_matched,
                res.port_matched,
                res.why + (f" [not exact: {res.uncertain}]" if res.uncertain else ""),
                r.end_line,
            )
            for i, r, res, matched in results
        )
    grouped: dict[int, list[tuple[CalicoRule, RuleResult, bool]]] = {}
    for _, r, res, matched in results:
        grouped.setdefault(r.k8s_index or 0, []).append((r, res, matched))
    out = []
    for k8s_index, items in grouped.items():
        first = items[0][0]
        hit = next(((r, res) for r, res, m in items if m), None)
        if hit is not None:
            why, peer_ok, port_ok = hit[1].why, True, True
        else:
            whys = list(dict.fromkeys(res.why for _, res, _ in items))
            why = "; ".join(whys)
            peer_ok = any(res.peer_matched for _, res, _ in items)
            port_ok = any(res.port_matched for _, res, _ in items)
        out.append(
            RuleTrace(k8s_index, first.line, hit is not None, "Allow", peer_ok, port_ok, why, first.end_line)
        )
    return tuple(out)


class _Walk:
    def __init__(
        self, index: CalicoIndex, matcher: _Matcher, pod: Pod, endpoint: Endpoint, direction: str
    ) -> None:
        self.index = index
        self.matcher = matcher
        self.pod = pod
        self.endpoint = endpoint
        self.direction = direction
        self.tiers = index.applicable(pod.namespace, pod.labels, pod.service_account, direction)
        self._results: dict[tuple[str, int], RuleResult] = {}

    def result(self, policy: CalicoPolicy, i: int, rule: CalicoRule) -> RuleResult:
        key = (policy.kind + ":" + policy.id, i)
        res = self._results.get(key)
        if res is None:
            res = self.matcher.rule(rule, policy, self.direction)
            self._results[key] = res
        return res

    def run(self, choices: Mapping[tuple[str, str, int], bool]) -> _Run:
        side = self.direction.lower()
        traces: list[PolicyTrace] = []
        unknowns: list[str] = []
        for tier, pols in self.tiers:
            for policy in pols:
                results: list[tuple[int, CalicoRule, RuleResult, bool]] = []
                decided: tuple[int, CalicoRule] | None = None
                for i, rule in enumerate(policy.rules(self.direction)):
                    res = self.result(policy, i, rule)
                    matched = res.matched
                    if res.uncertain and rule.action != "Log":
                        key = (policy.kind + ":" + policy.id, self.direction, i)
                        if key not in choices:
                            raise _NeedChoice(key, res.matched)
                        matched = choices[key]
                        unknowns.append(f"{side} rule {i} of {policy.id}: {res.uncertain}")
                    results.append((i, rule, res, matched))
                    if matched and rule.action != "Log":
                        decided = (i, rule)
                        break
                rule_traces = _rule_traces(policy, results)
                if decided is None:
                    outcome = "no rule matched" if policy.rules(self.direction) else f"has no {side} rules"
                    traces.append(self._trace(policy, tier, rule_traces, outcome))
                    continue
                i, rule = decided
                shown = rule.k8s_index if rule.k8s_index is not None else i
                traces.append(
                    self._trace(policy, tier, rule_traces, f"{_action_text(rule.action)} (rule {shown})")
                )
                if rule.action == "Pass":
                    break
                verdict: Verdict = "ALLOW" if rule.action == "Allow" else "DENY"
                reason = "CALICO_ALLOW" if verdict == "ALLOW" else "CALICO_DENY"
                detail = (
                    f"{side} rule {shown} of {policy.trace_kind} {policy.id} in tier {tier.name} "
                    f"{_action_text(rule.action)} it"
                )
                return _Run(verdict, reason, detail, traces, tier.name, policy.id, shown, unknowns)
            else:
                # No policy of the tier decided (none passed either).
                if tier.default_action == "Pass":
                    continue
                detail = (
                    f"tier {tier.name} applies to {self.endpoint.id} for {side} "
                    "and none of its policies allows or passes this flow, so the tier denies it"
                )
                return _Run("DENY", "END_OF_TIER", detail, traces, tier.name, unknowns=unknowns)
        profile = f"kns.{self.pod.namespace}"
        traces.append(
            PolicyTrace(
                "Profile",
                "",
                profile,
                Source(),
                (RuleTrace(0, 0, True, "Allow", True, True, "the namespace profile allows everything"),),
                outcome="allows",
            )
        )
        if self.tiers:
            why = "every tier that applies passed"
        else:
            why = f"no Calico or Kubernetes policy applies to {self.endpoint.id} for {side}"
        detail = f"{why}, so the namespace profile {profile} allows it"
        return _Run("ALLOW", "PROFILE_ALLOW", detail, traces, deciding_policy=profile, unknowns=unknowns)

    def _trace(
        self, policy: CalicoPolicy, tier: Tier, rules: tuple[RuleTrace, ...], outcome: str
    ) -> PolicyTrace:
        return PolicyTrace(
            policy.trace_kind,
            policy.namespace,
            policy.name,
            policy.source,
            rules,
            tier.name,
            policy.order,
            outcome,
            policy.warnings,
        )

    def explore(self) -> tuple[_Run, list[_Run], bool]:
        """Every verdict path through the unknown rule outcomes; the first follows the model."""
        leaves: list[_Run] = []
        stack: list[dict[tuple[str, str, int], bool]] = [{}]
        truncated = False
        while stack:
            choices = stack.pop()
            try:
                run = self.run(choices)
            except _NeedChoice as need:
                stack.append({**choices, need.key: not need.modelled})
                stack.append({**choices, need.key: need.modelled})
                continue
            leaves.append(run)
            if len(leaves) >= MAX_PATHS:
                truncated = bool(stack)
                break
        return leaves[0], leaves, truncated


# -- the entry point ----------------------------------------------------------------------------------


def _host_endpoint_of(index: CalicoIndex, end: Endpoint, ip: IPAddress | None = None) -> str:
    """The host endpoint that stands for ``end``: one on its node, or one expecting its address."""
    ip = ip or end.ip
    for hep in index.resources.host_endpoints:
        on_node = end.kind == "node" and bool(hep.node) and hep.node == end.node
        if on_node or (ip is not None and ip in hep.expected_ips):
            return hep.id
    return ""


def calico_decision(cluster: Cluster, flow: Flow, direction: str, settings: Settings) -> Decision:
    """The Calico decision for the pod end of ``flow`` in ``direction`` ("Ingress": the destination's
    ingress, "Egress": the source's egress). Only call it for a pod end."""
    endpoint = flow.dst if direction == "Ingress" else flow.src
    remote = flow.src if direction == "Ingress" else flow.dst
    pod = endpoint.pod
    if endpoint.kind != "pod" or pod is None:
        raise ValueError(f"calico_decision needs a pod end, got {endpoint.id}")
    index = calico_index(cluster)
    matcher = _Matcher(index, settings, _packet(flow))
    walk = _Walk(index, matcher, pod, endpoint, direction)
    isolated = bool(walk.tiers)
    host_ep = _host_endpoint_of(index, remote)
    hep_warning = (
        f"{remote.id} has {host_ep}; host endpoint policy is not modelled (SEMANTICS 0.3)" if host_ep else ""
    )
    same_node = remote.kind == "node" and bool(pod.node) and remote.node == pod.node

    if direction == "Ingress" and same_node:
        detail = (
            f"{remote.id} is {endpoint.id}'s own node; Calico does not police host to local workload traffic"
        )
        if hep_warning:
            return Decision(
                direction,
                "UNSUPPORTED",
                "HOST_TO_LOCAL_WORKLOAD",
                isolated,
                f"{detail}, but {hep_warning}",
                warnings=(hep_warning,),
            )
        return Decision(direction, "ALLOW", "HOST_TO_LOCAL_WORKLOAD", isolated, detail)

    primary, leaves, truncated = walk.explore()
    verdict = primary.verdict
    reason, detail = primary.reason, primary.detail
    warnings: list[str] = list(dict.fromkeys(u for leaf in leaves for u in leaf.unknowns))
    approximate = bool(warnings)
    if truncated or len({leaf.verdict for leaf in leaves}) > 1:
        verdict = "UNSUPPORTED"
        detail += ". The verdict depends on rule matches the evaluator cannot model: " + "; ".join(warnings)
    if verdict == "ALLOW" and direction == "Egress" and same_node:
        action = settings.default_endpoint_to_host_action
        if action == "DROP":
            return Decision(
                direction,
                "DENY",
                "ENDPOINT_TO_HOST_ACTION",
                isolated,
                f"{detail}; then, as {remote.id} is {endpoint.id}'s own node, DefaultEndpointToHostAction "
                "DROP drops it",
                tuple(primary.traces),
                primary.deciding_policy,
                primary.deciding_rule,
                primary.deciding_tier,
                approximate,
                tuple(warnings),
            )
        detail += f"; then DefaultEndpointToHostAction {action} lets it reach its own node {pod.node}"
    if verdict == "ALLOW" and hep_warning:
        verdict = "UNSUPPORTED"
        detail += f". But {hep_warning}"
        warnings.append(hep_warning)
    return Decision(
        direction,
        verdict,
        reason,
        isolated,
        detail,
        tuple(primary.traces),
        primary.deciding_policy,
        primary.deciding_rule,
        primary.deciding_tier,
        approximate,
        tuple(warnings),
    )


def policy_applies(cluster: Cluster, policy: CalicoPolicy, pod: Pod, direction: str) -> bool:
    """Whether ``policy`` applies to ``pod`` for ``direction`` (5.4); hostNetwork pods never."""
    if pod.host_network:
        return False
    return calico_index(cluster).applies(policy, pod.namespace, pod.labels, pod.service_account, direction)
