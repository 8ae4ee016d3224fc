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
from policies.engine.k8s.matrices import MatrixContext, k8s_direction, networkpolicy_matrices
from policies.engine.keys import policy_key
from policies.engine.matrices import DEFAULT_BLOCK_BYTES, DirectionMatrices, mask_dtype, to_ints

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from policies.engine.matrices import Masks

__all__ = ["AdminFold", "k8s_matrices"]


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
             rule: AdminRule, cols: NDArray[np.intp]) -> None:
        """Apply one rule to the groups ``rows`` (group indices; ``position``: their matrix rows),
        toward the peers ``cols`` it selects."""
        if not len(cols) or not rows:
            return
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


class AdminFold:
    """The admin tiers of one direction, folded into rows as they are built (``k8s.matrices``).

    A group's row depends on the admin policies whose subject selects it (the baseline ones only
    when NetworkPolicy does not isolate it) and, for ingress named ports, on its port class: that
    is its ``key``. Egress rows also record, per hostNetwork group, what the tiers decide there
    under node_egress_exempt (``exempt``, by row id)."""

    def __init__(self, ctx: MatrixContext, direction: str) -> None:
        self.ctx = ctx
        self.direction = direction
        self.admin = _ordered(ctx, ADMIN, direction)
        self.baseline = _ordered(ctx, BASELINE, direction)
        self.names: dict[int, set[str]] = {}
        self._admin_of: dict[int, list[int]] = {}
        self._baseline_of: dict[int, list[int]] = {}
        for i, (p, rows) in enumerate(self.admin):
            for r in rows:
                self.names.setdefault(r, set()).add(policy_key(p.kind, "", p.name))
                self._admin_of.setdefault(r, []).append(i)
        for i, (p, rows) in enumerate(self.baseline):
            for r in rows:
                self.names.setdefault(r, set()).add(policy_key(p.kind, "", p.name))
                self._baseline_of.setdefault(r, []).append(i)
        self.hosts = [g.index for g in ctx.index.groups if g.host_network]
        self.exempt: dict[tuple[int, int], int] = {}  # (row id, host group) -> mask
        self._cols: dict[int, NDArray[np.intp]] = {}
        self._keep: list[AdminRule] = []

    def _peers(self, rule: AdminRule) -> NDArray[np.intp]:
        """The peers a rule selects, as a sorted index array (computed once per rule)."""
        found = self._cols.get(id(rule))
        if found is None:
            keys: set[int] = set()
            for peer in rule.peers:
                keys |= select_peer(self.ctx.index, peer)
            found = self._cols[id(rule)] = self.ctx.keys(keys)
            self._keep.append(rule)
        return found

    def key(self, group: int, isolated: bool) -> object | None:
        if group not in self.names:
            return None
        baseline = () if isolated else tuple(self._baseline_of.get(group, ()))
        admin = tuple(self._admin_of.get(group, ()))
        if not admin and not baseline:
            return None
        port_class = int(self.ctx.port_class[group]) if self.direction == "Ingress" else None
        return admin, baseline, port_class

    def fold(self, rows: Masks, groups: list[int], isolated: list[bool], row_ids: list[int]) -> None:
        """Fold the tiers into ``rows`` in place (row k is that of ``groups[k]``, which NetworkPolicy
        isolates when ``isolated[k]``): ``accepted | (NetworkPolicy & rest)`` for an isolated
        group, ``accepted | (rest - baseline denied)`` otherwise."""
        ctx, direction = self.ctx, self.direction
        affected = [k for k, g in enumerate(groups) if self.key(g, isolated[k]) is not None]
        if not affected:
            return
        sub = [groups[k] for k in affected]
        position = {g: i for i, g in enumerate(sub)}
        chosen = set(sub)
        shape = (len(sub), *rows.shape[1:])
        top = _Tier(shape, mask_dtype(ctx.atoms))
        for p, subjects in self.admin:
            part = [r for r in subjects if r in chosen]
            for rule in p.rules(direction):
                top.rule(ctx, direction, part, position, rule, self._peers(rule))
        base = _Tier(shape, mask_dtype(ctx.atoms))
        open_groups = {groups[k] for k in affected if not isolated[k]}
        for p, subjects in self.baseline:
            part = [r for r in subjects if r in open_groups]
            for rule in p.rules(direction):
                base.rule(ctx, direction, part, position, rule, self._peers(rule))
        rest = ctx.full & ~(top.accept | top.deny)
        iso = np.array([isolated[k] for k in affected], dtype=bool)
        inner = rows[affected]
        rows[affected] = np.where(iso[:, None, None], top.accept | (inner & rest), top.accept | (rest & ~base.deny))
        if direction == "Egress" and self.hosts:
            exempt = np.where(iso[:, None, None], top.accept | rest,
                              top.accept | (rest & ~base.deny))[:, self.hosts]
            for i, k in enumerate(affected):
                masks = to_ints(ctx.atoms, exempt[i])
                for h, mask in zip(self.hosts, masks, strict=True):
                    if mask != ctx.atoms.full:
                        self.exempt[(row_ids[k], h)] = mask


def k8s_matrices(index: GroupIndex, block_bytes: int = DEFAULT_BLOCK_BYTES) -> DirectionMatrices:
    """Egress and ingress rows of every group under the k8s evaluator: NetworkPolicy, with the
    admin tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy) folded in."""
    ctx = MatrixContext(index)
    if not index.cluster.admin_policies:
        return networkpolicy_matrices(ctx, block_bytes)
    egress_fold = AdminFold(ctx, "Egress")
    egress = k8s_direction(ctx, "Egress", egress_fold, block_bytes)
    ingress = k8s_direction(ctx, "Ingress", AdminFold(ctx, "Ingress"), block_bytes)
    return DirectionMatrices(ctx.atoms, egress, ingress, egress_fold.exempt)
