"""The Kubernetes evaluator's direction rows, built rule by rule (SEMANTICS.md 4.3 to 4.7).

A group that no NetworkPolicy selects for a direction is not isolated: its row is ``FULL``. An
isolated group's row is the union of its policies: each policy's rules give one vector over peers
(the rule's connections on the peers each entry selects, selectors evaluated as vectors over
groups by ``k8s.vectors``). Groups selected by the same policies share one row id, and rows are
built only when ``aggregate`` asks for them, a block at a time. Never a loop over group pairs.
Named ports resolve per distinct set of container ports (on the group itself for ingress, on the
destination for egress). Lint reads the same signatures and vectors (``k8s.lint``);
``tests/engine/test_matrices.py`` checks the rows against the former per-group tables
(``tests/engine/k8s_tables.py``).
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

import numpy as np

from policies.engine.atoms import PortAtoms
from policies.engine.cluster import ContainerPort
from policies.engine.connections import ConnectionSet
from policies.engine.groups import GroupIndex, PeerKey
from policies.engine.k8s.model import NetworkPolicy, PortSpec
from policies.engine.k8s.vectors import GroupVectors
from policies.engine.keys import policy_key
from policies.engine.matrices import DEFAULT_BLOCK_BYTES, FULL, DirectionMatrices, DirectionRows, mask_dtype, words

if TYPE_CHECKING:
    from policies.engine.matrices import Masks

__all__ = ["AdminRows", "MatrixContext", "Signatures", "VectorCache", "k8s_direction", "networkpolicy_matrices",
           "policy_vector", "rule_atoms", "signatures"]


class AdminRows(Protocol):
    """The admin tiers' part of a direction's rows (``admin.matrices.AdminFold``)."""

    names: dict[int, set[str]]  # group -> the admin policies that select it

    def key(self, group: int, isolated: bool) -> object | None:
        """What, besides NetworkPolicy, decides the group's row (None: the admin tiers do not)."""

    def fold(self, rows: Masks, groups: list[int], isolated: list[bool], row_ids: list[int]) -> None:
        """Fold the admin tiers into ``rows`` (in place), each row that of ``groups[k]``."""


def rule_atoms(index: GroupIndex, reps: list[tuple[ContainerPort, ...]]) -> PortAtoms:
    """The atoms of every connection set a NetworkPolicy or admin rule gives, named ports resolved
    on each class of container ports ``reps``."""
    from policies.engine.admin.tables import rule_ports

    sets: list[ConnectionSet] = [ConnectionSet.all()]
    seen: set[tuple[object, ...]] = set()
    for np_ in index.cluster.policies:
        for rule in (*np_.ingress, *np_.egress):
            key = _ports_key(rule.ports)
            if key in seen:
                continue
            seen.add(key)
            sets.append(index.resolve_ports(rule.ports, None))
            if _named(rule.ports):
                sets.extend(index.resolve_ports(rule.ports, rep) for rep in reps)
    for admin in index.cluster.admin_policies:
        for admin_rule in (*admin.ingress, *admin.egress):
            sets.append(rule_ports(admin_rule.ports, None))
            if any(p.name for p in admin_rule.ports or ()):
                sets.extend(rule_ports(admin_rule.ports, rep) for rep in reps)
    return PortAtoms(sets)


