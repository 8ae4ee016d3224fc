"""The smallest change that turns a flow's verdict, checked by evaluating the cluster with it.

For a denied flow: the rule to add, as YAML, to the NetworkPolicy that isolates the destination
(an ingress rule from the source's namespace and workload labels) or the source (an egress rule to
the destination), on the flow's port; when both sides isolate, one rule on each side. When a Deny
rule decides (Calico, AdminNetworkPolicy, BaselineAdminNetworkPolicy) no Allow would help: the
suggestion names that rule instead. For an allowed flow: the rules that allow it and the smallest
edit of each (the source excluded from the matching peer, or the port removed), or, when no
NetworkPolicy isolates either end, an AdminNetworkPolicy that denies exactly this flow.

Every suggestion is applied to the cluster model and the flow evaluated again (``verified``), and
the flows the change also opens (or closes) are listed at workload level: the pairs in the changed
rule's reach whose verdict on the flow's port changes.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
https://network-policy-api.sigs.k8s.io/api-overview/
"""

from __future__ import annotations

import ipaddress
import itertools
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import yaml

from policies.engine.admin.model import AdminPolicy
from policies.engine.cluster import NAMESPACE_NAME_LABEL, Pod, Source
from policies.engine.decisions import Decision
from policies.engine.documents import RawObject
from policies.engine.errors import PolicyError
from policies.engine.evaluate import FlowResult, evaluate
from policies.engine.flows import Endpoint, Flow, flow_between
from policies.engine.groups import relevant_keys
from policies.engine.k8s.evaluate import applicable_policies, peer_matches, port_matches
from policies.engine.k8s.model import NetworkPolicy, Peer, Rule
from policies.engine.k8s.parse import NETWORK_POLICY_API, parse_network_policy
from policies.engine.k8s.selector import LabelSelector, Requirement
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

__all__ = ["Change", "OtherFlows", "Suggestion", "suggest"]

Goal = Literal["allow", "deny"]
# Labels that differ between a workload's pods or between its rollouts: never used to select it.
VOLATILE_KEYS = frozenset({
    "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
    "pod-template-generation", "apps.kubernetes.io/pod-index", "batch.kubernetes.io/controller-uid",
    "controller-uid", "batch.kubernetes.io/job-name", "job-name",
})
NAME_KEYS = ("app", "app.kubernetes.io/name", "k8s-app", "name", "component", "app.kubernetes.io/component")
DENY_REASONS = frozenset({"CALICO_DENY", "ADMIN_DENY", "BASELINE_DENY"})
SHOWN = 5  # other flows listed by name
MAX_PAIRS = 600  # pod pairs evaluated to find the other flows a change opens or closes
MAX_CANDIDATES = 2  # policies tried for one side, those that select the fewest pods first


@dataclass(frozen=True)
class Change:
    """One edit: a rule added to or changed in a policy, a new policy, or a Deny rule to change."""

    action: Literal["add-rule", "edit-rule", "remove-rule", "add-policy", "change-deny"]
    direction: str  # "Ingress" or "Egress"
    policy: str  # the policy's id; for add-policy the new one's
    kind: str
    text: str  # the change in words
    yaml: str = ""  # the rule (add-rule, edit-rule) or the whole policy (add-policy)
    rule: int | None = None  # the rule's index for edit-rule, remove-rule and change-deny
    source: Source = field(default_factory=Source)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "direction": self.direction, "policy": self.policy,
                                "kind": self.kind, "text": self.text, "yaml": self.yaml, "rule": self.rule}
        if self.source.file:
            data["source"] = self.source.to_dict()
        return data


@dataclass(frozen=True)
class OtherFlows:
    """Workload pairs (``source -> destination``) whose verdict on the flow's port the change turns too."""

    count: int
    first: tuple[str, ...]
    complete: bool = True  # False: more pairs were in reach than were evaluated

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "first": list(self.first), "complete": self.complete}


