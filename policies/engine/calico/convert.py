"""Kubernetes NetworkPolicies as Calico sees them (SEMANTICS.md 5.7).

Calico runs a Kubernetes NetworkPolicy as an Allow-only policy at order 1000 in the default tier;
its selectors become Calico selectors and every rule's peer gains the implicit
``projectcalico.org/orchestrator == 'k8s'`` term.
https://docs.tigera.io/calico/latest/network-policy/get-started/kubernetes-policy/kubernetes-network-policy
"""

from __future__ import annotations

from policies.engine.calico.model import (
    DEFAULT_TIER,
    K8S_POLICY_ORDER,
    ORCHESTRATOR_LABEL,
    CalicoPolicy,
    CalicoRule,
    EntityRule,
    PortMatch,
)
from policies.engine.calico.selector import ALL, Eq, Has, Selector, and_, in_set, not_
from policies.engine.k8s.model import NetworkPolicy, Rule
from policies.engine.k8s.selector import LabelSelector

__all__ = ["convert_k8s_policy", "label_selector_to_calico"]


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
