"""Findings about admin network policies (the admin half of ``policies.engine.lint``).

- AP001 the subject selects no pod of the input (hostNetwork pods are never subjects);
- AP002 a rule shadowed by rules evaluated before it (earlier rules of the policy, or policies of
  the same tier with a lower priority value): for every pod the policy selects, each connection
  the rule matches was already accepted, denied or passed, so the rule never decides;
- AP003 a Pass with nothing after it: no NetworkPolicy isolates the pods it passes and no
  Baseline-tier policy selects them (or the Pass is itself in the Baseline tier), so the flow
  goes to the default and is allowed: an Accept would say so plainly;
- AP004 two policies of one tier with the same priority that could both match a connection: the
  API leaves the outcome undefined ("the implementation can apply any of the matching policies");
- AP005 a namespaces, pods or nodes peer that matches nothing in the input.

Each finding names the policy, its file and the line of the rule or peer. Selection is computed
per endpoint group (``groups.GroupIndex``), the same way the graph evaluates admin policies, so a
rule counts as shadowed only if it is shadowed for every group its policy selects.
https://network-policy-api.sigs.k8s.io/reference/spec/
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from policies.engine.admin.model import ADMIN, BASELINE, AdminPolicy, AdminRule
from policies.engine.admin.tables import group_admin_policies, rule_ports, select_peer
from policies.engine.connections import ConnectionSet
from policies.engine.findings import Finding
from policies.engine.groups import NONE, EndpointGroup, GroupIndex, PeerKey

__all__ = ["admin_findings"]

DIRECTIONS = ("Ingress", "Egress")
RuleId = tuple[str, str, int]  # policy id, direction, rule index


def _rule_words(policy: AdminPolicy, direction: str, index: int, rule: AdminRule) -> str:
    name = f" {rule.name!r}" if rule.name else ""
    return f"{direction.lower()} rule {index}{name} ({rule.label})"


def _selected(index: GroupIndex, policy: AdminPolicy) -> list[EndpointGroup]:
    return [g for g in index.groups if not g.host_network
            and policy.namespace_selector.matches(index.ns_labels.get(g.namespace)
                                                  or index.cluster.namespace(g.namespace).labels)
            and (policy.pod_selector is None or policy.pod_selector.matches(g.labels))]


@dataclass
class _RuleUse:
    """Over every group a policy selects: whether a rule matched anything, whether anything of
    what it matched was still open when it was reached, and which earlier rules took it."""

    matches: bool = False
    effective: bool = False
    takers: set[str] = field(default_factory=set)


def _rule_conns(index: GroupIndex, group: EndpointGroup, direction: str,
                rule: AdminRule) -> dict[PeerKey, ConnectionSet]:
    keys: set[PeerKey] = set()
    for peer in rule.peers:
        keys |= select_peer(index, peer)
    out = {}
    for key in keys:
        dst = group.ports if direction == "Ingress" else index.dst_ports(key)
        conn = rule_ports(rule.ports, dst)
        if not conn.is_empty:
            out[key] = conn
    return out


def _walk_group(index: GroupIndex, group: EndpointGroup, direction: str, tier: str,
                uses: dict[RuleId, _RuleUse], matched: dict[str, dict[PeerKey, ConnectionSet]]) -> None:
    """One group's tier in evaluation order, recording each rule's use (and, per policy, what all
    its rules match, for priority ties)."""
    taken: dict[PeerKey, list[tuple[ConnectionSet, str]]] = defaultdict(list)
    for policy in group_admin_policies(index, group, direction, tier):
        for i, rule in enumerate(policy.rules(direction)):
            use = uses.setdefault((policy.id, direction, i), _RuleUse())
            if any(p.kind == "domainNames" for p in rule.peers):
                use.effective = True  # cannot be judged here
            conns = _rule_conns(index, group, direction, rule)
            mine = matched.setdefault(policy.id, {})
            label = f"{policy.kind} {policy.name} {_rule_words(policy, direction, i, rule)}"
            for key, conn in conns.items():
                use.matches = True
                mine[key] = mine.get(key, NONE) | conn
                before = NONE
                for earlier, who in taken[key]:
                    if not (earlier & conn).is_empty:
                        use.takers.add(who)
                    before |= earlier
                if not (conn - before).is_empty:
                    use.effective = True
                taken[key].append((conn, label))


def _shadowed(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    uses: dict[RuleId, _RuleUse] = {}
    for group in index.groups:
        for direction in DIRECTIONS:
            for tier in (ADMIN, BASELINE):
                _walk_group(index, group, direction, tier, uses, {})
    for policy in index.cluster.admin_policies:
        for direction in DIRECTIONS:
            for i, rule in enumerate(policy.rules(direction)):
                use = uses.get((policy.id, direction, i))
                if use is None or not use.matches or use.effective:
                    continue
                by = "; ".join(sorted(use.takers)) or "earlier rules"
                out.append(Finding(
                    "warning", "AP002",
                    f"{_rule_words(policy, direction, i, rule)} is shadowed: every connection it matches is "
                    f"decided first by {by}, so it never decides", policy.id, replace(policy.source, line=rule.line)))
    return out


def _later_layer(index: GroupIndex, group: EndpointGroup, direction: str) -> bool:
    """Whether anything after the Admin tier speaks for the group: a NetworkPolicy that isolates
    it, or a Baseline-tier policy that selects it."""
    return bool(index.k8s_policies(group, direction)
                or group_admin_policies(index, group, direction, BASELINE))


def _dangling_passes(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    for policy in index.cluster.admin_policies:
        groups = _selected(index, policy)
        if not groups:
            continue  # AP001
        for direction in DIRECTIONS:
            for i, rule in enumerate(policy.rules(direction)):
                if rule.action != "Pass":
                    continue
                if policy.tier == ADMIN and any(_later_layer(index, g, direction) for g in groups):
                    continue
                after = ("nothing comes after the Baseline tier" if policy.tier == BASELINE else
                         f"no NetworkPolicy isolates the pods it selects for {direction.lower()} and no "
                         "Baseline-tier policy selects them")
                out.append(Finding(
                    "warning", "AP003",
                    f"{_rule_words(policy, direction, i, rule)} passes to nothing: {after}, so every "
                    "connection it matches is allowed by default (say Accept if that is meant)",
                    policy.id, replace(policy.source, line=rule.line)))
    return out


def _ties(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    by_priority: dict[tuple[str, int], list[AdminPolicy]] = defaultdict(list)
    for policy in index.cluster.admin_policies:
        if policy.priority is not None:
            by_priority[(policy.tier, policy.priority)].append(policy)
    for (tier, priority), policies in sorted(by_priority.items()):
        if len(policies) < 2:
            continue
        clashes: set[tuple[str, str, str]] = set()
        for group in index.groups:
            for direction in DIRECTIONS:
                matched: dict[str, dict[PeerKey, ConnectionSet]] = {}
                _walk_group(index, group, direction, tier, {}, matched)
                tied = [p for p in policies if p.id in matched]
                for a_i, a in enumerate(tied):
                    for b in tied[a_i + 1:]:
                        common = set(matched[a.id]) & set(matched[b.id])
                        if any(not (matched[a.id][k] & matched[b.id][k]).is_empty for k in common):
                            clashes.add((a.id, b.id, direction))
        for a_id, b_id, direction in sorted(clashes):
            for me, other in ((a_id, b_id), (b_id, a_id)):
                policy = next(p for p in policies if p.id == me)
                out.append(Finding(
                    "warning", "AP004",
                    f"priority {priority} is also the priority of {other} in the {tier} tier, and both could "
                    f"match the same {direction.lower()} connection: the API leaves which one applies undefined "
                    "(netpol takes kind, then name); give them distinct priorities",
                    policy.id, policy.source))
    return out


def _empty(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    for policy in index.cluster.admin_policies:
        if not _selected(index, policy):
            out.append(Finding("warning", "AP001", "the subject selects no pod of the input "
                               "(hostNetwork pods are never subjects)", policy.id, policy.source))
        for direction in DIRECTIONS:
            for i, rule in enumerate(policy.rules(direction)):
                for pi, peer in enumerate(rule.peers):
                    if peer.kind in ("networks", "domainNames"):
                        continue
                    keys = select_peer(index, peer)
                    if peer.kind == "nodes":
                        assert peer.node_selector is not None
                        hit = any(peer.node_selector.matches(n.labels) for n in index.cluster.nodes)
                    else:
                        hit = any(k < index.n_groups for k in keys)
                    if not hit:
                        out.append(Finding(
                            "warning", "AP005",
                            f"{_rule_words(policy, direction, i, rule)}, peer {pi} ({peer.describe()}) matches "
                            "nothing in the input", policy.id, replace(policy.source, line=peer.line or rule.line)))
    return out


def admin_findings(index: GroupIndex) -> list[Finding]:
    if not index.cluster.admin_policies:
        return []
    shadowed = _shadowed(index)
    seen = {(f.policy, f.source.line) for f in shadowed}  # a shadowed Pass passes nothing
    passes = [f for f in _dangling_passes(index) if (f.policy, f.source.line) not in seen]
    return _empty(index) + shadowed + passes + _ties(index)