@dataclass(frozen=True)
class Suggestion:
    goal: Goal  # "allow" for a denied flow, "deny" for an allowed one
    summary: str
    changes: tuple[Change, ...] = ()
    verified: bool = False  # with the changes applied, the flow has the goal's verdict
    others: OtherFlows | None = None  # what else the changes open (allow) or close (deny)

    def to_text(self) -> str:
        head = "To allow it" if self.goal == "allow" else "To deny it"
        lines = [f"{head}: {self.summary}" + (" (checked)." if self.verified else ".")]
        for c in self.changes:
            where = f" ({c.source.file}, line {c.source.line})" if c.source.file else ""
            lines.append(f"  - {c.text}{where}")
            lines.extend(f"      {line}" for line in c.yaml.splitlines())
        if self.others is not None:
            verb = "opens" if self.goal == "allow" else "closes"
            more = "" if self.others.complete else "at least "
            listed = ", ".join(self.others.first) + (", ..." if self.others.count > len(self.others.first) else "")
            lines.append(f"  It also {verb} {more}{self.others.count} other workload pair(s) on this port"
                         + (f": {listed}" if listed else "") + ".")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.goal, "summary": self.summary, "verified": self.verified,
                "changes": [c.to_dict() for c in self.changes],
                "others": self.others.to_dict() if self.others else None}


# -- an edit of the model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    change: Change
    policies: dict[str, NetworkPolicy] = field(default_factory=dict)  # id -> the policy as changed
    admin: tuple[AdminPolicy, ...] = ()  # policies added
    # (direction, the pods the changed policy selects, the pods its changed rule reaches: None for
    # the flow's remote end only)
    reach: tuple[str, frozenset[Pod], frozenset[Pod] | None] | None = None


def _with_rules(np: NetworkPolicy, direction: str, rules: tuple[Rule, ...]) -> NetworkPolicy:
    return replace(np, ingress=rules) if direction == "Ingress" else replace(np, egress=rules)


def _apply(cluster: Cluster, edits: Sequence[_Edit]) -> Cluster:
    changed: dict[str, NetworkPolicy] = {}
    for e in edits:
        changed.update(e.policies)
    policies = tuple(changed.get(np.id, np) for np in cluster.policies)
    admin = tuple(a for e in edits for a in e.admin)
    return replace(cluster, policies=policies, admin_policies=(*cluster.admin_policies, *admin))


# -- YAML of model objects ---------------------------------------------------------------------------


def _selector_dict(selector: LabelSelector) -> dict[str, Any]:
    labels = {r.key: next(iter(r.values)) for r in selector.requirements if r.operator == "In" and len(r.values) == 1}
    expressions = [
        {"key": r.key, "operator": r.operator, **({"values": sorted(r.values)} if r.values else {})}
        for r in selector.requirements if not (r.operator == "In" and len(r.values) == 1)
    ]
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = labels
    if expressions:
        out["matchExpressions"] = expressions
    return out


def _peer_dict(peer: Peer) -> dict[str, Any]:
    if peer.ip_block is not None:
        block: dict[str, Any] = {"cidr": str(peer.ip_block.cidr)}
        if peer.ip_block.excepts:
            block["except"] = [str(e) for e in peer.ip_block.excepts]
        return {"ipBlock": block}
    out: dict[str, Any] = {}
    if peer.namespace_selector is not None:
        out["namespaceSelector"] = _selector_dict(peer.namespace_selector)
    if peer.pod_selector is not None:
        out["podSelector"] = _selector_dict(peer.pod_selector)
    return out


