"""Findings about policies that probably do not do what their author meant.

- NP001 a policy selects no pod;
- NP002 a peer matches no pod or namespace;
- NP003 a named port that no destination pod of the rule defines (with that protocol);
- NP004 a policy overlapped by others (removing it changes no verdict today; the message names them
  and says what it still protects);
- NP005 egress isolation that blocks DNS (UDP and TCP 53 to the cluster DNS pods).
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from dataclasses import replace

from policies.engine.cluster import ContainerPort
from policies.engine.connections import ConnectionSet
from policies.engine.findings import Finding
from policies.engine.groups import GroupIndex, address_sets
from policies.engine.k8s.model import NetworkPolicy
from policies.engine.k8s.tables import k8s_table

__all__ = ["REDUNDANCY_LIMIT", "k8s_findings"]

# CoreDNS's container ports (SEMANTICS.md 4.10), for rules that name them.
_DNS_PORTS = (ContainerPort("dns", 53, "UDP"), ContainerPort("dns-tcp", 53, "TCP"), ContainerPort("metrics", 9153))
REDUNDANCY_LIMIT = 400  # policies; above it the (quadratic) redundancy check is skipped with a note


def _selected(index: GroupIndex, np: NetworkPolicy) -> list[int]:
    return [g.index for g in index.by_namespace.get(np.namespace, ()) if np.pod_selector.matches(g.labels)]


def _k8s_findings(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    cluster = index.cluster
    for np in cluster.policies:
        selected = _selected(index, np)
        if not selected:
            out.append(Finding("warning", "NP001", f"podSelector {np.pod_selector} selects no pod in namespace "
                               f"{np.namespace}", np.id, np.source))
        for direction in sorted(np.policy_types):
            for ri, rule in enumerate(np.rules(direction)):
                where = f"{direction.lower()} rule {ri}"
                peer_keys: set[int] = set()
                for pi, peer in enumerate(rule.peers):
                    keys = index.select_k8s_peer(peer, np.namespace)
                    peer_keys |= {k for k in keys if k < index.n_groups}
                    if peer.ip_block is None and not keys:
                        out.append(Finding("warning", "NP002", f"{where}, peer {pi} ({peer.describe()}) "
                                           "matches no pod in the input", np.id, replace(np.source, line=peer.line)))
                named = [p for p in rule.ports if isinstance(p.port, str)]
                if not named:
                    continue
                if direction == "Ingress":
                    dst_groups = selected
                else:
                    dst_groups = sorted(peer_keys) if rule.peers else [
                        g.index for g in index.groups if not g.host_network]
                for spec in named:
                    ok = any((p := index.groups[g].named_port(str(spec.port))) is not None
                             and p.protocol == spec.protocol for g in dst_groups)
                    if not ok:
                        whose = "selected pod" if direction == "Ingress" else "destination pod of the rule"
                        out.append(Finding("warning", "NP003", f"{where}: no {whose} defines a {spec.protocol} "
                                           f"port named {spec.port!r}", np.id, replace(np.source, line=spec.line)))
    return out


def _redundant(index: GroupIndex) -> list[Finding]:
    cluster = index.cluster
    out: list[Finding] = []
    for np in cluster.policies:
        selected = _selected(index, np)
        if not selected:
            continue  # already NP001
        others = tuple(p for p in cluster.policies if p is not np)
        reduced = GroupIndex(replace(cluster, policies=others), index.settings, address_sets(cluster))
        same = True
        for gi in selected:
            for direction in np.policy_types:
                full = k8s_table(index, index.groups[gi], direction)
                part = k8s_table(reduced, reduced.groups[gi], direction)
                if full.isolated != part.isolated or full.default != part.default or any(
                        full.get(k) != part.get(k) for k in set(full.overrides) | set(part.overrides)):
                    same = False
                    break
            if not same:
                break
        if same:
            out.append(Finding("info", "NP004", _overlap_message(index, np, selected), np.id, np.source))
    return out


def _overlap_message(index: GroupIndex, np: NetworkPolicy, selected: list[int]) -> str:
    """NP004's words: which policies overlap this one, and what it still protects (a namespace's
    default deny is not advice to delete)."""
    overlapping = sorted(
        p.name for p in index.cluster.policies
        if p is not np and p.namespace == np.namespace and p.policy_types & np.policy_types
        and any(p.pod_selector.matches(index.groups[g].labels) for g in selected)
    )
    named = ", ".join(overlapping[:3]) + (f" and {len(overlapping) - 3} more" if len(overlapping) > 3 else "")
    directions = " and ".join(d.lower() for d in sorted(np.policy_types))
    if np.pod_selector.is_empty and not np.ingress and not np.egress:
        return (f"namespace {np.namespace}'s default deny ({directions}): today {named} already isolate every pod "
                "in it, so no verdict depends on this policy; keep it: it still denies by default for pods "
                "that those policies stop selecting (new workloads, changed labels)")
    return (f"overlapped by {named}: they already isolate these pods and allow everything this policy allows "
            f"({directions}), so removing it would change no verdict today; it matters again if they change")


def _dns(index: GroupIndex) -> list[Finding]:
    out: list[Finding] = []
    dns_groups = [g.index for g in index.groups if g.labels.get("k8s-app") == "kube-dns"
                  or g.labels.get("k8s-app") == "coredns"]
    udp53 = ConnectionSet.protocol("UDP", 53, 53)
    reported: set[str] = set()
    for g in index.groups:
        table = k8s_table(index, g, "Egress")
        if not table.isolated:
            continue
        if dns_groups:
            ok = any(udp53 & table.get(d) == udp53 for d in dns_groups)
        else:
            # No DNS pods in the input: any egress rule that allows UDP 53 to a DNS pod would do.
            ok = any(index.resolve_ports(rule.ports, _DNS_PORTS).allows("UDP", 53)
                     for np in index.k8s_policies(g, "Egress") for rule in np.egress)
        if ok:
            continue
        for pol in table.policies:
            key = f"{pol}"
            if key in reported:
                continue
            reported.add(key)
            np = next(p for p in index.cluster.policies if p.id == pol)
            out.append(Finding("warning", "NP005", f"egress isolation of {g.namespace} pods "
                               f"({', '.join(p.name for p in g.pods[:3])}) blocks DNS: no egress rule allows "
                               "UDP 53 to the cluster DNS", np.id, np.source))
    return out


def k8s_findings(index: GroupIndex) -> list[Finding]:
    """NP001 to NP005 for the cluster's Kubernetes policies (NP004 only up to ``REDUNDANCY_LIMIT``)."""
    findings = _k8s_findings(index) + _dns(index)
    if len(index.cluster.policies) <= REDUNDANCY_LIMIT:
        findings += _redundant(index)
    return findings