class MatrixContext:
    """What every rule's fill needs: the atoms, peer selections as index arrays, and the groups'
    classes of container ports (named ports resolve once per class, not once per group)."""

    def __init__(self, index: GroupIndex) -> None:
        self.index = index
        self.n = index.n_groups
        self.peers = len(index.peer_keys())
        classes: dict[tuple[ContainerPort, ...], int] = {}
        self.reps: list[tuple[ContainerPort, ...]] = []
        port_class: list[int] = []
        for g in index.groups:
            c = classes.get(g.ports)
            if c is None:
                c = classes[g.ports] = len(self.reps)
                self.reps.append(g.ports)
            port_class.append(c)
        self.atoms = atoms = rule_atoms(index, self.reps)
        self.full = words(atoms, [atoms.full])[0]
        self.port_class = np.array(port_class, dtype=np.intp)
        self.pod_columns = np.array([g.index for g in index.groups if not g.host_network], dtype=np.intp)
        self.vectors = GroupVectors(index)
        self._keys: dict[int, np.ndarray] = {}
        self._columns: dict[tuple[object, ...], Masks] = {}
        self._port_masks: dict[tuple[object, ...], int] = {}
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

    def ports_mask(self, ports: tuple[PortSpec, ...], port_class: int | None) -> int:
        """A rule's ``ports`` resolved on a class of container ports (None: not a pod), as a mask."""
        key = (_ports_key(ports), port_class if _named(ports) else None)
        found = self._port_masks.get(key)
        if found is None:
            dst = self.reps[port_class] if port_class is not None else None
            found = self._port_masks[key] = self.atoms.mask(self.index.resolve_ports(ports, dst))
        return found

    def named_column(self, ports: tuple[PortSpec, ...]) -> Masks:
        """A NetworkPolicy rule's ``ports`` with named ports, resolved on each destination."""
        key = _ports_key(ports)
        found = self._columns.get(key)
        if found is None:
            found = self.destination_masks(self.ports_mask(ports, None),
                                           [self.ports_mask(ports, c) for c in range(len(self.reps))])
            self._columns[key] = found
        return found

    def destination_masks(self, base: int, per_class: list[int]) -> Masks:
        """A (peers, words) column vector: ``per_class`` on pod groups by their port class,
        ``base`` elsewhere (hostNetwork groups and external blocks, which have no named ports)."""
        col = np.empty((self.peers, self.atoms.words), dtype=mask_dtype(self.atoms))
        col[:] = self.mask_words([base])[0]
        class_words = self.mask_words(per_class)
        col[self.pod_columns] = class_words[self.port_class[self.pod_columns]]
        return col


def _named(ports: tuple[PortSpec, ...]) -> bool:
    return any(isinstance(p.port, str) for p in ports)


def _ports_key(ports: tuple[PortSpec, ...]) -> tuple[object, ...]:
    """A rule's ``ports`` by value (the same list on many rules, or many lines, resolves once)."""
    return tuple((p.protocol, p.port, p.end_port) for p in ports)


def _policy_vector(ctx: MatrixContext, np_: NetworkPolicy, direction: str, port_class: int | None) -> Masks:
    """What one policy allows its selected groups (of one port class, for ingress named ports)
    toward every peer: the union of its rules, a (peers, words) vector."""
    atoms = ctx.atoms
    vector = np.zeros((ctx.peers, atoms.words), dtype=mask_dtype(atoms))
    for rule in np_.rules(direction):
        selections = [ctx.vectors.peer(peer, np_.namespace) for peer in rule.peers]
        if direction == "Ingress":
            # named ports resolve on the destination: the selected group itself
            mask = ctx.ports_mask(rule.ports, port_class)
            if not mask:
                continue
            value = ctx.mask_words([mask])[0]
            if not rule.peers:
                vector |= value
            for cols in selections:
                vector[cols] |= value
            continue
        base = ctx.ports_mask(rule.ports, None)
        if _named(rule.ports):
            column = ctx.named_column(rule.ports)
            if not rule.peers:
                vector |= column
            for cols in selections:
                vector[cols] |= column[cols]
        elif base:
            value = ctx.mask_words([base])[0]
            if not rule.peers:
                vector |= value
            for cols in selections:
                vector[cols] |= value
    return vector


class VectorCache:
    """Policy vectors (``peers`` cells each) kept while they fit in ``limit`` bytes, then dropped:
    rows are built in group order, and a namespace's rows use its own policies."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.vectors: dict[Item, Masks] = {}
        self.supports: dict[Item, np.ndarray] = {}

    def get(self, key: Item, make: Callable[[], Masks]) -> Masks:
        found = self.vectors.get(key)
        if found is None:
            found = make()
            if self.held + found.nbytes > self.limit:
                self.vectors.clear()
                self.supports.clear()
                self.held = 0
            self.vectors[key] = found
            self.held += found.nbytes
        return found

    def with_support(self, key: Item, make: Callable[[], Masks]) -> tuple[Masks, np.ndarray]:
        """A vector and the peers it allows anything to (ascending positions), kept with it."""
        vector = self.get(key, make)
        found = self.supports.get(key)
        if found is None:
            found = self.supports[key] = np.flatnonzero(vector.any(axis=1))
        return vector, found


# One policy's part of a row: (its position in ``Signatures.chosen``, the port class its ingress
# named ports resolve on, or None)
Item = tuple[int, int | None]


@dataclass
class Signatures:
    """Which policies select each group in one direction: a group's row is the union of the
    vectors of its signature's items (``policy_vector``), so groups with one signature share it."""

    direction: str
    chosen: list[NetworkPolicy]  # the policies of that direction
    signature: list[tuple[Item, ...]]  # per group, in policy order; () when no policy selects it