def _rule_dict(rule: Rule, direction: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.peers:
        out["from" if direction == "Ingress" else "to"] = [_peer_dict(p) for p in rule.peers]
    if rule.ports:
        ports = []
        for spec in rule.ports:
            entry: dict[str, Any] = {"protocol": spec.protocol}
            if spec.port is not None:
                entry["port"] = spec.port
            if spec.end_port is not None:
                entry["endPort"] = spec.end_port
            ports.append(entry)
        out["ports"] = ports
    return out


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _parse_rule(policy: NetworkPolicy, direction: str, data: dict[str, Any]) -> Rule:
    """A rule as the engine reads it, validated as the API server would."""
    key = "ingress" if direction == "Ingress" else "egress"
    doc = {"apiVersion": NETWORK_POLICY_API, "kind": "NetworkPolicy",
           "metadata": {"name": policy.name, "namespace": policy.namespace},
           "spec": {"podSelector": {}, "policyTypes": [direction], key: [data]}}
    parsed, _ = parse_network_policy(RawObject("NetworkPolicy", NETWORK_POLICY_API, doc, policy.source))
    return parsed.rules(direction)[0]


# -- what a suggestion reads of a cluster, gathered once per cluster object -----------------------------------


class _Facts:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.by_namespace: dict[str, list[Pod]] = {}
        for pod in cluster.pods:
            self.by_namespace.setdefault(pod.namespace, []).append(pod)
        relevant = relevant_keys(cluster)
        self.read_keys = relevant[0] if relevant is not None else frozenset(
            k for np in cluster.policies for k in _selector_keys(np))


_FACTS: dict[int, _Facts] = {}


def _facts(cluster: Cluster) -> _Facts:
    facts = _FACTS.get(id(cluster))
    if facts is None or facts.cluster is not cluster:
        facts = _FACTS[id(cluster)] = _Facts(cluster)
        weakref.finalize(cluster, _FACTS.pop, id(cluster), None)
    return facts


# -- selecting a workload with few labels ----------------------------------------------------------------


def workload_labels(cluster: Cluster, pod: Pod) -> dict[str, str]:
    """The fewest labels that select ``pod``'s workload in its namespace and as few other pods as
    possible: labels that policies' selectors read first, then the usual name labels (``app``...)."""
    facts = _facts(cluster)
    namespace = facts.by_namespace.get(pod.namespace, [])
    siblings = [p for p in namespace if p.workload_id == pod.workload_id] or [pod]
    common = {k: v for k, v in pod.labels.items_tuple()
              if k not in VOLATILE_KEYS and all(s.labels.get(k) == v for s in siblings)}
    if not common:
        return {}
    others = [p for p in namespace if p.workload_id != pod.workload_id and not p.host_network]
    read = facts.read_keys

    def rank(key: str) -> tuple[int, int, str]:
        return (0 if key in read else 1, NAME_KEYS.index(key) if key in NAME_KEYS else len(NAME_KEYS), key)

    keys = sorted(common, key=rank)[:8]
    best: tuple[int, int, tuple[str, ...]] | None = None
    for size in range(1, min(3, len(keys)) + 1):
        for combo in itertools.combinations(keys, size):
            extra = sum(1 for p in others if all(p.labels.get(k) == common[k] for k in combo))
            if best is None or (extra, size) < best[:2]:
                best = (extra, size, combo)
        if best is not None and best[0] == 0:
            break
    assert best is not None
    return {k: common[k] for k in best[2]}


def _selector_keys(np: NetworkPolicy) -> Iterable[str]:
    yield from (r.key for r in np.pod_selector.requirements)
    for rule in (*np.ingress, *np.egress):
        for peer in rule.peers:
            for sel in (peer.pod_selector, peer.namespace_selector):
                if sel is not None:
                    yield from (r.key for r in sel.requirements)


def _peer_for(cluster: Cluster, remote: Endpoint, policy_ns: str) -> dict[str, Any] | None:
    """A ``from``/``to`` entry that selects ``remote`` (its workload, or its address), None if none can."""
    if remote.kind == "pod" and remote.pod is not None:
        labels = workload_labels(cluster, remote.pod)
        selector = {"matchLabels": labels} if labels else {}
        if remote.pod.namespace == policy_ns:
            return {"podSelector": selector}
        return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: remote.pod.namespace}},
                "podSelector": selector}
    if remote.ip is None:
        return None
    bits = 32 if remote.ip.version == 4 else 128
    return {"ipBlock": {"cidr": f"{remote.ip}/{bits}"}}


