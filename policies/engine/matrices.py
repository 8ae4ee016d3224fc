"""Direction matrices: what every group allows to and from every peer, as bit masks over port atoms.

One direction of all groups is a group x peer matrix whose cells are masks over the port atoms
(``atoms.PortAtoms``), held as ``words`` unsigned integers in the last axis. The group graph is then one
bitwise AND of the egress matrix and the transposed ingress matrix (SEMANTICS.md 2: a pod-to-pod
connection needs the source's egress and the destination's ingress), with no loop over group pairs.
A group that no policy isolates has a full row: an open namespace costs a row fill, not pair work.
The Kubernetes evaluator fills the matrices straight from the rules (``k8s.matrices``, admin tiers
in ``admin.matrices``); Calico's ordered tiers give per-group tables (``calico.tables``, evaluated
once per distinct verdict signature), which ``from_tables`` turns into the same matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from policies.engine.atoms import PortAtoms
from policies.engine.connections import ConnectionSet
from policies.engine.groups import GroupIndex, Table

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Masks = NDArray[np.unsignedinteger[Any]]

__all__ = ["DirectionMatrices", "GroupGraph", "combine", "egress_matrix", "from_tables", "mask_dtype", "nonempty",
           "to_ints", "words"]


def mask_dtype(atoms: PortAtoms) -> np.dtype[Any]:
    return np.dtype(f"uint{atoms.width}")


def egress_matrix(atoms: PortAtoms, groups: int, peers: int) -> Masks:
    """An empty egress matrix: the first rows of a peers x peers array, which ``combine`` then
    turns into the group graph in place (no second copy of the largest array)."""
    buffer = np.zeros((peers, peers, atoms.words), dtype=mask_dtype(atoms))
    return buffer[:groups]


def words(atoms: PortAtoms, masks: list[int]) -> Masks:
    """Masks as an array of shape (len(masks), atoms.words)."""
    out = np.zeros((len(masks), atoms.words), dtype=mask_dtype(atoms))
    low = (1 << atoms.width) - 1
    for w in range(atoms.words):
        shift = atoms.width * w
        out[:, w] = [(m >> shift) & low for m in masks]
    return out


def nonempty(cells: Masks) -> NDArray[np.bool_]:
    """Which cells hold a connection: the words ORed, then compared (faster than ``any`` over the
    short last axis)."""
    acc = cells[..., 0].copy()
    for w in range(1, cells.shape[-1]):
        acc |= cells[..., w]
    out: NDArray[np.bool_] = acc != 0
    return out


def to_ints(atoms: PortAtoms, cells: Masks) -> list[int]:
    """Rows of shape (k, words) back to Python int masks."""
    if atoms.words == 1:
        return [int(v) for v in cells[:, 0].tolist()]
    out = [0] * len(cells)
    for w in range(atoms.words):
        shift = atoms.width * w
        for i, v in enumerate(cells[:, w].tolist()):
            out[i] |= int(v) << shift
    return out


@dataclass
class DirectionMatrices:
    """Egress and ingress of every group toward every peer (group index, or n + block index)."""

    atoms: PortAtoms
    egress: Masks  # (groups, peers, words)
    ingress: Masks
    egress_isolated: list[bool]
    ingress_isolated: list[bool]
    egress_policies: list[tuple[str, ...]]
    ingress_policies: list[tuple[str, ...]]
    # Egress to a hostNetwork group on the pod's own node under node_egress_exempt: what admin
    # policies still decide there, (group, host group) -> mask (absent: everything is allowed).
    node_exempt: dict[tuple[int, int], int] = field(default_factory=dict)

    def release(self) -> None:
        """Drop the matrices (the group graph holds what it needs); flags and policies stay."""
        empty = np.zeros((0, 0, self.atoms.words), dtype=mask_dtype(self.atoms))
        self.egress = self.ingress = empty

    def full(self) -> Masks:
        full: Masks = words(self.atoms, [self.atoms.full])[0]
        return full

    def egress_conn(self, a: int, peer: int) -> ConnectionSet:
        return self.atoms.conn(to_ints(self.atoms, self.egress[a, peer][None, :])[0])

    def ingress_conn(self, b: int, peer: int) -> ConnectionSet:
        return self.atoms.conn(to_ints(self.atoms, self.ingress[b, peer][None, :])[0])


def from_tables(index: GroupIndex, egress: list[Table], ingress: list[Table]) -> DirectionMatrices:
    """The matrices of per-group tables (a default plus per-peer overrides), as Calico gives them."""
    conns: dict[int, ConnectionSet] = {}
    for t in (*egress, *ingress):
        for c in (t.default, *t.overrides.values(), *t.node_exempt.values()):
            conns.setdefault(id(c), c)
    atoms = PortAtoms(conns.values())
    n, peers = index.n_groups, len(index.peer_keys())
    slot: dict[int, int] = {}
    masks: list[int] = []
    for key, c in conns.items():
        slot[key] = len(masks)
        masks.append(atoms.mask(c))
    table_words = words(atoms, masks)

    def fill(tables: list[Table], out: Masks) -> Masks:
        out[:] = table_words[[slot[id(t.default)] for t in tables]][:, None, :]
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for g, t in enumerate(tables):
            if t.overrides:
                rows.extend([g] * len(t.overrides))
                cols.extend(t.overrides)
                vals.extend(slot[id(c)] for c in t.overrides.values())
        if rows:
            out[rows, cols] = table_words[vals]
        return out

    exempt = {(g, k): atoms.mask(c) for g, t in enumerate(egress) for k, c in t.node_exempt.items()}
    return DirectionMatrices(
        atoms, fill(egress, egress_matrix(atoms, n, peers)),
        fill(ingress, np.empty((n, peers, atoms.words), dtype=mask_dtype(atoms))),
        [t.isolated for t in egress], [t.isolated for t in ingress],
        [t.policies for t in egress], [t.policies for t in ingress], exempt)


@dataclass
class GroupGraph:
    """Connections between peers: ``cells[a, b]`` is the mask from peer a to peer b, and ``special``
    the pairs with a hostNetwork end on a shared node (a -> b: different-node and same-node masks),
    whose cells are left empty because the answer depends on which pods meet (4.8.1, 5.8)."""

    atoms: PortAtoms
    cells: Masks  # (peers, peers, words)
    special: dict[tuple[int, int], tuple[int, int]]

    def edge_count(self) -> int:
        return int(np.count_nonzero(nonempty(self.cells))) + len(self.special)


def combine(index: GroupIndex, dm: DirectionMatrices, evaluator: str) -> GroupGraph:
    """Each group pair's connections: the source's egress AND the destination's ingress.

    A hostNetwork pod is node traffic, which no pod policy governs: its own egress and ingress
    count as everything (so host to host is everything, host to pod is the pod's ingress).
    """
    atoms = dm.atoms
    n = index.n_groups
    peers = len(index.peer_keys())
    full = dm.full()
    egress, ingress = dm.egress, dm.ingress
    hosts = [g.index for g in index.groups if g.host_network]
    if hosts:
        egress[hosts] = full
        ingress[hosts] = full
    if egress.base is not None and egress.base.shape == (peers, peers, atoms.words):
        cells = egress.base  # the egress rows were filled in place (``egress_matrix``)
    else:
        cells = np.zeros((peers, peers, atoms.words), dtype=mask_dtype(atoms))
        cells[:n, :] = egress
    cells[:n, :n] &= ingress[:, :n].transpose(1, 0, 2)
    cells[n:, :n] = ingress[:, n:].transpose(1, 0, 2)
    special: dict[tuple[int, int], tuple[int, int]] = {}
    settings = index.settings
    all_mask, none_mask = atoms.full, 0
    for h in hosts:
        host = index.groups[h]
        for g in index.groups:
            if g.host_network or not (host.nodes & g.nodes):
                continue
            # host -> pod on its node: the pod's ingress, or everything when the node is exempt
            conn = to_ints(atoms, cells[h, g.index][None, :])[0]
            same = all_mask if evaluator == "calico" or settings.node_ingress_exempt else conn
            if same != conn:
                special[(h, g.index)] = (conn, same)
            # pod -> host on its node
            conn = to_ints(atoms, cells[g.index, h][None, :])[0]
            if evaluator == "calico":
                same = none_mask if settings.default_endpoint_to_host_action == "DROP" else conn
            elif settings.node_egress_exempt:
                same = dm.node_exempt.get((g.index, h), all_mask)
            else:
                same = conn
            if same != conn:
                special[(g.index, h)] = (conn, same)
    for a, b in special:
        cells[a, b] = 0
    dm.release()
    return GroupGraph(atoms, cells, special)

