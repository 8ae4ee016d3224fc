"""The ``k8s`` evaluator for one flow: Kubernetes NetworkPolicy semantics with a full trace.

Implements SEMANTICS.md 4.3 to 4.9: isolation per direction, the union of allow rules, peer matching
(podSelector local to the policy namespace, namespaceSelector, both ANDed in one entry, ipBlock with
except), port matching on the flow's destination (named ports resolved on the destination pod), the
own-node ingress exemption and UNDEFINED for non-L4 protocols toward an isolated pod.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.engine.cluster import Pod
from policies.engine.decisions import Decision, PolicyTrace, RuleTrace
from policies.engine.flows import Endpoint, Flow
from policies.engine.k8s.model import NetworkPolicy, Peer, PortSpec, Rule
from policies.engine.model import Cluster
from policies.engine.options import Settings

__all__ = ["applicable_policies", "k8s_decision", "peer_matches", "port_matches"]


def applicable_policies(cluster: Cluster, pod: Pod, direction: str) -> list[NetworkPolicy]:
    """Policies of the pod's namespace that select it and govern ``direction`` (4.3)."""
    if pod.host_network:
        return []  # hostNetwork pods are not selectable (4.8.2)
    return [
        np
        for np in cluster.policies
        if np.namespace == pod.namespace
        and direction in np.policy_types
        and np.pod_selector.matches(pod.labels)
    ]


def peer_matches(cluster: Cluster, peer: Peer, policy_ns: str, x: Endpoint, settings: Settings) -> tuple[bool, str]:
    """Whether one ``from``/``to`` entry matches the remote end ``x`` (4.6), with the reason."""
    if peer.ip_block is not None:
        if x.kind == "pod" and not settings.ip_block_matches_pod_ips:
            return False, "ipBlock does not match pod IPs (ip_block_matches_pod_ips is off)"
        if x.ip is None:
            return False, f"{x.id} has no IP address, so no ipBlock can match it"
        if peer.ip_block.contains(x.ip):
            return True, f"{x.ip} is in ipBlock {peer.ip_block}"
        if x.ip.version == peer.ip_block.cidr.version and x.ip in peer.ip_block.cidr:
            return False, f"{x.ip} is in an except of ipBlock {peer.ip_block}"
        return False, f"{x.ip} is outside ipBlock {peer.ip_block}"
    if x.kind != "pod" or x.pod is None:
        what = "an external address" if x.kind == "external" else "node traffic"
        return False, f"{x.id} is {what}; pod and namespace selectors match pods only"
    pod = x.pod
    if peer.namespace_selector is None:
        if pod.namespace != policy_ns:
            return False, f"podSelector alone only matches pods in namespace {policy_ns}"
    else:
        ns_labels = cluster.namespace(pod.namespace).labels
        if not peer.namespace_selector.matches(ns_labels):
            return False, f"namespace {pod.namespace} does not match namespaceSelector {peer.namespace_selector}"
    if peer.pod_selector is not None and not peer.pod_selector.matches(pod.labels):
        return False, f"{x.id} does not match podSelector {peer.pod_selector}"
    return True, f"{x.id} matches {peer.describe()}"


def port_matches(spec: PortSpec, flow: Flow, dst: Endpoint) -> tuple[bool, str]:
    """Whether one ``ports`` entry matches the flow's destination port (4.7)."""
    if flow.protocol != spec.protocol:
        return False, f"the rule allows {spec.protocol}, the flow is {flow.protocol}"
    if spec.port is None:
        return True, f"every {spec.protocol} port"
    if isinstance(spec.port, int):
        hi = spec.end_port if spec.end_port is not None else spec.port
        if flow.port is not None and spec.port <= flow.port <= hi:
            return True, f"port {flow.port} is in {spec.describe()}"
        return False, f"port {flow.port} is not {spec.describe()}"
    if dst.kind != "pod" or dst.pod is None:
        return False, f"named port {spec.port!r} cannot match {dst.id}, which is not a pod"
    named = dst.pod.named_port(spec.port)
    if named is None:
        return False, f"{dst.id} has no port named {spec.port!r}"
    if named.protocol != flow.protocol:
        return False, f"{dst.id} port {spec.port!r} is {named.protocol}, the flow is {flow.protocol}"
    if named.port != flow.port:
        return False, f"{dst.id} port {spec.port!r} is {named.port}, the flow goes to {flow.port}"
    return True, f"{dst.id} port {spec.port!r} is {named.protocol} {named.port}"