def _ports_for(flow: Flow) -> list[dict[str, Any]] | None:
    if not flow.is_l4:
        return None
    entry: dict[str, Any] = {"protocol": flow.protocol}
    if flow.port is not None:
        entry["port"] = flow.port
    return [entry]


# -- the other flows a change opens or closes ------------------------------------------------------------


def _endpoint(pod: Pod) -> Endpoint:
    kind: Literal["pod", "node"] = "node" if pod.host_network else "pod"
    ip = pod.host_ip if pod.host_network and pod.host_ip else (pod.ips[0] if pod.ips else None)
    return Endpoint(kind, pod.id, pod=pod, node=pod.node, ip=ip)


def _distinct(pods: Iterable[Pod]) -> list[Pod]:
    """One pod per workload and kind of pod (labels, ports, host network): the pods a policy tells
    apart. Labels that differ between a workload's pods by design (template hashes) do not count:
    no suggested selector reads them."""
    seen: dict[tuple[Any, ...], Pod] = {}
    for p in pods:
        labels = tuple(item for item in p.labels.items_tuple() if item[0] not in VOLATILE_KEYS)
        seen.setdefault((p.workload_id, labels, p.ports, p.host_network, bool(p.ips)), p)
    return list(seen.values())


def _others(before: Cluster, after: Cluster, result: FlowResult, edits: Sequence[_Edit], goal: Goal,
            settings: Settings) -> OtherFlows:
    flow = result.flow
    own = (_workload_of(flow.src), _workload_of(flow.dst))
    pairs: dict[tuple[str, str], tuple[Endpoint, Endpoint]] = {}
    complete = True
    for edit in edits:
        if edit.reach is None:
            continue
        direction, ends, remotes = edit.reach
        remote_end = flow.src if direction == "Ingress" else flow.dst
        # A rule that names addresses reaches the flow's own remote end (an address, a node).
        reached = [_endpoint(p) for p in _distinct(remotes)] if remotes is not None else [remote_end]
        for end in _distinct(ends):
            for remote in reached:
                src, dst = (remote, _endpoint(end)) if direction == "Ingress" else (_endpoint(end), remote)
                if src.id == dst.id:
                    continue
                if len(pairs) >= MAX_PAIRS:
                    complete = False
                    break
                pairs.setdefault((src.id, dst.id), (src, dst))
    turned: set[tuple[str, str]] = set()
    for src, dst in pairs.values():
        names = (_workload_of(src), _workload_of(dst))
        if names == own or names in turned:
            continue
        pair = flow_between(src, dst, protocol=flow.protocol, port=flow.port, icmp_type=flow.icmp_type,
                            icmp_code=flow.icmp_code)
        # An allowing change turns only pairs that are allowed after it; a denying one only pairs
        # that were allowed before it: the other cluster is evaluated only for those.
        first, second = (after, before) if goal == "allow" else (before, after)
        if not evaluate(first, pair, evaluator=result.evaluator, settings=settings).allowed:
            continue
        if not evaluate(second, pair, evaluator=result.evaluator, settings=settings).allowed:
            turned.add(names)
    ordered = sorted(f"{s} -> {d}" for s, d in turned)
    return OtherFlows(len(ordered), tuple(ordered[:SHOWN]), complete)


def _workload_of(end: Endpoint) -> str:
    return end.pod.workload_id if end.pod is not None else end.id


def _selected(cluster: Cluster, np: NetworkPolicy, direction: str) -> frozenset[Pod]:
    """The pods ``np`` selects for ``direction`` (as ``applicable_policies`` decides, 4.3)."""
    if direction not in np.policy_types:
        return frozenset()
    return frozenset(p for p in _facts(cluster).by_namespace.get(np.namespace, ())
                     if not p.host_network and np.pod_selector.matches(p.labels))


