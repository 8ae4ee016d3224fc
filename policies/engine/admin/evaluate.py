"""One flow through the admin tiers: Admin tier, then NetworkPolicy, then Baseline tier, then
the default (docs/admin-policies.md sections 3 to 6).

In each tier policies are taken by priority (lower first); inside a policy, rules in the order
written. The first rule whose peer and ports match decides: Accept (Allow) and Deny are final,
Pass skips the rest of the tier. NetworkPolicy decides for every pod it isolates; only pods it
does not isolate reach the Baseline tier. A ``domainNames`` peer cannot be resolved here, so when
the verdict depends on it the direction is UNSUPPORTED.
https://network-policy-api.sigs.k8s.io/api-overview/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from policies.engine.admin.model import ADMIN, BASELINE, AdminPeer, AdminPolicy, AdminPort, AdminRule
from policies.engine.cluster import Pod
from policies.engine.decisions import Decision, PolicyTrace, RuleTrace
from policies.engine.flows import Endpoint, Flow
from policies.engine.model import Cluster
from policies.engine.options import Settings

__all__ = ["admin_decision", "peer_matches", "port_matches", "policies_for"]

Match = bool | None  # None: cannot be known (domainNames)


def policies_for(cluster: Cluster, pod: Pod, direction: str, tier: str) -> list[AdminPolicy]:
    """The tier's policies whose subject selects ``pod`` and that have rules for ``direction``."""
    if pod.host_network:
        return []
    labels = cluster.namespace(pod.namespace).labels
    found = [p for p in cluster.admin_policies
             if p.tier == tier and p.rules(direction) and p.selects(pod, labels)]
    return sorted(found, key=lambda p: p.order_key)


def peer_matches(cluster: Cluster, peer: AdminPeer, x: Endpoint, settings: Settings) -> tuple[Match, str]:
    """Whether one peer matches the remote end ``x``, with the reason (section 4)."""
    if peer.kind in ("namespaces", "pods"):
        if x.kind != "pod" or x.pod is None:
            what = "an external address" if x.kind == "external" else "node traffic"
            return False, f"{x.id} is {what}; namespaces and pods peers match pods only"
        ns_labels = cluster.namespace(x.pod.namespace).labels
        assert peer.namespace_selector is not None
        if not peer.namespace_selector.matches(ns_labels):
            return False, f"namespace {x.pod.namespace} does not match {peer.namespace_selector}"
        if peer.pod_selector is not None and not peer.pod_selector.matches(x.pod.labels):
            return False, f"{x.id} does not match podSelector {peer.pod_selector}"
        return True, f"{x.id} matches {peer.describe()}"
    if peer.kind == "nodes":
        assert peer.node_selector is not None
        nodes = [n for n in cluster.nodes if (x.kind == "node" and n.name == x.node)
                 or (x.kind != "pod" and x.ip is not None and x.ip in n.ips)]
        if not nodes:
            return False, f"{x.id} is not a node of the input"
        if any(peer.node_selector.matches(n.labels) for n in nodes):
            return True, f"node {nodes[0].name} matches nodes {peer.node_selector}"
        return False, f"node {nodes[0].name} does not match nodes {peer.node_selector}"
    if peer.kind == "networks":
        if x.kind == "pod" and not settings.ip_block_matches_pod_ips:
            return False, "networks do not match pod IPs (ip_block_matches_pod_ips is off)"
        if x.ip is None:
            return False, f"{x.id} has no IP address, so no network can match it"
        net = peer.network_contains(x.ip)
        if net is not None:
            return True, f"{x.ip} is in {net}"
        return False, f"{x.ip} is outside {', '.join(str(n) for n in peer.networks)}"
    if x.kind == "pod":
        return False, f"{x.id} is a pod; domainNames name addresses outside the cluster"
    return None, f"netpol cannot resolve domainNames {', '.join(peer.domain_names)} to tell whether {x.id} is one"