def signatures(ctx: MatrixContext, direction: str) -> Signatures:
    signature: list[list[Item]] = [[] for _ in range(ctx.n)]
    chosen = [np_ for np_ in ctx.index.cluster.policies if direction in np_.policy_types]
    for i, np_ in enumerate(chosen):
        rows = ctx.vectors.policy_rows(np_.namespace, np_.pod_selector)
        named = direction == "Ingress" and any(_named(rule.ports) for rule in np_.ingress)
        for r in rows:
            signature[r].append((i, int(ctx.port_class[r]) if named else None))
    return Signatures(direction, chosen, [tuple(items) for items in signature])


def policy_vector(ctx: MatrixContext, sigs: Signatures, item: Item) -> Masks:
    """What one item of a signature allows toward every peer, a (peers, words) vector."""
    return _policy_vector(ctx, sigs.chosen[item[0]], sigs.direction, item[1])


def k8s_direction(ctx: MatrixContext, direction: str, admin: AdminRows | None = None,
                  block_bytes: int = DEFAULT_BLOCK_BYTES) -> DirectionRows:
    """One direction's rows under NetworkPolicy (and the admin tiers, when ``admin`` folds them),
    with isolation and policy ids per group.

    Groups selected by the same policies (and, for ingress named ports, of the same port class)
    have the same row: one row id per such signature, built only when asked for."""
    atoms = ctx.atoms
    sigs = signatures(ctx, direction)
    chosen, signature = sigs.chosen, sigs.signature
    isolated = [bool(items) for items in signature]
    keys_of = [policy_key("NetworkPolicy", np_.namespace, np_.name) for np_ in chosen]
    policies: list[list[str]] = [[keys_of[i] for i, _ in items] for items in signature]
    row_ids: dict[tuple[object, ...], int] = {}
    keys: list[tuple[tuple[Item, ...], object]] = []
    reps: list[int] = []
    row_of = np.full(ctx.n, FULL, dtype=np.intp)
    for r in range(ctx.n):
        extra = admin.key(r, isolated[r]) if admin is not None else None
        if not isolated[r] and extra is None:
            continue
        key = (signature[r], extra)
        found = row_ids.get(key)
        if found is None:
            found = row_ids[key] = len(keys)
            keys.append(key)
            reps.append(r)
        row_of[r] = found
    cache = VectorCache(block_bytes)

    def build(ids: Sequence[int]) -> Masks:
        out = np.zeros((len(ids), ctx.peers, atoms.words), dtype=mask_dtype(atoms))
        for k, row_id in enumerate(ids):
            sig, _ = keys[row_id]
            if not sig:
                out[k] = ctx.full  # not isolated: the admin tiers alone decide
            for item in sig:
                out[k] |= cache.get(item, partial(policy_vector, ctx, sigs, item))
        if admin is not None:
            groups = [reps[i] for i in ids]
            admin.fold(out, groups, [isolated[g] for g in groups], list(ids))
        return out

    if admin is not None:
        for r in range(ctx.n):
            names = admin.names.get(r)
            if names:
                policies[r].extend(names)
    return DirectionRows(atoms, ctx.peers, row_of, len(keys), build, isolated,
                         [tuple(sorted(p)) for p in policies])


def networkpolicy_matrices(ctx: MatrixContext, block_bytes: int = DEFAULT_BLOCK_BYTES) -> DirectionMatrices:
    """Egress and ingress rows of every group under NetworkPolicy alone (the admin tiers are
    folded in by policies.engine.admin.matrices.k8s_matrices)."""
    return DirectionMatrices(ctx.atoms, k8s_direction(ctx, "Egress", block_bytes=block_bytes),
                             k8s_direction(ctx, "Ingress", block_bytes=block_bytes))