def _peer_reach(cluster: Cluster, rule: Rule, policy_ns: str, settings: Settings) -> frozenset[Pod] | None:
    """The pods a rule's peers match (None when it names addresses only: the flow's remote end then)."""
    if rule.peers and all(p.ip_block is not None for p in rule.peers):
        return None
    if not rule.peers:
        return frozenset(cluster.pods)
    facts = _facts(cluster)
    found: set[Pod] = set()
    for peer in rule.peers:
        if peer.ip_block is not None:
            candidates: Iterable[Pod] = cluster.pods
        elif peer.namespace_selector is None:
            candidates = facts.by_namespace.get(policy_ns, ())
        else:
            selector = peer.namespace_selector
            candidates = [p for ns, pods in facts.by_namespace.items()
                          if selector.matches(cluster.namespace(ns).labels) for p in pods]
        found.update(p for p in candidates if peer_matches(cluster, peer, policy_ns, _endpoint(p), settings)[0])
    return frozenset(found)


# -- allowing a denied flow ------------------------------------------------------------------------------


def _add_rule(cluster: Cluster, np: NetworkPolicy, direction: str, flow: Flow, settings: Settings) -> _Edit | None:
    remote = flow.src if direction == "Ingress" else flow.dst
    peer = _peer_for(cluster, remote, np.namespace)
    ports = _ports_for(flow)
    if peer is None or ports is None:
        return None
    data = {"from" if direction == "Ingress" else "to": [peer], "ports": ports}
    rule = _parse_rule(np, direction, data)
    changed = _with_rules(np, direction, (*np.rules(direction), rule))
    side = direction.lower()
    change = Change("add-rule", direction, np.id, "NetworkPolicy",
                    f"add this {side} rule under spec.{side} of NetworkPolicy {np.id}", _dump([data]),
                    source=np.source)
    return _Edit(change, {np.id: changed}, reach=(direction, _selected(cluster, np, direction),
                                                  _peer_reach(cluster, rule, np.namespace, settings)))


def _deny_change(decision: Decision) -> Change:
    side = decision.direction.lower()
    trace = next((t for t in reversed(decision.policies) if t.id == decision.deciding_policy), None)
    return Change(
        "change-deny", decision.direction, decision.deciding_policy, trace.kind if trace else "",
        f"{decision.detail}: no Allow rule can override it; change or remove {side} rule "
        f"{decision.deciding_rule} of {decision.deciding_policy}, or allow the flow in a policy that is "
        "evaluated before it", rule=decision.deciding_rule, source=trace.source if trace else Source())


def _allow(cluster: Cluster, result: FlowResult, settings: Settings) -> Suggestion:
    flow = result.flow
    if not flow.is_l4:
        return Suggestion("allow", f"NetworkPolicy rules name TCP, UDP and SCTP ports only; {flow.protocol} "
                          "traffic to an isolated pod cannot be allowed by a rule")
    blocked = [d for d in (result.egress, result.ingress) if d.verdict == "DENY"]
    fixed = [c for c in (_unfixable(d) for d in blocked) if c is not None]
    if fixed:
        return Suggestion("allow", _unfixable_words(fixed), tuple(fixed))
    edits: list[_Edit] = []
    for decision in blocked:
        end = flow.dst if decision.direction == "Ingress" else flow.src
        if end.pod is None:
            continue
        isolating = applicable_policies(cluster, end.pod, decision.direction)
        candidates = sorted(isolating, key=lambda np: (len(_selected(cluster, np, decision.direction)), np.id))
        candidates = candidates[:MAX_CANDIDATES]
        options = [e for e in (_add_rule(cluster, np, decision.direction, flow, settings) for np in candidates) if e]
        if not options:
            return Suggestion("allow", f"no NetworkPolicy rule can select {_remote_words(decision, flow)}; "
                              f"{decision.detail}")
        scored = []
        for option in options:
            after = _apply(cluster, [option])
            others = _others(cluster, after, result, [option], "allow", settings)
            scored.append((others.count, len(option.reach[1]) if option.reach else 0, option.change.policy, option))
        edits.append(min(scored, key=lambda s: s[:3])[3])
    if not edits:
        return Suggestion("allow", "nothing this tool can propose allows the flow")
    after = _apply(cluster, edits)
    check = evaluate(after, flow, evaluator=result.evaluator, settings=settings)
    if not check.allowed:
        still = [c for c in (_unfixable(d) for d in (check.egress, check.ingress) if d.verdict == "DENY")
                 if c is not None]
        if still:
            return Suggestion("allow", _unfixable_words(still) + " (once the NetworkPolicy rule is added)",
                              tuple(still))
        blocking = "; ".join(d.detail for d in (check.egress, check.ingress) if d.verdict != "ALLOW")
        return Suggestion("allow", f"the rules below would not be enough: {blocking}", tuple(e.change for e in edits))
    others = _others(cluster, after, result, edits, "allow", settings)
    rules = " and ".join(f"an {e.change.direction.lower()} rule in {e.change.policy}" for e in edits)
    return Suggestion("allow", f"{rules} would allow this flow" if len(edits) == 1
                      else f"{rules} together would allow this flow", tuple(e.change for e in edits), True, others)