def port_matches(spec: AdminPort, flow: Flow) -> tuple[bool, str]:
    """Whether one port (or protocol) entry matches the flow's destination port."""
    dst = flow.dst
    if spec.name:
        if dst.kind != "pod" or dst.pod is None:
            return False, f"named port {spec.name!r} cannot match {dst.id}, which is not a pod"
        named = dst.pod.named_port(spec.name)
        if named is None:
            return False, f"{dst.id} has no port named {spec.name!r}"
        if (named.protocol, named.port) != (flow.protocol, flow.port):
            return False, (f"{dst.id} port {spec.name!r} is {named.protocol} {named.port}, "
                           f"not {flow.protocol} {flow.port}")
        return True, f"{dst.id} port {spec.name!r} is {named.protocol} {named.port}"
    if flow.protocol != spec.protocol:
        return False, f"the rule matches {spec.protocol}, the flow is {flow.protocol}"
    hi = spec.end_port if spec.end_port is not None else spec.port
    if flow.port is not None and spec.port is not None and hi is not None and spec.port <= flow.port <= hi:
        return True, f"port {flow.port} is in {spec.describe()}"
    return False, f"port {flow.port} is not {spec.describe()}"


def _rule(cluster: Cluster, index: int, rule: AdminRule, remote: Endpoint, flow: Flow,
          settings: Settings) -> tuple[Match, RuleTrace]:
    if rule.ports is None:
        port_ok, port_why = True, "all protocols and ports"
    else:
        results = [port_matches(p, flow) for p in rule.ports]
        port_ok = any(ok for ok, _ in results)
        port_why = next((w for ok, w in results if ok), "; ".join(w for _, w in results))
    peers = [peer_matches(cluster, p, remote, settings) for p in rule.peers]
    peer_ok: Match = True if any(ok is True for ok, _ in peers) else (None if any(ok is None for ok, _ in peers)
                                                                      else False)
    peer_why = next((w for ok, w in peers if ok is True), None) or next(
        (w for ok, w in peers if ok is None), "; ".join(w for _, w in peers))
    matched: Match = False if not port_ok else peer_ok
    if matched is True:
        why = f"matches: {peer_why}; {port_why}"
    elif matched is None:
        why = f"may match: {peer_why}"
    elif peer_ok is False:
        why = f"peer does not match: {peer_why}"
    else:
        why = f"port does not match: {port_why}"
    label = f"{rule.label} (unknown)" if matched is None else rule.label
    return matched, RuleTrace(index, rule.line, matched is True, label, peer_ok is True, port_ok, why,
                              rule.end_line, rule.name)


@dataclass(frozen=True)
class _Hit:
    policy: AdminPolicy
    index: int
    rule: AdminRule


def _walk(cluster: Cluster, policies: list[AdminPolicy], direction: str, remote: Endpoint, flow: Flow,
          settings: Settings, assume: bool) -> tuple[_Hit | None, tuple[PolicyTrace, ...], bool]:
    """The first matching rule of a tier; ``assume`` is how an unknown (domainNames) match counts.
    Also says whether an unknown match was met on the way."""
    traces: list[PolicyTrace] = []
    unknown = False
    for policy in policies:
        rules: list[RuleTrace] = []
        for i, rule in enumerate(policy.rules(direction)):
            matched, trace = _rule(cluster, i, rule, remote, flow, settings)
            rules.append(trace)
            unknown |= matched is None
            if matched is True or (matched is None and assume):
                outcome = _outcome(rule, i)
                traces.append(_trace(policy, rules, outcome))
                return _Hit(policy, i, rule), tuple(traces), unknown
        traces.append(_trace(policy, rules, "no rule matched"))
    return None, tuple(traces), unknown


def _outcome(rule: AdminRule, index: int) -> str:
    name = f" {rule.name!r}" if rule.name else ""
    if rule.action == "Pass":
        return f"passed to the next tier by rule {index}{name}"
    verb = "accepted" if rule.action == "Accept" else "denied"
    return f"{verb} by rule {index}{name}"


def _trace(policy: AdminPolicy, rules: list[RuleTrace], outcome: str) -> PolicyTrace:
    return PolicyTrace(policy.kind, "", policy.name, policy.source, tuple(rules), tier=policy.tier,
                       order=float(policy.priority) if policy.priority is not None else None,
                       outcome=outcome, priority=policy.priority)


