"""Direction rows: what groups allow to and from every peer, as bit masks over port atoms.

One direction of one group is a row over peers (groups, then external blocks) whose cells are
masks over the port atoms (``atoms.PortAtoms``), held as ``words`` unsigned integers in the last
axis. Groups that the same policies select (and that resolve named ports alike) have the same
row, so a direction is held **factored**: ``row_of[g]`` names each group's row, and ``build(ids)``
computes the rows asked for, a block at a time. ``FULL`` is the row of a group that nothing
isolates (everything allowed); it is never built. The whole group x peer matrix is never held:
``aggregate`` reduces rows to level edges block by block. A pod-to-pod connection needs the
source's egress and the destination's ingress (SEMANTICS.md 2).
The Kubernetes evaluator builds rows straight from the rules (``k8s.matrices``, admin tiers in
``admin.matrices``); Calico's ordered tiers give per-group tables (``calico.tables``, evaluated
once per distinct verdict signature), which ``from_tables`` turns into rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from policies.engine.atoms import PortAtoms
from policies.engine.connections import ConnectionSet
from policies.engine.groups import GroupIndex, Table

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Masks = NDArray[np.unsignedinteger[Any]]
    RowIds = NDArray[np.intp]

__all__ = ["DEFAULT_BLOCK_BYTES", "FULL", "DirectionMatrices", "DirectionRows", "from_tables", "mask_dtype",
           "nonempty", "to_ints", "words"]

FULL = -1  # the row of a group no policy isolates: every peer, everything
# What one block of rows (or of reduced rows) may take; the evaluation holds a few such blocks.
DEFAULT_BLOCK_BYTES = 256 * 1024 * 1024


def mask_dtype(atoms: PortAtoms) -> np.dtype[Any]:
    return np.dtype(f"uint{atoms.width}")


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
class DirectionRows:
    """One direction of every group, factored: ``row_of[g]`` (a row id, or ``FULL``) and ``build``,
    which computes rows (ids ascending, each ``peers`` cells) when asked."""

    atoms: PortAtoms
    peers: int
    row_of: RowIds  # (groups,)
    n_rows: int
    build: Callable[[Sequence[int]], Masks]  # ids -> (len(ids), peers, words)
    isolated: list[bool]
    policies: list[tuple[str, ...]]

    def rows(self, ids: Sequence[int]) -> Masks:
        """Rows by id, ``FULL`` included."""
        out = np.empty((len(ids), self.peers, self.atoms.words), dtype=mask_dtype(self.atoms))
        built = [i for i, r in enumerate(ids) if r != FULL]
        if built:
            out[built] = self.build([int(ids[i]) for i in built])
        full = [i for i, r in enumerate(ids) if r == FULL]
        if full:
            out[full] = words(self.atoms, [self.atoms.full])[0]
        return out

    def conn(self, group: int, peer: int) -> ConnectionSet:
        """One cell as a ConnectionSet (tests and small questions; never a loop over pairs)."""
        row = self.rows([int(self.row_of[group])])[0]
        return self.atoms.conn(to_ints(self.atoms, row[peer][None, :])[0])


@dataclass
class DirectionMatrices:
    """Egress and ingress rows of every group toward every peer (group index, or n + block index)."""

    atoms: PortAtoms
    egress: DirectionRows
    ingress: DirectionRows
    # Egress to a hostNetwork group on the pod's own node under node_egress_exempt: what admin
    # policies still decide there, (egress row, host group) -> mask (absent: everything allowed).
    node_exempt: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def egress_isolated(self) -> list[bool]:
        return self.egress.isolated

    @property
    def ingress_isolated(self) -> list[bool]:
        return self.ingress.isolated

    @property
    def egress_policies(self) -> list[tuple[str, ...]]:
        return self.egress.policies

    @property
    def ingress_policies(self) -> list[tuple[str, ...]]:
        return self.ingress.policies

    def egress_conn(self, a: int, peer: int) -> ConnectionSet:
        return self.egress.conn(a, peer)

    def ingress_conn(self, b: int, peer: int) -> ConnectionSet:
        return self.ingress.conn(b, peer)


def from_tables(index: GroupIndex, egress: list[Table], ingress: list[Table]) -> DirectionMatrices:
    """The rows of per-group tables (a default plus per-peer overrides), as Calico gives them.
    Groups that share one table object (the open table) share one row."""
    conns: dict[int, ConnectionSet] = {}
    for t in (*egress, *ingress):
        for c in (t.default, *t.overrides.values(), *t.node_exempt.values()):
            conns.setdefault(id(c), c)
    atoms = PortAtoms(conns.values())
    peers = len(index.peer_keys())
    slot: dict[int, int] = {}
    masks: list[int] = []
    for key, c in conns.items():
        slot[key] = len(masks)
        masks.append(atoms.mask(c))
    table_words = words(atoms, masks)
    full = atoms.full

    def rows_of(tables: list[Table]) -> DirectionRows:
        row_ids: dict[int, int] = {}
        distinct: list[Table] = []
        row_of = np.empty(len(tables), dtype=np.intp)
        for g, t in enumerate(tables):
            if not t.overrides and not t.node_exempt and masks[slot[id(t.default)]] == full:
                row_of[g] = FULL
                continue
            r = row_ids.get(id(t))
            if r is None:
                r = row_ids[id(t)] = len(distinct)
                distinct.append(t)
            row_of[g] = r

        def build(ids: Sequence[int]) -> Masks:
            chosen = [distinct[i] for i in ids]
            out = np.empty((len(chosen), peers, atoms.words), dtype=mask_dtype(atoms))
            out[:] = table_words[[slot[id(t.default)] for t in chosen]][:, None, :]
            rows: list[int] = []
            cols: list[int] = []
            vals: list[int] = []
            for k, t in enumerate(chosen):
                if t.overrides:
                    rows.extend([k] * len(t.overrides))
                    cols.extend(t.overrides)
                    vals.extend(slot[id(c)] for c in t.overrides.values())
            if rows:
                out[rows, cols] = table_words[vals]
            return out

        return DirectionRows(atoms, peers, row_of, len(distinct), build, [t.isolated for t in tables],
                             [t.policies for t in tables])

    eg, ing = rows_of(egress), rows_of(ingress)
    exempt = {(int(eg.row_of[g]), k): atoms.mask(c) for g, t in enumerate(egress) for k, c in t.node_exempt.items()}
    return DirectionMatrices(atoms, eg, ing, exempt)