def _once(reasons: Iterable[str]) -> str:
    """Reasons joined, each said once (four podSelector-only peers fail for one reason)."""
    return "; ".join(dict.fromkeys(reasons))


def _rule_trace(
    cluster: Cluster, index: int, rule: Rule, policy_ns: str, remote: Endpoint, flow: Flow, settings: Settings
) -> RuleTrace:
    if rule.ports:
        port_results = [port_matches(p, flow, flow.dst) for p in rule.ports]
        port_ok = any(ok for ok, _ in port_results)
        port_why = next((w for ok, w in port_results if ok), _once(w for _, w in port_results))
    else:
        port_ok, port_why = True, "all ports and protocols"
    if rule.peers:
        peer_results = [peer_matches(cluster, p, policy_ns, remote, settings) for p in rule.peers]
        peer_ok = any(ok for ok, _ in peer_results)
        peer_why = next((w for ok, w in peer_results if ok), _once(w for _, w in peer_results))
    else:
        peer_ok, peer_why = True, "every peer"
    if peer_ok and port_ok:
        why = f"matches: {peer_why}; {port_why}"
    elif not peer_ok:
        why = f"peer does not match: {peer_why}"
    else:
        why = f"port does not match: {port_why}"
    return RuleTrace(index, rule.line, peer_ok and port_ok, "Allow", peer_ok, port_ok, why, rule.end_line)


def k8s_decision(cluster: Cluster, flow: Flow, direction: str, settings: Settings) -> Decision:
    """The ingress decision of ``flow.dst`` or the egress decision of ``flow.src`` (4.4, 4.5)."""
    endpoint = flow.dst if direction == "Ingress" else flow.src
    remote = flow.src if direction == "Ingress" else flow.dst
    pod = endpoint.pod
    assert endpoint.kind == "pod" and pod is not None
    pols = applicable_policies(cluster, pod, direction)
    side = "ingress" if direction == "Ingress" else "egress"
    if not pols:
        return Decision(
            direction, "ALLOW", "NOT_ISOLATED", False,
            f"no NetworkPolicy selects {endpoint.id} for {side}, so all {side} is allowed",
        )
    traces = _traces(cluster, pols, direction, remote, flow, settings)
    if direction == "Ingress" and remote.kind == "node" and remote.node and remote.node == pod.node \
            and settings.node_ingress_exempt:
        return Decision(direction, "ALLOW", "NODE_INGRESS_EXEMPT", True,
                        f"traffic from {endpoint.id}'s own node {pod.node} is always allowed in", traces)
    if direction == "Egress" and remote.kind == "node" and remote.node and remote.node == pod.node \
            and settings.node_egress_exempt:
        return Decision(direction, "ALLOW", "NODE_EGRESS_EXEMPT", True,
                        f"traffic to {endpoint.id}'s own node {pod.node} is exempt (node_egress_exempt)", traces)
    if not flow.is_l4:
        return Decision(direction, "UNDEFINED", "UNDEFINED_PROTOCOL", True,
                        f"{endpoint.id} is isolated for {side}; NetworkPolicy does not define "
                        f"{flow.protocol} traffic", traces)
    for trace in traces:
        for rt in trace.rules:
            if rt.matched:
                return Decision(
                    direction, "ALLOW", "RULE_ALLOW", True,
                    f"{side} rule {rt.index} of {trace.id} allows it ({rt.why})", traces,
                    deciding_policy=trace.id, deciding_rule=rt.index,
                )
    n = len(pols)
    return Decision(
        direction, "DENY", "NO_MATCH", True,
        f"{endpoint.id} is isolated for {side} by {n} polic{'y' if n == 1 else 'ies'} and no {side} rule "
        "allows this flow", traces,
    )


def _traces(
    cluster: Cluster, pols: Sequence[NetworkPolicy], direction: str, remote: Endpoint, flow: Flow,
    settings: Settings,
) -> tuple[PolicyTrace, ...]:
    out = []
    for np in pols:
        rules = tuple(
            _rule_trace(cluster, i, r, np.namespace, remote, flow, settings)
            for i, r in enumerate(np.rules(direction))
        )
        if not rules:
            outcome = f"isolates, has no {direction.lower()} rules"
        elif any(r.matched for r in rules):
            outcome = "allows"
        else:
            outcome = "no rule matched"
        out.append(PolicyTrace("NetworkPolicy", np.namespace, np.name, np.source, rules, outcome=outcome))
    return tuple(out)
