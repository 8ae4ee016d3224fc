"""Findings about Calico policies (the Calico half of ``policies.engine.lint``).

- CP001 a Calico policy applies to no pod of the input;
- CP002 a rule that no packet can reach, because an earlier rule of the same list matches every
  packet with a final action (Allow, Deny or Pass);
- CP003 something the parser noticed on a policy: a field the evaluator does not model (http,
  services), a selector that can match a network set or host endpoint, a tier that is not defined,
  rules of a direction that is not in ``types``;
- CP004 input the Calico evaluator ignores or does not model (staged and untracked policies,
  network sets, host endpoints, user profiles).
https://docs.tigera.io/calico/latest/reference/resources/networkpolicy
"""

from __future__ import annotations

from dataclasses import replace

from policies.engine.calico.evaluate import calico_index
from policies.engine.calico.model import CalicoPolicy, CalicoRule, EntityRule
from policies.engine.groups import GroupIndex
from policies.engine.lint import Finding
from policies.engine.model import Cluster, Source


def _catch_all(rule: CalicoRule) -> bool:
    """A rule with nothing but a final action: it matches every packet."""
    bare = replace(rule, line=0, end_line=0, source=EntityRule(), destination=EntityRule())
    return (
        rule.action != "Log"
        and rule.source.is_empty
        and rule.destination.is_empty
        and bare == CalicoRule(rule.action)
    )


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
            for i, rule in enumerate(rules):
                if not _catch_all(rule):
                    continue
                side = direction.lower()
                for j in range(i + 1, len(rules)):
                    why = f"{side} rule {j} is never reached: rule {i} ({rule.action}) matches every packet"
                    where = replace(policy.source, line=rules[j].line or policy.source.line)
                    out.append(Finding("warning", "CP002", why, policy.id, where))
                break
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
