"""Admin network policies as Calico runs them: each one a global policy in a tier of its own kind
(docs/admin-policies.md section 8).

Calico's documentation of policy tiers (docs.tigera.io, "Get started with policy tiers",
calico/network-policy/policy-tiers/tiered-policy.mdx):

* Calico 3.32: ClusterNetworkPolicy with ``tier: Admin`` lives in the tier ``kube-admin`` ("the order
  of 1,000 and a default action of Pass"), with ``tier: Baseline`` in ``kube-baseline`` ("the order of
  10,000,000 and a default action of Pass"); in both "the ClusterNetworkPolicy priority field maps to
  the order field".
* Calico 3.30 and 3.31: AdminNetworkPolicy lives in the tier ``adminnetworkpolicy`` (order 1,000,
  default action Pass, "the AdminNetworkPolicy priority field maps to the order field"), the
  BaselineAdminNetworkPolicy in ``baselineadminnetworkpolicy`` (order 10,000,000, default action
  Pass), "treated as if it had an order of 1,000".

So the Admin tier runs after any Calico tier ordered below 1,000 and before the others, the default
tier (Kubernetes NetworkPolicies, order 1,000,000) comes next, and the Baseline tier only sees what
the default tier does not apply to or passes. Accept becomes Allow. Each admin rule becomes one
Calico rule per peer and protocol, all carrying the admin rule's index and name. A ``nodes`` peer is
read as the addresses of the nodes it selects; a ``domainNames`` peer cannot be resolved and makes
the rule's match unknown for addresses outside the cluster (it never matches a pod).
"""

from __future__ import annotations

import ipaddress

from policies.engine.admin.model import ADMIN, AdminPeer, AdminPolicy, AdminPort, AdminRule
from policies.engine.calico.convert import label_selector_to_calico
from policies.engine.calico.model import ORCHESTRATOR_LABEL, CalicoPolicy, CalicoRule, EntityRule, PortMatch
from policies.engine.calico.selector import ALL, Eq, Selector, and_
from policies.engine.cluster import IPNetwork
from policies.engine.k8s.selector import LabelSelector
from policies.engine.model import Cluster

__all__ = ["ADMIN_TIERS", "DOMAIN_NAMES", "admin_tier_of", "convert_admin_policy"]

# Kind -> (tier for the Admin tier, tier for the Baseline tier)
ADMIN_TIERS = {
    "ClusterNetworkPolicy": ("kube-admin", "kube-baseline"),
    "AdminNetworkPolicy": ("adminnetworkpolicy", "adminnetworkpolicy"),
    "BaselineAdminNetworkPolicy": ("baselineadminnetworkpolicy", "baselineadminnetworkpolicy"),
}
BANP_ORDER = 1000.0  # "treated as if it had an order of 1,000"
DOMAIN_NAMES = "domainNames"


def admin_tier_of(policy: AdminPolicy) -> str:
    admin, baseline = ADMIN_TIERS[policy.kind]
    return admin if policy.tier == ADMIN else baseline


def _selector(sel: LabelSelector | None) -> Selector:
    k8s = Eq(ORCHESTRATOR_LABEL, "k8s")
    if sel is None:
        return k8s
    converted = label_selector_to_calico(sel)
    return k8s if converted.is_all() else and_(k8s, converted)


def _namespaces(sel: LabelSelector | None) -> Selector:
    return label_selector_to_calico(sel) if sel is not None else ALL


def _peer_ends(cluster: Cluster, peer: AdminPeer) -> list[EntityRule] | None:
    """The Calico ends a peer stands for; None for domainNames; [] when it can match nothing."""
    if peer.kind in ("namespaces", "pods"):
        return [EntityRule(selector=_selector(peer.pod_selector), namespace_selector=_namespaces(
            peer.namespace_selector), line=peer.line)]
    if peer.kind == "networks":
        return [EntityRule(nets=peer.networks, line=peer.line)]
    if peer.kind == "nodes":
        assert peer.node_selector is not None
        nets: list[IPNetwork] = [ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")
                                 for n in cluster.nodes if peer.node_selector.matches(n.labels) for ip in n.ips]
        return [EntityRule(nets=tuple(nets), line=peer.line)] if nets else []
    return None


def _port_groups(ports: tuple[AdminPort, ...] | None) -> dict[str | None, tuple[PortMatch, ...]]:
    """Protocol -> port matches; a named port carries its own protocol (the key None)."""
    if ports is None:
        return {None: ()}
    groups: dict[str | None, list[PortMatch]] = {}
    for spec in ports:
        if spec.name:
            groups.setdefault(None, []).append(spec.name)
        elif spec.port is not None:
            groups.setdefault(spec.protocol, []).append((spec.port, spec.end_port or spec.port))
    return {proto: tuple(matches) for proto, matches in groups.items()}


def _rules(cluster: Cluster, rule: AdminRule, index: int, direction: str) -> list[CalicoRule]:
    action = "Allow" if rule.action == "Accept" else rule.action
    out: list[CalicoRule] = []
    for peer in rule.peers:
        ends = _peer_ends(cluster, peer)
        unsupported: tuple[str, ...] = ()
        if ends is None:
            ends, unsupported = [EntityRule(line=peer.line)], (DOMAIN_NAMES,)
        for end in ends:
            for proto, ports in _port_groups(rule.ports).items():
                local = EntityRule(ports=ports) if direction == "Ingress" else EntityRule()
                remote = end if direction == "Ingress" else EntityRule(
                    nets=end.nets, selector=end.selector, namespace_selector=end.namespace_selector,
                    ports=ports, line=end.line)
                src, dst = (remote, local) if direction == "Ingress" else (local, remote)
                out.append(CalicoRule(action, protocol=proto, source=src, destination=dst,
                                      line=rule.line, end_line=rule.end_line, unsupported=unsupported,
                                      k8s_index=index, admin_name=rule.name))
    return out


def convert_admin_policy(cluster: Cluster, policy: AdminPolicy) -> CalicoPolicy:
    """One admin network policy as a global policy of its Calico tier."""
    types = frozenset(d for d, rules in (("Ingress", policy.ingress), ("Egress", policy.egress)) if rules)
    order = float(policy.priority) if policy.priority is not None else BANP_ORDER
    return CalicoPolicy(
        kind=policy.kind,  # type: ignore[arg-type]
        namespace="",
        name=policy.name,
        tier=admin_tier_of(policy),
        order=order,
        selector=_selector(policy.pod_selector),
        namespace_selector=_namespaces(policy.namespace_selector),
        types=types,
        ingress=tuple(r for i, rule in enumerate(policy.ingress) for r in _rules(cluster, rule, i, "Ingress")),
        egress=tuple(r for i, rule in enumerate(policy.egress) for r in _rules(cluster, rule, i, "Egress")),
        source=policy.source,
    )