def _unfixable(decision: Decision) -> Change | None:
    """What a NetworkPolicy rule cannot change: a Deny rule that decides, or a Calico tier (other
    than the default tier, where Kubernetes policies run) whose end denies the flow."""
    if decision.reason in DENY_REASONS:
        return _deny_change(decision)
    if decision.reason == "END_OF_TIER" and decision.deciding_tier and decision.deciding_tier != "default":
        tier = decision.deciding_tier
        members = [t for t in decision.policies if t.tier == tier]
        first = members[0] if members else None
        names = ", ".join(f"{t.kind} {t.id}" for t in members)
        return Change(
            "change-deny", decision.direction, first.id if first else "", first.kind if first else "",
            f"tier {tier} ends in a deny: add an Allow (or Pass) rule for this flow to one of its policies "
            f"that select the {'destination' if decision.direction == 'Ingress' else 'source'} ({names}); a "
            "NetworkPolicy rule runs in the default tier, after it", source=first.source if first else Source())
    return None


def _unfixable_words(changes: Sequence[Change]) -> str:
    if all(c.rule is not None for c in changes):
        return "a Deny rule decides; an added Allow rule would not change the verdict"
    return "a Calico tier denies the flow before the NetworkPolicy rules are evaluated"


def _remote_words(decision: Decision, flow: Flow) -> str:
    remote = flow.src if decision.direction == "Ingress" else flow.dst
    return f"{remote.id} (it has no address)" if remote.ip is None else remote.id


# -- denying an allowed flow -----------------------------------------------------------------------------


def _narrowed(cluster: Cluster, np: NetworkPolicy, direction: str, index: int, flow: Flow,
              settings: Settings) -> tuple[Rule | None, str] | None:
    """Rule ``index`` edited so that it no longer matches the flow: (the rule or None to remove it, words)."""
    rule = np.rules(direction)[index]
    remote = flow.src if direction == "Ingress" else flow.dst
    dst = flow.dst
    matching_ports = [p for p in rule.ports if port_matches(p, flow, dst)[0]]
    # 1. Narrow the peer: exclude the remote workload (or address) from each peer that matches it.
    narrowed = False
    if rule.peers:
        peers: list[Peer] = []
        narrowed = True
        for peer in rule.peers:
            if not peer_matches(cluster, peer, np.namespace, remote, settings)[0]:
                peers.append(peer)
                continue
            if peer.ip_block is not None and remote.ip is not None:
                bits = 32 if remote.ip.version == 4 else 128
                single = ipaddress.ip_network(f"{remote.ip}/{bits}")
                if peer.ip_block.cidr == single:
                    continue  # the peer is this address alone: drop it
                peers.append(replace(peer, ip_block=replace(peer.ip_block, excepts=(*peer.ip_block.excepts, single))))
            elif remote.pod is not None and peer.ip_block is None:
                labels = workload_labels(cluster, remote.pod)
                if not labels:
                    narrowed = False
                    break
                key, value = next(iter(labels.items()))
                base = peer.pod_selector or LabelSelector()
                selector = LabelSelector((*base.requirements, Requirement(key, "NotIn", frozenset([value]))))
                kept_peer = replace(peer, pod_selector=selector)
                if any(peer_matches(cluster, kept_peer, np.namespace, _endpoint(p), settings)[0]
                       for p in cluster.pods):
                    peers.append(kept_peer)  # else the peer selected the remote workload only: drop it
            else:
                narrowed = False
                break
        if narrowed and peers:
            return replace(rule, peers=tuple(peers)), f"exclude {remote.id} from the peers of {direction.lower()} " \
                f"rule {index} of {np.id}"
    # 2. Remove the flow's port from the rule (the rule keeps its other ports).
    kept = tuple(p for p in rule.ports if p not in matching_ports)
    if matching_ports and kept:
        return replace(rule, ports=kept), f"remove port {flow.port} from {direction.lower()} rule {index} of {np.id}"
    if rule.peers and narrowed:
        return None, f"remove {direction.lower()} rule {index} of {np.id} (its peers select {remote.id} only)"
    if matching_ports:
        return None, f"remove {direction.lower()} rule {index} of {np.id} (it allows only this port)"
    return None, f"remove {direction.lower()} rule {index} of {np.id}"


