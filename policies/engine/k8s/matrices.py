"""The Kubernetes evaluator's direction matrices, filled rule by rule (SEMANTICS.md 4.3 to 4.7).

A group that no NetworkPolicy selects for a direction is not isolated: its row is full. An isolated
group's row is the union of its policies' rules, each rule adding its connections on the block of
(groups the policy selects) x (peers the rule's entry selects): one numpy operation per rule entry,
never a loop over group pairs. Named ports resolve per distinct set of container ports (on the
group itself for ingress, on the destination for egress). ``k8s.tables`` keeps the per-group
tables for lint; ``tests/engine/test_matrices.py`` checks that both agree.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from policies.engine.atoms import Piece, PortAtoms
from policies.engine.cluster import ContainerPort
from policies.engine.connections import canonical_protocol
from policies.engine.groups import GroupIndex, PeerKey
from policies.engine.k8s.model import PortSpec
from policies.engine.matrices import DirectionMatrices, words

if TYPE_CHECKING:
    from policies.engine.matrices import Masks

__all__ = ["MatrixContext", "k8s_matrices", "rule_atoms"]


def rule_atoms(index: GroupIndex) -> PortAtoms:
    """The atoms of every port that a NetworkPolicy or admin rule names, named ports resolved."""
    pieces: list[Piece] = []
    names: set[str] = set()
    for np_ in index.cluster.policies:
        for rule in (*np_.ingress, *np_.egress):
            for spec in rule.ports:
                if isinstance(spec.port, str):
                    names.add(spec.port)
                elif spec.port is None:
                    pieces.append((canonical_protocol(spec.protocol), None, None))
                else:
                    pieces.append((canonical_protocol(spec.protocol), spec.port, spec.end_port or spec.port))
    for admin in index.cluster.admin_policies:
        for admin_rule in (*admin.ingress, *admin.egress):
            for port in admin_rule.ports or ():
                if port.name:
                    names.add(port.name)
                elif port.port is not None:
                    pieces.append((canonical_protocol(port.protocol), port.port, port.end_port or port.port))
    for g in index.groups:
        for p in g.ports:
            if p.name in names:
                pieces.append((canonical_protocol(p.protocol), p.port, p.port))
    return PortAtoms(pieces=pieces)


class MatrixContext:
    """What every rule's fill needs: the atoms, peer selections as index arrays, and the groups'
    classes of container ports (named ports resolve once per class, not once per group)."""

    def __init__(self, index: GroupIndex, atoms: PortAtoms) -> None:
        self.index = index
        self.atoms = atoms
        self.n = index.n_groups
        self.peers = len(index.peer_keys())
        self.full = words(atoms, [atoms.full])[0]
        classes: dict[tuple[ContainerPort, ...], int] = {}
        self.reps: list[tuple[ContainerPort, ...]] = []
        port_class: list[int] = []
        for g in index.groups:
            c = classes.get(g.ports)
            if c is None:
                c = classes[g.ports] = len(self.reps)
                self.reps.append(g.ports)
            port_class.append(c)
        self.port_class = np.array(port_class, dtype=np.intp)
        self.pod_columns = np.array([g.index for g in index.groups if not g.host_network], dtype=np.intp)
        self._keys: dict[int, np.ndarray] = {}
        self._keep: list[object] = []

    def keys(self, selected: frozenset[PeerKey] | set[PeerKey]) -> np.ndarray:
        """A selection as a sorted index array (cached for the index's long-lived frozensets)."""
        if isinstance(selected, frozenset):
            found = self._keys.get(id(selected))
            if found is None:
                found = self._keys[id(selected)] = np.array(sorted(selected), dtype=np.intp)
                self._keep.append(selected)
            return found
        return np.array(sorted(selected), dtype=np.intp)

    def mask_words(self, masks: list[int]) -> Masks:
        return words(self.atoms, masks)

    def rows_by_class(self, rows: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for r in rows:
            out[int(self.port_class[r])].append(r)
        return out

    def destination_masks(self, base: int, per_class: list[int]) -> Masks:
        """A (peers, words) column vector: ``per_class`` on pod groups by their port class,
        ``base`` elsewhere (hostNetwork groups and external blocks, which have no named ports)."""
        col = np.empty((self.peers, self.atoms.words), dtype=np.uint64)
        col[:] = self.mask_words([base])[0]
        class_words = self.mask_words(per_class)
        col[self.pod_columns] = class_words[self.port_class[self.pod_columns]]
        return col


def or_block(matrix: Masks, rows: list[int] | np.ndarray, cols: np.ndarray | None, value: Masks) -> None:
    """matrix[rows x cols] |= value (a (words,) mask, or (cols, words) per column)."""
    if cols is None:
        matrix[rows] |= value
    elif len(cols) and len(rows):
        block = np.ix_(np.asarray(rows, dtype=np.intp), cols)
        matrix[block] |= value


def _named(ports: tuple[PortSpec, ...]) -> bool:
    return any(isinstance(p.port, str) for p in ports)


def k8s_direction(ctx: MatrixContext, direction: str) -> tuple[Masks, list[bool], list[tuple[str, ...]]]:
    """One direction's matrix under NetworkPolicy alone, with isolation and policy ids per group."""
    index, atoms = ctx.index, ctx.atoms
    matrix = np.zeros((ctx.n, ctx.peers, atoms.words), dtype=np.uint64)
    isolated = [False] * ctx.n
    policies: list[list[str]] = [[] for _ in range(ctx.n)]
    for np_ in index.cluster.policies:
        if direction not in np_.policy_types:
            continue
        rows = [g.index for g in index.by_namespace.get(np_.namespace, ()) if np_.pod_selector.matches(g.labels)]
        if not rows:
            continue
        for r in rows:
            isolated[r] = True
            policies[r].append(np_.id)
        for rule in np_.rules(direction):
            selections = [None] if not rule.peers else [
                ctx.keys(index.select_k8s_peer(peer, np_.namespace)) for peer in rule.peers]
            if direction == "Ingress":
                # named ports resolve on the destination: the selected group itself
                if _named(rule.ports):
                    parts = [(class_rows, atoms.mask(index.resolve_ports(rule.ports, ctx.reps[c])))
                             for c, class_rows in ctx.rows_by_class(rows).items()]
                else:
                    parts = [(rows, atoms.mask(index.resolve_ports(rule.ports, None)))]
                for part_rows, mask in parts:
                    if mask:
                        value = ctx.mask_words([mask])[0]
                        for cols in selections:
                            or_block(matrix, part_rows, cols, value)
                continue
            base = atoms.mask(index.resolve_ports(rule.ports, None))
            if _named(rule.ports):
                column = ctx.destination_masks(
                    base, [atoms.mask(index.resolve_ports(rule.ports, rep)) for rep in ctx.reps])
                for cols in selections:
                    if cols is None:
                        matrix[rows] |= column[None, :, :]
                    else:
                        or_block(matrix, rows, cols, column[cols][None, :, :])
            elif base:
                value = ctx.mask_words([base])[0]
                for cols in selections:
                    or_block(matrix, rows, cols, value)
    open_rows = [i for i in range(ctx.n) if not isolated[i]]
    if open_rows:
        matrix[open_rows] = ctx.full
    return matrix, isolated, [tuple(sorted(p)) for p in policies]


def k8s_matrices(index: GroupIndex) -> DirectionMatrices:
    """Egress and ingress matrices of every group under NetworkPolicy and the admin tiers."""
    atoms = rule_atoms(index)
    ctx = MatrixContext(index, atoms)
    egress, eg_iso, eg_pols = k8s_direction(ctx, "Egress")
    ingress, in_iso, in_pols = k8s_direction(ctx, "Ingress")
    dm = DirectionMatrices(atoms, egress, ingress, eg_iso, in_iso, eg_pols, in_pols)
    if index.cluster.admin_policies:
        from policies.engine.admin.matrices import fold_admin_tiers

        fold_admin_tiers(ctx, dm)
    return dm
