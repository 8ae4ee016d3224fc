"""Findings about Calico policies (the Calico half of ``policies.engine.lint``).

- CP001 a Calico policy applies to no pod of the input;
- CP002 a rule shadowed by an earlier rule of the same list: the earlier rule has a final action
  (Allow, Deny or Pass) and matches every packet the later one matches, so the later one never
  decides (a conservative check: it compares field by field and port ranges by inclusion);
- CP003 something the parser noticed on a policy: a field the evaluator does not model (http,
  services), a selector that can match a network set or host endpoint, a tier that is not defined,
  rules of a direction that is not in ``types``;
- CP004 input the Calico evaluator ignores or does not model (staged and untracked policies,
  network sets, host endpoints, user profiles);
- CP005 a Pass rule with no later tier: the packet goes straight to the namespace profile, which
  allows everything, skipping the rest of the tier (Kubernetes NetworkPolicies included).
https://docs.tigera.io/calico/latest/reference/resources/networkpolicy
"""

from __future__ import annotations

from dataclasses import replace

from policies.engine.calico.index import calico_index
from policies.engine.calico.model import DEFAULT_TIER, CalicoPolicy, CalicoRule, EntityRule, PortMatch
from policies.engine.cluster import Source
from policies.engine.findings import Finding
from policies.engine.groups import GroupIndex
from policies.engine.model import Cluster


def _catch_all(rule: CalicoRule) -> bool:
    """A rule with nothing but a final action: it matches every packet."""
    bare = replace(rule, line=0, end_line=0, source=EntityRule(), destination=EntityRule())
    return (
        rule.action != "Log"
        and rule.source.is_empty
        and rule.destination.is_empty
        and bare == CalicoRule(rule.action)
    )


def _ports_cover(wide: tuple[PortMatch, ...], narrow: tuple[PortMatch, ...]) -> bool:
    """Every port ``narrow`` lists is in ``wide`` (an empty list means every port)."""
    if not wide:
        return True
    if not narrow:
        return False
    for p in narrow:
        if isinstance(p, str):
            if p not in wide:
                return False
        elif not any(isinstance(w, tuple) and w[0] <= p[0] and p[1] <= w[1] for w in wide):
            return False
    return True


def _end_covers(wide: EntityRule, narrow: EntityRule) -> bool:
    """Every packet end that ``narrow`` matches, ``wide`` matches too (conservatively)."""
    if wide.is_empty:
        return True
    if replace(wide, ports=(), line=0) != replace(narrow, ports=(), line=0):
        return False
    return _ports_cover(wide.ports, narrow.ports)


def _shadows(earlier: CalicoRule, later: CalicoRule) -> bool:
    if earlier.action == "Log" or earlier.unsupported:
        return False
    for name in ("protocol", "not_protocol", "icmp_type", "icmp_code", "not_icmp_type", "not_icmp_code",
                 "ip_version"):
        value = getattr(earlier, name)
        if value is not None and value != getattr(later, name):
            return False
    return _end_covers(earlier.source, later.source) and _end_covers(earlier.destination, later.destination)


def _tiers_with_policies(cluster: Cluster) -> list[str]:
    resources = cluster.calico
    assert resources is not None
    names = {p.tier for p in resources.policies}
    if cluster.policies:
        names.add(DEFAULT_TIER)
    return sorted(names, key=lambda t: resources.tier(t).sort_key())


def _selects_a_pod(cluster: Cluster, index: GroupIndex, policy: CalicoPolicy) -> bool:
    cindex = calico_index(cluster)
    return any(
        cindex.applies(policy, g.namespace, g.labels, g.service_account, direction)
        for g in index.groups
        if not g.host_network
        for direction in policy.types
    )


def calico_findings(cluster: Cluster, index: GroupIndex) -> list[Finding]:
    """Every Calico finding; the caller sorts them."""
    resources = cluster.calico
    if resources is None:
        return []
    out: list[Finding] = []
    has_pods = any(not g.host_network for g in index.groups)
    for policy in resources.policies:
        if has_pods and not _selects_a_pod(cluster, index, policy):
            scope = f"in namespace {policy.namespace}" if policy.namespace else "in any namespace"
            out.append(Finding("warning", "CP001", f"applies to no pod {scope}", policy.id, policy.source))
        for direction in ("Ingress", "Egress"):
            rules = policy.rules(direction)
            side = direction.lower()
            for j, later in enumerate(rules):
                for i in range(j):
                    earlier = rules[i]
                    if not _shadows(earlier, later):
                        continue
                    what = "matches every packet" if _catch_all(earlier) else f"matches every packet rule {j} matches"
                    why = f"{side} rule {j} is never reached: rule {i} ({earlier.action}) {what}"
                    where = replace(policy.source, line=later.line or policy.source.line)
                    out.append(Finding("warning", "CP002", why, policy.id, where))
                    break
            tiers = _tiers_with_policies(cluster)
            if any(r.action == "Pass" for r in rules) and tiers and tiers[-1] == policy.tier:
                where = replace(policy.source, line=next(r.line for r in rules if r.action == "Pass"))
                out.append(Finding(
                    "warning", "CP005", f"{side} Pass rule in tier {policy.tier}, the last tier with policies: "
                    "the packet goes straight to the namespace profile, which allows everything, and skips the "
                    "rest of the tier (Kubernetes NetworkPolicies included)", policy.id, where))
        for warning in policy.warnings:
            out.append(Finding("warning", "CP003", warning, policy.id, policy.source))
    for warning in resources.warnings:
        out.append(Finding("info", "CP004", warning, "", Source()))
    if resources.staged_ignored:
        n = resources.staged_ignored
        out.append(
            Finding(
                "info",
                "CP004",
                f"{n} staged polic{'y is' if n == 1 else 'ies are'} ignored: staged policies never enforce",
                "",
                Source(),
            )
        )
    return out
