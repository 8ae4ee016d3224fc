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
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from policies.engine.cluster import ContainerPort
from policies.engine.findings import Finding
from policies.engine.groups import GroupIndex
from policies.engine.k8s.matrices import Item, MatrixContext, Signatures, VectorCache, policy_vector, signatures
from policies.engine.k8s.model import NetworkPolicy
from policies.engine.keys import policy_key
from policies.engine.matrices import DEFAULT_BLOCK_BYTES, mask_dtype

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from policies.engine.matrices import Masks

__all__ = ["k8s_findings"]

# CoreDNS's container ports (SEMANTICS.md 4.10), for rules that name them.
_DNS_PORTS = (ContainerPort("dns", 53, "UDP"), ContainerPort("dns-tcp", 53, "TCP"), ContainerPort("metrics", 9153))


def _selected(index: GroupIndex, np_: NetworkPolicy) -> list[int]:
    return [g.index for g in index.by_namespace.get(np_.namespace, ()) if np_.pod_selector.matches(g.labels)]


def _k8s_findings(index: GroupIndex, ctx: MatrixContext) -> list[Finding]:
    out: list[Finding] = []
    cluster = index.cluster
    n = index.n_groups
    defines: dict[tuple[str, str], NDArray[np.bool_]] = {}  # (port name, protocol) -> groups that define it

    def defining(name: str, protocol: str) -> NDArray[np.bool_]:
        found = defines.get((name, protocol))
        if found is None:
            found = defines[(name, protocol)] = np.array(
                [(p := g.named_port(name)) is not None and p.protocol == protocol for g in index.groups], dtype=bool)
        return found

    for np_ in cluster.policies:
        selected = _selected(index, np_)
        if not selected:
            out.append(Finding("warning", "NP001", f"podSelector {np_.pod_selector} selects no pod in namespace "
                               f"{np_.namespace}", np_.id, np_.source))
        for direction in sorted(np_.policy_types):
            for ri, rule in enumerate(np_.rules(direction)):
                where = f"{direction.lower()} rule {ri}"
                selections = []
                for pi, peer in enumerate(rule.peers):
                    keys = ctx.vectors.peer(peer, np_.namespace)  # sorted peer keys, groups first
                    selections.append(keys[keys < n])
                    if peer.ip_block is None and not len(keys):
                        out.append(Finding("warning", "NP002", f"{where}, peer {pi} ({peer.describe()}) "
                                           "matches no pod in the input", np_.id, replace(np_.source, line=peer.line)))
                named = [p for p in rule.ports if isinstance(p.port, str)]
                if not named:
                    continue
                if direction == "Ingress":
                    dst = np.array(selected, dtype=np.intp)
                elif rule.peers:
                    dst = np.concatenate(selections)
                else:
                    dst = ctx.pod_columns
                for spec in named:
                    if not defining(str(spec.port), spec.protocol)[dst].any():
                        whose = "selected pod" if direction == "Ingress" else "destination pod of the rule"
                        out.append(Finding("warning", "NP003", f"{where}: no {whose} defines a {spec.protocol} "
                                           f"port named {spec.port!r}", np_.id, replace(np_.source, line=spec.line)))
    return out


def _redundant(index: GroupIndex, ctx: MatrixContext, directions: list[Signatures],
               block_bytes: int) -> list[Finding]:
    """NP004: removing the policy changes no verdict today. A group's row in one direction is the
    union of the vectors of the policies that select it (``k8s.matrices``), and the group is
    isolated while any does; so a policy is redundant when, for every group and direction it
    selects, another policy also selects the group and the union of the others' vectors holds its
    own, peer by peer. Groups with one signature are one question, asked once, bitwise
    (``_uncovered``; no loop over peers or group pairs)."""
    needed: set[str] = set()
    selects: set[str] = set()
    shared: list[tuple[Signatures, list[tuple[Item, ...]]]] = []
    for sigs in directions:
        distinct = sorted(set(sigs.signature))
        for sig in distinct:
            selects.update(sigs.chosen[i].id for i, _ in sig)
            if len(sig) == 1:
                needed.add(sigs.chosen[sig[0][0]].id)  # without it the group would not be isolated
        shared.append((sigs, [sig for sig in distinct if len(sig) > 1]))
    for sigs, questions in shared:
        cache = VectorCache(block_bytes)
        for sig in questions:
            asked = [sigs.chosen[i].id not in needed for i, _ in sig]
            if not any(asked):
                continue
            held = [cache.with_support(item, partial(policy_vector, ctx, sigs, item)) for item in sig]
            vectors, supports = [v for v, _ in held], [s for _, s in held]
            for k in _uncovered(vectors, supports, asked):
                needed.add(sigs.chosen[sig[k][0]].id)
    return [Finding("info", "NP004", _overlap_message(index, np_, _selected(index, np_)), np_.id, np_.source)
            for np_ in index.cluster.policies if np_.id in selects and np_.id not in needed]


