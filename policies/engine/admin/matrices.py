"""The admin tiers folded into the Kubernetes direction matrices (docs/admin-policies.md).

The matrix twin of ``admin.tables``: for every group an admin policy's subject selects, each
peer's connections are split as the per-flow evaluator walks them. Rules run in tier order
(priority, then kind and name; the same order for every group, restricted to the policies that
select it); each rule takes, on the block of (groups it applies to) x (peers it selects), the
connections that no earlier rule took: Accept and Deny record them, Pass only takes them. Then
``accepted | (NetworkPolicy & rest)`` for a group NetworkPolicy isolates, and
``accepted | (rest - baseline denied)`` otherwise. Bitwise operations on whole blocks, no pair loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from policies.engine.admin.model import ADMIN, BASELINE, AdminPolicy, AdminRule
from policies.engine.admin.tables import rule_ports, select_peer
from policies.engine.groups import GroupIndex
from policies.engine.k8s.matrices import MatrixContext, networkpolicy_matrices
from policies.engine.keys import policy_key
from policies.engine.matrices import DirectionMatrices, mask_dtype, to_ints

if TYPE_CHECKING:
    from policies.engine.matrices import Masks

__all__ = ["fold_admin_tiers", "k8s_matrices"]


def _subjects(ctx: MatrixContext, policy: AdminPolicy) -> list[int]:
    index = ctx.index
    out = []
    for g in index.groups:
        if g.host_network:
            continue
        ns_labels = index.ns_labels.get(g.namespace) or index.cluster.namespace(g.namespace).labels
        if policy.namespace_selector.matches(ns_labels) and (
                policy.pod_selector is None or policy.pod_selector.matches(g.labels)):
            out.append(g.index)
    return out


class _Tier:
    """Per cell: what the tier accepted, denied and took (accepted, denied or passed)."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.accept = np.zeros(shape, dtype=dtype)
        self.deny = np.zeros(shape, dtype=dtype)
        self.taken = np.zeros(shape, dtype=dtype)

    def rule(self, ctx: MatrixContext, direction: str, rows: list[int], position: dict[int, int],
             rule: AdminRule) -> None:
        """Apply one rule to the groups ``rows`` (group indices; ``position``: their matrix rows)."""
        keys: set[int] = set()
        for peer in rule.peers:
            keys |= select_peer(ctx.index, peer)
        if not keys or not rows:
            return
        cols = ctx.keys(keys)
        atoms = ctx.atoms
        parts: list[tuple[list[int], Masks]]
        if direction == "Ingress":
            # named ports resolve on the destination: the selected group itself
            parts = [(part, ctx.mask_words([atoms.mask(rule_ports(rule.ports, ctx.reps[c]))])[0][None, None, :])
                     for c, part in ctx.rows_by_class(rows).items()]
        else:
            base = atoms.mask(rule_ports(rule.ports, None))
            column = ctx.destination_masks(
                base, [atoms.mask(rule_ports(rule.ports, rep)) for rep in ctx.reps])
            parts = [(rows, column[cols][None, :, :])]
        for part, ports in parts:
            block = np.ix_(np.array([position[r] for r in part], dtype=np.intp), cols)
            conn = ports & ~self.taken[block]
            self.taken[block] |= conn
            if rule.action == "Accept":
                self.accept[block] |= conn
            elif rule.action == "Deny":
                self.deny[block] |= conn


def _ordered(ctx: MatrixContext, tier: str, direction: str) -> list[tuple[AdminPolicy, list[int]]]:
    found = [p for p in ctx.index.cluster.admin_policies if p.tier == tier and p.rules(direction)]
    return [(p, rows) for p in sorted(found, key=lambda p: p.order_key) if (rows := _subjects(ctx, p))]


def fold_admin_tiers(ctx: MatrixContext, dm: DirectionMatrices) -> None:
    """Replace the rows of every group an admin policy selects (in place)."""
    for direction in ("Egress", "Ingress"):
        matrix = dm.egress if direction == "Egress" else dm.ingress
        isolated = dm.egress_isolated if direction == "Egress" else dm.ingress_isolated
        policies = dm.egress_policies if direction == "Egress" else dm.ingress_policies
        admin = _ordered(ctx, ADMIN, direction)
        baseline = _ordered(ctx, BASELINE, direction)
        if not admin and not baseline:
            continue
        names: dict[int, set[str]] = {}
        for p, rows in (*admin, *baseline):
            for r in rows:
                names.setdefault(r, set()).add(policy_key(p.kind, "", p.name))
        affected = sorted(names)
        position = {g: i for i, g in enumerate(affected)}
        top = _Tier((len(affected), ctx.peers, ctx.atoms.words), mask_dtype(ctx.atoms))
        for p, rows in admin:
            for rule in p.rules(direction):
                top.rule(ctx, direction, rows, position, rule)
        base = _Tier(top.accept.shape, mask_dtype(ctx.atoms))
        for p, rows in baseline:
            open_rows = [r for r in rows if not isolated[r]]
            for rule in p.rules(direction):
                base.rule(ctx, direction, open_rows, position, rule)
        full = ctx.full
        rest = full & ~(top.accept | top.deny)
        inner = matrix[affected]
        iso = np.array([isolated[g] for g in affected], dtype=bool)
        folded = np.where(iso[:, None, None], top.accept | (inner & rest), top.accept | (rest & ~base.deny))
        matrix[affected] = folded
        if direction == "Egress":
            hosts = [g.index for g in ctx.index.groups if g.host_network]
            if hosts:
                exempt = np.where(iso[:, None, None], top.accept | rest, top.accept | (rest & ~base.deny))[:, hosts]
                for i, g in enumerate(affected):
                    for j, h in enumerate(hosts):
                        mask = to_ints(ctx.atoms, exempt[i, j][None, :])[0]
                        if mask != ctx.atoms.full:
                            dm.node_exempt[(g, h)] = mask
        for g in affected:
            policies[g] = tuple(sorted({*policies[g], *names[g]}))


def k8s_matrices(index: GroupIndex) -> DirectionMatrices:
    """Egress and ingress matrices of every group under the k8s evaluator: NetworkPolicy, with the
    admin tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) folded in."""
    ctx = MatrixContext(index)
    dm = networkpolicy_matrices(ctx)
    if index.cluster.admin_policies:
        fold_admin_tiers(ctx, dm)
    return dm