def _deny_side(cluster: Cluster, result: FlowResult, decision: Decision, settings: Settings) -> list[_Edit] | None:
    """Edits of every NetworkPolicy rule that allows the flow in ``decision``'s direction."""
    if decision.reason != "RULE_ALLOW":
        return None
    direction = decision.direction
    by_id = {np.id: np for np in cluster.policies}
    edits: list[_Edit] = []
    for trace in decision.policies:
        np = by_id.get(trace.id)
        if trace.kind != "NetworkPolicy" or np is None:
            continue
        rules: list[Rule | None] = list(np.rules(direction))
        changes = []
        for rt in trace.rules:
            if not rt.matched:
                continue
            before = np.rules(direction)[rt.index]
            edited = _narrowed(cluster, np, direction, rt.index, result.flow, settings)
            if edited is None:
                return None
            new_rule, words = edited
            rules[rt.index] = new_rule
            reach = _peer_reach(cluster, before, np.namespace, settings)
            if new_rule is None:
                changes.append((Change("remove-rule", direction, np.id, "NetworkPolicy", words, rule=rt.index,
                                       source=np.source), reach))
            else:
                changes.append((Change("edit-rule", direction, np.id, "NetworkPolicy", words,
                                       _dump([_rule_dict(new_rule, direction)]), rt.index, np.source), reach))
        if not changes:
            continue
        kept = tuple(r for r in rules if r is not None)
        changed = _with_rules(np, direction, kept)
        selected = _selected(cluster, np, direction)
        for i, (change, reach) in enumerate(changes):
            edits.append(_Edit(change, {np.id: changed} if i == 0 else {}, reach=(direction, selected, reach)))
    return edits or None