def _uncovered(vectors: list[Masks], supports: list[np.ndarray], asked: list[bool]) -> list[int]:
    """The asked positions whose vector is not within the union of the others. Read on each
    vector's own support (the peers it allows anything to) when those are small, else with
    prefix and suffix unions over every peer."""
    last = len(vectors) - 1
    on_support = sum(len(supports[k]) for k in range(len(vectors)) if asked[k]) * last
    if on_support <= 3 * len(vectors) * len(vectors[0]):
        out = []
        for k, cols in enumerate(supports):
            if not asked[k] or not len(cols):
                continue
            others = np.zeros((len(cols), vectors[k].shape[1]), dtype=vectors[k].dtype)
            for j, vector in enumerate(vectors):
                if j != k:
                    others |= vector[cols]
            if (vectors[k][cols] & ~others).any():
                out.append(k)
        return out
    own = np.stack(vectors)
    before = np.bitwise_or.accumulate(own, axis=0)
    after = np.bitwise_or.accumulate(own[::-1], axis=0)[::-1]
    out = []
    for k in range(len(vectors)):
        if not asked[k]:
            continue
        others = np.zeros_like(own[k])
        if k > 0:
            others |= before[k - 1]
        if k < last:
            others |= after[k + 1]
        if (own[k] & ~others).any():
            out.append(k)
    return out


def _overlap_message(index: GroupIndex, np_: NetworkPolicy, selected: list[int]) -> str:
    """NP004's words: which policies overlap this one, and what it still protects (a namespace's
    default deny is not advice to delete)."""
    overlapping = sorted(
        p.name for p in index.policies_by_namespace.get(np_.namespace, ())
        if p is not np_ and p.namespace == np_.namespace and p.policy_types & np_.policy_types
        and any(p.pod_selector.matches(index.groups[g].labels) for g in selected)
    )
    named = ", ".join(overlapping[:3]) + (f" and {len(overlapping) - 3} more" if len(overlapping) > 3 else "")
    directions = " and ".join(d.lower() for d in sorted(np_.policy_types))
    if np_.pod_selector.is_empty and not np_.ingress and not np_.egress:
        return (f"namespace {np_.namespace}'s default deny ({directions}): today {named} already isolate every pod "
                "in it, so no verdict depends on this policy; keep it: it still denies by default for pods "
                "that those policies stop selecting (new workloads, changed labels)")
    return (f"overlapped by {named}: they already isolate these pods and allow everything this policy allows "
            f"({directions}), so removing it would change no verdict today; it matters again if they change")


def _dns(index: GroupIndex, ctx: MatrixContext, sigs: Signatures) -> list[Finding]:
    """NP005: egress isolation that leaves no way to UDP 53 of the cluster DNS pods. A group's
    egress row is the union of its policies' vectors, so the answer is one per signature, read
    from the DNS pods' columns only."""
    out: list[Finding] = []
    # Pods' own labels: the groups keep only the keys that selectors read.
    dns_groups = np.array([g.index for g in index.groups
                           if any(p.labels.get("k8s-app") in ("kube-dns", "coredns") for p in g.pods)], dtype=np.intp)
    atoms = ctx.atoms
    word, bit = divmod(atoms.atom_of("UDP", 53), atoms.width)
    columns: dict[Item, Masks] = {}  # each policy's vector on the DNS pods' columns
    answers: dict[tuple[Item, ...], bool] = {}
    reported: set[str] = set()  # policy ids
    for g in index.groups:
        sig = sigs.signature[g.index]
        if not sig:
            continue
        ok = answers.get(sig)
        if ok is None:
            pols = [sigs.chosen[i] for i, _ in sig]
            if len(dns_groups):
                row = np.zeros((len(dns_groups), atoms.words), dtype=mask_dtype(atoms))
                for item in sig:
                    found = columns.get(item)
                    if found is None:
                        found = columns[item] = policy_vector(ctx, sigs, item)[dns_groups]
                    row |= found
                ok = bool(((row[:, word] >> bit) & 1).any())
            else:
                # No DNS pods in the input: any egress rule that allows UDP 53 to a DNS pod would do.
                ok = any(index.resolve_ports(rule.ports, _DNS_PORTS).allows("UDP", 53)
                         for np_ in pols for rule in np_.egress)
            answers[sig] = ok
        if ok:
            continue
        for np_ in sorted((sigs.chosen[i] for i, _ in sig),
                          key=lambda p: policy_key("NetworkPolicy", p.namespace, p.name)):
            if np_.id in reported:
                continue
            reported.add(np_.id)
            out.append(Finding("warning", "NP005", f"egress isolation of {g.namespace} pods "
                               f"({', '.join(p.name for p in g.pods[:3])}) blocks DNS: no egress rule allows "
                               "UDP 53 to the cluster DNS", np_.id, np_.source))
    return out


def k8s_findings(index: GroupIndex, block_bytes: int = DEFAULT_BLOCK_BYTES) -> list[Finding]:
    """NP001 to NP005 for the cluster's Kubernetes policies."""
    ctx = MatrixContext(index)
    ingress, egress = signatures(ctx, "Ingress"), signatures(ctx, "Egress")  # egress: read by two checks
    return (_k8s_findings(index, ctx) + _dns(index, ctx, egress)
            + _redundant(index, ctx, [ingress, egress], block_bytes))
