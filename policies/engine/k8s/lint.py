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
from typing import Any, cast

from policies.engine.cluster import ContainerPort
from policies.engine.connections import ConnectionSet
from policies.engine.findings import Finding
from policies.engine.groups import NONE, EndpointGroup, GroupIndex, PeerKey, Table
from policies.engine.k8s.model import NetworkPolicy
from policies.engine.k8s.tables import k8s_table
from policies.engine.keys import policy_key

__all__ = ["k8s_findings"]

# CoreDNS's container ports (SEMANTICS.md 4.10), for rules that name them.
_DNS_PORTS = (ContainerPort("dns", 53, "UDP"), ContainerPort("dns-tcp", 53, "TCP"), ContainerPort("metrics", 9153))


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


class _OnePolicy:
    """The index as seen by ``k8s_table`` when ``policy`` is the only policy: its table is what that
    one policy contributes to a group's table (a group's table is the union of its policies')."""

    def __init__(self, index: GroupIndex, policy: NetworkPolicy) -> None:
        self._index = index
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def k8s_policies(self, group: EndpointGroup, direction: str) -> list[NetworkPolicy]:
        return [self._policy]


def _covered(tables: list[Table], asked: list[bool]) -> list[bool]:
    """For each table that is ``asked`` about, whether the union of the others holds all it allows:
    its default within their default, and each of its peer overrides within theirs (prefix and
    suffix unions, so the cost follows the tables' sizes rather than their pairs)."""
    n = len(tables)
    before = [NONE] * (n + 1)
    after = [NONE] * (n + 1)
    for i, t in enumerate(tables):
        before[i + 1] = before[i] | t.default
    for i in range(n - 1, -1, -1):
        after[i] = after[i + 1] | tables[i].default
    others_default = [before[i] | after[i + 1] for i in range(n)]
    covered = [asked[i] and (t.default - others_default[i]).is_empty for i, t in enumerate(tables)]
    by_key: dict[PeerKey, list[int]] = {}
    for i, t in enumerate(tables):
        for key in t.overrides:
            by_key.setdefault(key, []).append(i)
    for key, holders in by_key.items():
        todo = [j for j, i in enumerate(holders) if covered[i]]
        if not todo:
            continue
        conns = [tables[i].overrides[key] for i in holders]
        # Cheap cases first: within the others' default, or another policy gives the same.
        counts: dict[ConnectionSet, int] = {}
        for c in conns:
            counts[c] = counts.get(c, 0) + 1
        todo = [j for j in todo if counts[conns[j]] < 2 and not (conns[j] - others_default[holders[j]]).is_empty]
        if not todo:
            continue
        m = len(holders)
        pre = [NONE] * (m + 1)
        suf = [NONE] * (m + 1)
        for j in range(m):
            pre[j + 1] = pre[j] | conns[j]
        for j in range(m - 1, -1, -1):
            suf[j] = suf[j + 1] | conns[j]
        for j in todo:
            if not (conns[j] - (others_default[holders[j]] | pre[j] | suf[j + 1])).is_empty:
                covered[holders[j]] = False
    return covered


def _redundant(index: GroupIndex) -> list[Finding]:
    """NP004: removing the policy changes no group's table. A group's table in one direction is
    the union of what each policy that selects it contributes, and it is isolated while any does;
    so a policy is redundant when, for every group and direction it selects, another policy also
    selects the group and the others' union already holds its contribution. One pass over groups
    and policies (no index rebuilt per policy)."""
    needed: set[str] = set()
    selects: set[str] = set()
    shared: list[tuple[EndpointGroup, str, list[NetworkPolicy]]] = []
    for group in index.groups:
        for direction in ("Ingress", "Egress"):
            pols = index.k8s_policies(group, direction)
            selects.update(np.id for np in pols)
            if len(pols) == 1:
                needed.add(pols[0].id)  # without it the group would not be isolated
            elif pols:
                shared.append((group, direction, pols))
    for group, direction, pols in shared:
        asked = [np.id not in needed for np in pols]
        if not any(asked):
            continue
        tables = [k8s_table(cast(GroupIndex, _OnePolicy(index, np)), group, direction) for np in pols]
        for np, ask, ok in zip(pols, asked, _covered(tables, asked), strict=True):
            if ask and not ok:
                needed.add(np.id)
    return [Finding("info", "NP004", _overlap_message(index, np, _selected(index, np)), np.id, np.source)
            for np in index.cluster.policies if np.id in selects and np.id not in needed]


def _overlap_message(index: GroupIndex, np: NetworkPolicy, selected: list[int]) -> str:
    """NP004's words: which policies overlap this one, and what it still protects (a namespace's
    default deny is not advice to delete)."""
    overlapping = sorted(
        p.name for p in index.policies_by_namespace.get(np.namespace, ())
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
    # Pods' own labels: the groups keep only the keys that selectors read.
    dns_groups = [g.index for g in index.groups
                  if any(p.labels.get("k8s-app") in ("kube-dns", "coredns") for p in g.pods)]
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
            np = next(p for p in index.cluster.policies if policy_key("NetworkPolicy", p.namespace, p.name) == pol)
            out.append(Finding("warning", "NP005", f"egress isolation of {g.namespace} pods "
                               f"({', '.join(p.name for p in g.pods[:3])}) blocks DNS: no egress rule allows "
                               "UDP 53 to the cluster DNS", np.id, np.source))
    return out


def k8s_findings(index: GroupIndex) -> list[Finding]:
    """NP001 to NP005 for the cluster's Kubernetes policies."""
    return _k8s_findings(index) + _dns(index) + _redundant(index)