def _rule_words(hit: _Hit) -> str:
    name = f" {hit.rule.name!r}" if hit.rule.name else ""
    return f"rule {hit.index}{name} of {hit.policy.describe()}"


def admin_decision(cluster: Cluster, flow: Flow, direction: str, settings: Settings,
                   inner: Callable[[], Decision]) -> Decision:
    """The decision of one direction with the admin tiers around ``inner`` (the NetworkPolicy tier).

    ``inner`` returns a decision with reason NOT_ISOLATED when no NetworkPolicy selects the pod."""
    endpoint = flow.dst if direction == "Ingress" else flow.src
    pod = endpoint.pod
    if endpoint.kind != "pod" or pod is None:
        return inner()
    admin = policies_for(cluster, pod, direction, ADMIN)
    baseline = policies_for(cluster, pod, direction, BASELINE)
    if not admin and not baseline:
        return inner()
    sure = _decide(cluster, flow, direction, settings, inner, admin, baseline, assume=False)
    if not sure[1]:
        return sure[0]
    maybe = _decide(cluster, flow, direction, settings, inner, admin, baseline, assume=True)[0]
    if maybe.verdict == sure[0].verdict:
        note = "a domainNames peer could not be resolved, but the verdict is the same either way"
        return replace(sure[0], warnings=(*sure[0].warnings, note))
    return replace(
        sure[0], verdict="UNSUPPORTED", reason="DOMAIN_NAMES",
        detail=f"the verdict depends on domainNames, which netpol cannot resolve: {maybe.verdict} if "
        f"{flow.dst.id if direction == 'Egress' else flow.src.id} is one of them, else {sure[0].verdict} "
        f"({sure[0].detail})",
    )


def _decide(cluster: Cluster, flow: Flow, direction: str, settings: Settings, inner: Callable[[], Decision],
            admin: list[AdminPolicy], baseline: list[AdminPolicy], assume: bool) -> tuple[Decision, bool]:
    endpoint = flow.dst if direction == "Ingress" else flow.src
    remote = flow.src if direction == "Ingress" else flow.dst
    side = direction.lower()
    hit, admin_traces, unknown = _walk(cluster, admin, direction, remote, flow, settings, assume)
    prefix = ""
    if hit is not None and hit.rule.action != "Pass":
        allow = hit.rule.action == "Accept"
        return Decision(
            direction, "ALLOW" if allow else "DENY", "ADMIN_ACCEPT" if allow else "ADMIN_DENY", True,
            f"{_rule_words(hit)} {'accepts' if allow else 'denies'} this {side} "
            "before any NetworkPolicy", admin_traces, deciding_policy=hit.policy.id,
            deciding_rule=hit.index, deciding_tier=ADMIN,
        ), unknown
    if hit is not None:
        prefix = f"{_rule_words(hit)} passes this {side} on; "
    elif admin:
        prefix = "no Admin-tier rule matched; "
    np = inner()
    if np.reason != "NOT_ISOLATED":
        return replace(np, policies=(*admin_traces, *np.policies), detail=prefix + np.detail), unknown
    hit, base_traces, more = _walk(cluster, baseline, direction, remote, flow, settings, assume)
    traces = (*admin_traces, *np.policies, *base_traces)
    unknown |= more
    if hit is not None and hit.rule.action != "Pass":
        allow = hit.rule.action == "Accept"
        return Decision(
            direction, "ALLOW" if allow else "DENY", "BASELINE_ALLOW" if allow else "BASELINE_DENY",
            True, f"{prefix}no NetworkPolicy selects {endpoint.id} for {side}; {_rule_words(hit)} "
            f"{'allows' if allow else 'denies'} it", traces, deciding_policy=hit.policy.id,
            deciding_rule=hit.index, deciding_tier=BASELINE,
        ), unknown
    tail = f"{_rule_words(hit)} passes it to the default" if hit is not None else (
        "no Baseline-tier rule matched" if baseline else "no Baseline-tier policy selects it")
    return Decision(
        direction, "ALLOW", "NOT_ISOLATED", False,
        f"{prefix}no NetworkPolicy selects {endpoint.id} for {side} and {tail}, so it is allowed by default",
        traces,
    ), unknown