def _deny_policy(cluster: Cluster, result: FlowResult) -> _Edit | None:
    """An AdminNetworkPolicy that denies the flow into its destination, before every other policy."""
    flow = result.flow
    dst, src = flow.dst, flow.src
    if dst.kind != "pod" or dst.pod is None or not flow.is_l4 or flow.port is None:
        return None
    from policies.engine.parse import parse_files

    dst_labels = workload_labels(cluster, dst.pod)  # once: it reads every pod of the namespace
    src_labels = workload_labels(cluster, src.pod) if src.pod is not None else {}
    subject = {"namespaces": {"matchLabels": {NAMESPACE_NAME_LABEL: dst.pod.namespace}}} \
        if not dst_labels else {"pods": {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dst.pod.namespace}},
            "podSelector": {"matchLabels": dst_labels}}}
    if src.kind == "pod" and src.pod is not None:
        labels = src_labels
        namespace = {"matchLabels": {NAMESPACE_NAME_LABEL: src.pod.namespace}}
        peer: dict[str, Any] = {"pods": {"namespaceSelector": namespace,
                                         "podSelector": {"matchLabels": labels} if labels else {}}}
    elif src.ip is not None:
        bits = 32 if src.ip.version == 4 else 128
        peer = {"networks": [f"{src.ip}/{bits}"]}
    else:
        return None
    priorities = [a.priority for a in cluster.admin_policies if a.priority is not None]
    priority = max(0, min(priorities) - 1) if priorities else 10
    name = f"deny-{_short_name(src)}-to-{_short_name(dst)}-{flow.protocol.lower()}-{flow.port}"[:63].strip("-")
    doc = {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
           "metadata": {"name": name},
           "spec": {"priority": priority, "subject": subject,
                    "ingress": [{"name": "deny-this-flow", "action": "Deny", "from": [peer],
                                 "ports": [{"portNumber": {"protocol": flow.protocol, "port": flow.port}}]}]}}
    text = _dump(doc)
    try:
        added = parse_files([("suggested.yaml", text)]).cluster.admin_policies
    except PolicyError:
        return None
    change = Change("add-policy", "Ingress", f"AdminNetworkPolicy/{name}", "AdminNetworkPolicy",
                    f"no NetworkPolicy rule allows it to be edited away: add this AdminNetworkPolicy (priority "
                    f"{priority}; it needs the AdminNetworkPolicy API in the cluster), which denies exactly this flow",
                    text)
    ends = frozenset(p for p in cluster.pods if p.namespace == dst.pod.namespace
                     and all(p.labels.get(k) == v for k, v in dst_labels.items()))
    remotes = None if src.pod is None else frozenset(
        p for p in cluster.pods if p.namespace == src.pod.namespace
        and all(p.labels.get(k) == v for k, v in src_labels.items()))
    return _Edit(change, admin=added, reach=("Ingress", ends, remotes))


def _short_name(end: Endpoint) -> str:
    if end.pod is not None and end.pod.workload is not None:
        return end.pod.workload.name
    if end.pod is not None:
        return end.pod.name
    return end.id.replace(":", "-").replace(".", "-")


def _deny(cluster: Cluster, result: FlowResult, settings: Settings) -> Suggestion:
    flow = result.flow
    if result.reason == "SELF":
        return Suggestion("deny", "a pod can always reach itself; no policy can deny it")
    options: list[tuple[int, list[_Edit]]] = []
    if result.evaluator == "k8s":
        for decision in (result.ingress, result.egress):
            edits = _deny_side(cluster, result, decision, settings)
            if edits is None:
                continue
            after = _apply(cluster, edits)
            if evaluate(after, flow, evaluator=result.evaluator, settings=settings).allowed:
                continue
            options.append((_others(cluster, after, result, edits, "deny", settings).count, edits))
    if not options:
        policy = _deny_policy(cluster, result)
        if policy is not None:
            options.append((0, [policy]))
    if not options:
        allowing = [d for d in (result.egress, result.ingress) if d.deciding_policy]
        named = "; ".join(f"{d.direction.lower()}: {d.detail}" for d in allowing) or result.ingress.detail
        return Suggestion("deny", f"no edit this tool can check denies it ({named})")
    edits = min(options, key=lambda o: o[0])[1]
    after = _apply(cluster, edits)
    verified = not evaluate(after, flow, evaluator=result.evaluator, settings=settings).allowed
    others = _others(cluster, after, result, edits, "deny", settings)
    words = "; ".join(e.change.text for e in edits)
    return Suggestion("deny", words, tuple(e.change for e in edits), verified, others)


def suggest(cluster: Cluster, result: FlowResult, *, settings: Settings = DEFAULT_SETTINGS) -> Suggestion:
    """The smallest change that turns ``result``'s verdict (see the module's docstring)."""
    if result.verdict == "ALLOW":
        return _deny(cluster, result, settings)
    if result.verdict == "DENY":
        return _allow(cluster, result, settings)
    return Suggestion("allow", f"the verdict is {result.verdict.lower()}: no change is proposed "
                      "until the evaluator can decide it")


