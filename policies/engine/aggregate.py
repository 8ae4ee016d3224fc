"""Level edges from the factored direction rows, without the group x peer matrix.

A connection from group a to peer b needs a's egress and b's ingress (SEMANTICS.md 2):

    cell(a, b) = E[rowE(a)][b] & I[rowI(b)][a]

where ``rowE``/``rowI`` name the rows that groups share (``matrices.DirectionRows``). Sources of
one level node u that share an egress row i form a **source class** p; destinations of one level
node v that share an ingress row j form a **destination class** q. For one atom (bit), some pair
(a in p, b in q) allows it exactly when some b in q has it in E_i and some a in p has it in I_j:

    OR over a in p, b in q of cell(a, b)  =  F[i, q] & G[p, j]
    with  F[i, q] = OR over b in q of E_i[b]   and   G[p, j] = OR over a in p of I_j[a]

and the level edge u -> v is the OR over the classes of u and v. F (egress rows x destination
classes) and G (source classes x ingress rows) are reduced from rows built a block at a time
and dropped at once; sources are taken a chunk of level nodes at a time, so every array held is
bounded by ``block_bytes`` (a single level node with more classes than that is still one chunk).
At namespace level on the dense 150,000-pod cluster this is 2,600 source classes x 11,000
ingress rows where the group x peer matrix would have been 99,672 x 99,672.

What the product does not give, and how it is made exact:
- hostNetwork groups are node traffic: their own egress and ingress count as everything. They and
  external blocks are classes of their own (one peer each). A hostNetwork group and a pod group
  that share a node get the node rules (4.8.1, 5.8) for pods on that node only: where the
  same-node connections include the others, they are added to level pairs that share a node;
  otherwise the class pair is left out and rebuilt from each pair of level members and their nodes.
- external blocks have no policy of their own; block to block is no edge.
- a pod to itself is not listed: at pod and workload level u -> u is not an edge; at namespace
  level A -> A is (pods of A among themselves), computed group by group within A, without the
  diagonal of single-pod groups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from policies.engine.groups import GroupIndex
from policies.engine.matrices import (
    DEFAULT_BLOCK_BYTES,
    FULL,
    DirectionMatrices,
    DirectionRows,
    mask_dtype,
    nonempty,
    to_ints,
    words,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from policies.engine.matrices import Masks

    Ints = NDArray[np.intp]

__all__ = ["LevelRows", "level_rows"]

# (level position, its target positions, the masks of those edges)
LevelRows = Iterator[tuple[int, list[int], list[int]]]


@dataclass
class _Classes:
    """Members (level position, peer) grouped by (level position, row, own-class tag)."""

    peer: Ints  # member peers, sorted by class
    start: Ints  # each class's first member
    size: Ints
    pos: Ints  # each class's level position
    row: Ints  # each class's row (FULL for hostNetwork groups and blocks)
    tag: Ints  # the peer of a class of its own (hostNetwork group, block), else -1


def _classes(mem_pos: Ints, mem_peer: Ints, row: Ints, tag: Ints) -> _Classes:
    order = np.lexsort((mem_peer, tag[mem_peer], row[mem_peer], mem_pos))
    pos, peer = mem_pos[order], mem_peer[order]
    r, t = row[peer], tag[peer]
    change = np.ones(len(peer), dtype=bool)
    change[1:] = (pos[1:] != pos[:-1]) | (r[1:] != r[:-1]) | (t[1:] != t[:-1])
    start = np.flatnonzero(change).astype(np.intp)
    size = np.diff(np.r_[start, len(peer)]).astype(np.intp)
    return _Classes(peer, start, size, pos[start], r[start], t[start])


class _RowSource:
    """Rows of one direction, built a block at a time (kept when they all fit in the budget)."""

    def __init__(self, rows: DirectionRows, block_bytes: int, width: int) -> None:
        self.rows = rows
        self.row_bytes = max(1, rows.peers * rows.atoms.words * rows.atoms.width // 8)
        # a block of rows and what is gathered from it
        cell = rows.atoms.words * rows.atoms.width // 8
        self.per_block = max(1, block_bytes // max(1, self.row_bytes + width * cell))
        self.cached: Masks | None = None
        if rows.n_rows and rows.n_rows * self.row_bytes <= block_bytes:
            self.cached = rows.build(list(range(rows.n_rows)))

    def blocks(self, ids: Ints) -> Iterator[tuple[Ints, Masks]]:
        """(ids, their rows) for ``ids`` (ascending, no FULL), a block at a time."""
        for b0 in range(0, len(ids), self.per_block):
            chunk = ids[b0:b0 + self.per_block]
            if self.cached is not None:
                yield chunk, self.cached[chunk]
            else:
                yield chunk, self.rows.build([int(i) for i in chunk])


class _Aggregator:
    def __init__(self, index: GroupIndex, dm: DirectionMatrices, evaluator: str, level: str,
                 members: dict[int, dict[int, set[str]]], block_bytes: int) -> None:
        self.index = index
        self.dm = dm
        self.evaluator = evaluator
        self.level = level
        self.members = members
        self.block_bytes = block_bytes
        self.atoms = atoms = dm.atoms
        self.dtype = mask_dtype(atoms)
        self.w = atoms.words
        self.cell_bytes = atoms.words * atoms.width // 8
        self.full = words(atoms, [atoms.full])[0]
        n = index.n_groups
        self.n = n
        n_peers = n + len(index.blocks)
        self.hosts = np.array([g.index for g in index.groups if g.host_network], dtype=np.intp)
        own = np.full(n_peers, -1, dtype=np.intp)
        own[self.hosts] = self.hosts
        own[n:] = np.arange(n, n_peers)
        self.own = own
        self.row_e = np.full(n_peers, FULL, dtype=np.intp)
        self.row_e[:n] = dm.egress.row_of
        self.row_e[own >= 0] = FULL
        self.row_i = np.full(n_peers, FULL, dtype=np.intp)
        self.row_i[:n] = dm.ingress.row_of
        self.row_i[own >= 0] = FULL
        pairs = sorted((pos, peer) for peer, nodes in members.items() for pos in nodes)
        mem_pos = np.array([p for p, _ in pairs], dtype=np.intp)
        mem_peer = np.array([k for _, k in pairs], dtype=np.intp)
        self.src = _classes(mem_pos, mem_peer, self.row_e, own)
        self.dst = _classes(mem_pos, mem_peer, self.row_i, own)
        self.present = np.unique(mem_pos)
        self.column = {int(p): i for i, p in enumerate(self.present)}
        dst_pos = self.dst.pos
        self.dst_vstart = np.flatnonzero(np.r_[True, dst_pos[1:] != dst_pos[:-1]]).astype(np.intp)
        # the ingress row of each destination class as a column of G (n_rows stands for FULL)
        n_in = dm.ingress.n_rows
        self.dst_g = np.where(self.dst.row == FULL, n_in, self.dst.row)
        self.ingress = _RowSource(dm.ingress, block_bytes, len(mem_peer))
        self.egress = _RowSource(dm.egress, block_bytes, len(mem_peer))
        self.is_block = own >= n
        self.single = np.array([len(g.pods) < 2 for g in index.groups], dtype=bool)
        # hostNetwork groups and the pod groups that share a node with each
        by_node: dict[str, list[int]] = defaultdict(list)
        for g in index.groups:
            if not g.host_network:
                for node in g.nodes:
                    by_node[node].append(g.index)
        self.neighbours: dict[int, Ints] = {}
        for h in self.hosts.tolist():
            near: set[int] = set()
            for node in index.groups[h].nodes:
                near.update(by_node.get(node, ()))
            self.neighbours[h] = np.array(sorted(near), dtype=np.intp)

    # -- chunks of source classes -------------------------------------------------------------
    def chunks(self) -> Iterator[tuple[int, int]]:
        """Ranges of source classes, whole level nodes each, within the budget."""
        src = self.src
        n_classes = len(src.start)
        if not n_classes:
            return
        starts = np.flatnonzero(np.r_[True, src.pos[1:] != src.pos[:-1]]).tolist() + [n_classes]
        width = max(self.dm.ingress.n_rows + 1, len(self.dst.start), len(self.present))
        per_class = width * self.cell_bytes
        local: dict[int, int] = defaultdict(int)
        if self.level == "namespace":
            for c in range(n_classes):
                local[int(src.pos[c])] += int(src.size[c])
        c0 = 0
        held = 0
        for k in range(len(starts) - 1):
            a, b = starts[k], starts[k + 1]
            cost = (b - a) * per_class + 2 * local.get(int(src.pos[a]), 0) ** 2 * self.cell_bytes
            if held and held + cost > self.block_bytes:
                yield c0, a
                c0, held = a, 0
            held += cost
        yield c0, n_classes

    # -- one chunk ------------------------------------------------------------------------------
    def rows(self) -> LevelRows:
        for c0, c1 in self.chunks():
            yield from self._chunk(c0, c1)

    def _chunk(self, c0: int, c1: int) -> LevelRows:
        src, dst = self.src, self.dst
        w = self.w
        m0 = int(src.start[c0])
        m1 = int(src.start[c1]) if c1 < len(src.start) else len(src.peer)
        peers = src.peer[m0:m1]
        starts = src.start[c0:c1] - m0
        n_classes = c1 - c0
        n_in = self.dm.ingress.n_rows
        # the chunk's level nodes, the local row of each class
        pos = src.pos[c0:c1]
        u_start = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]).astype(np.intp)
        u_pos = pos[u_start]
        u_of_class = np.cumsum(np.r_[True, pos[1:] != pos[:-1]]).astype(np.intp) - 1
        locals_ = self._local_groups(u_pos) if self.level == "namespace" else {}
        e_loc = {u: np.zeros((len(g), len(g), w), dtype=self.dtype) for u, g in locals_.items()}
        i_loc = {u: np.zeros((len(g), len(g), w), dtype=self.dtype) for u, g in locals_.items()}
        # G: source classes x ingress rows (column n_in: FULL)
        g_mat = np.empty((n_classes, n_in + 1, w), dtype=self.dtype)
        g_mat[:, n_in] = self.full
        host_in = np.empty((n_in + 1, len(self.hosts), w), dtype=self.dtype)  # I_j[h]
        host_in[n_in] = self.full
        all_in = np.arange(n_in, dtype=np.intp)
        for ids, rows in self.ingress.blocks(all_in):
            g_mat[:, ids] = np.bitwise_or.reduceat(rows[:, peers], starts, axis=1).transpose(1, 0, 2)
            host_in[ids] = rows[:, self.hosts]
            self._fill_local(locals_, i_loc, self.row_i, ids, rows)
        for u, groups in locals_.items():
            i_loc[u][self.row_i[groups] == FULL] = self.full
        # F: the chunk's egress rows x destination classes (last row: FULL)
        e_rows = np.unique(src.row[c0:c1])
        e_rows = e_rows[e_rows != FULL]
        f_mat = np.empty((len(e_rows) + 1, len(dst.start), w), dtype=self.dtype)
        f_mat[len(e_rows)] = self.full
        host_out = np.empty((len(e_rows) + 1, len(self.hosts), w), dtype=self.dtype)  # E_i[h]
        host_out[len(e_rows)] = self.full
        at = 0
        for ids, rows in self.egress.blocks(e_rows):
            f_mat[at:at + len(ids)] = np.bitwise_or.reduceat(rows[:, dst.peer], dst.start, axis=1)
            host_out[at:at + len(ids)] = rows[:, self.hosts]
            self._fill_local(locals_, e_loc, self.row_e, ids, rows)
            at += len(ids)
        for u, groups in locals_.items():
            e_loc[u][self.row_e[groups] == FULL] = self.full
        src_f = np.searchsorted(e_rows, src.row[c0:c1])
        src_f[src.row[c0:c1] == FULL] = len(e_rows)
        specials = _Specials(self, c0, c1, e_rows, host_in, host_out)
        # the level block: the chunk's level nodes x every level node
        level = np.zeros((len(u_pos), len(self.present), w), dtype=self.dtype)
        per_sub = max(1, self.block_bytes // max(1, len(dst.start) * self.cell_bytes * 2))
        for s0 in range(0, n_classes, per_sub):
            s1 = min(n_classes, s0 + per_sub)
            cells: Masks = np.bitwise_and(g_mat[s0:s1][:, self.dst_g], f_mat[src_f[s0:s1]])
            self._exceptions(cells, c0 + s0, c0 + s1, specials)
            cells = np.bitwise_or.reduceat(cells, self.dst_vstart, axis=1)
            sub_u = u_of_class[s0:s1]
            first = np.flatnonzero(np.r_[True, sub_u[1:] != sub_u[:-1]]).astype(np.intp)
            level[sub_u[first]] |= np.bitwise_or.reduceat(cells, first, axis=0)
        for k, u in enumerate(u_pos.tolist()):
            col = self.column[u]
            if self.level == "namespace" and u in locals_:
                level[k, col] = self._self_loop(locals_[u], e_loc[u], i_loc[u], specials)
            else:
                level[k, col] = 0
        specials.add(level, u_pos)
        for k, u in enumerate(u_pos.tolist()):
            row = level[k]
            nz = np.flatnonzero(nonempty(row))
            if len(nz):
                yield u, [int(self.present[j]) for j in nz], to_ints(self.atoms, row[nz])

    def _local_groups(self, u_pos: Ints) -> dict[int, Ints]:
        """Namespace level: each level node's groups (its A -> A is computed group by group)."""
        out: dict[int, list[int]] = defaultdict(list)
        chosen = set(u_pos.tolist())
        for peer, nodes in self.members.items():
            if peer < self.n:
                for u in nodes:
                    if u in chosen:
                        out[u].append(peer)
        return {u: np.array(sorted(g), dtype=np.intp) for u, g in out.items()}

    def _fill_local(self, locals_: dict[int, Ints], out: dict[int, Masks], row_of: Ints, ids: Ints,
                    rows: Masks) -> None:
        for u, groups in locals_.items():
            wanted = row_of[groups]
            at = np.searchsorted(ids, wanted)
            at[at >= len(ids)] = 0
            hit = ids[at] == wanted if len(ids) else np.zeros(len(groups), dtype=bool)
            if hit.any():
                out[u][hit] = rows[np.ix_(at[hit], groups)]

    def _self_loop(self, groups: Ints, e_loc: Masks, i_loc: Masks, specials: _Specials) -> Masks:
        """A -> A at namespace level: every pair of A's groups (a group's own pair only when it has
        two pods or more), special pairs left to the node rules."""
        cells = e_loc & i_loc.transpose(1, 0, 2)
        single = np.flatnonzero(self.single[groups])
        cells[single, single] = 0
        for a, b in specials.pairs_within(groups):
            cells[a, b] = 0  # rebuilt from the members' nodes (``_Specials.add``)
        out: Masks = np.bitwise_or.reduce(cells.reshape(-1, self.w), axis=0)
        return out

    def _exceptions(self, cells: Masks, c0: int, c1: int, specials: _Specials) -> None:
        """Block to block is no edge; class pairs left to the node rules are emptied."""
        src, dst = self.src, self.dst
        tag = src.tag[c0:c1]
        from_block = np.flatnonzero((tag >= 0) & self.is_block[np.maximum(tag, 0)])
        if len(from_block):
            to_block = np.flatnonzero((dst.tag >= 0) & self.is_block[np.maximum(dst.tag, 0)])
            if len(to_block):
                cells[np.ix_(from_block, to_block)] = 0
        for s, q in specials.emptied(c0, c1):
            cells[s, q] = 0


class _Specials:
    """Pairs of a hostNetwork group and a pod group on a shared node, for one chunk of sources.

    ``conn`` is what the pair gets between different nodes, ``same`` on the shared node; where
    they differ the level pairs that share a node get ``same`` (added when it includes ``conn``;
    otherwise the class pair is emptied and every pair of level members is rebuilt)."""

    def __init__(self, agg: _Aggregator, c0: int, c1: int, e_rows: Ints, host_in: Masks, host_out: Masks) -> None:
        self.agg = agg
        self.c0, self.c1 = c0, c1
        atoms = agg.atoms
        settings = agg.index.settings
        calico = agg.evaluator == "calico"
        src = agg.src
        end = int(src.start[c1]) if c1 < len(src.start) else len(src.peer)
        chunk_peers = set(src.peer[int(src.start[c0]):end].tolist())
        # (source group, target group) -> (conn, same) as int masks
        self.pairs: dict[tuple[int, int], tuple[int, int]] = {}
        n_in = agg.dm.ingress.n_rows
        for k, h in enumerate(agg.hosts.tolist()):
            near = agg.neighbours[h]
            if not len(near):
                continue
            if h in chunk_peers:  # host -> pod: the pod's ingress, everything when the node is exempt
                rows = agg.row_i[near]
                conns = to_ints(atoms, host_in[np.where(rows == FULL, n_in, rows), k])
                for g, conn in zip(near.tolist(), conns, strict=True):
                    same = atoms.full if calico or settings.node_ingress_exempt else conn
                    if same != conn:
                        self.pairs[(h, g)] = (conn, same)
            mine = [g for g in near.tolist() if g in chunk_peers]
            if mine:  # pod -> host
                rows = agg.row_e[mine]
                at = np.searchsorted(e_rows, rows)
                at[rows == FULL] = len(e_rows)
                conns = to_ints(atoms, host_out[at, k])
                for g, row, conn in zip(mine, rows.tolist(), conns, strict=True):
                    if calico:
                        same = 0 if settings.default_endpoint_to_host_action == "DROP" else conn
                    elif settings.node_egress_exempt:
                        same = agg.dm.node_exempt.get((row, h), atoms.full)
                    else:
                        same = conn
                    if same != conn:
                        self.pairs[(g, h)] = (conn, same)
        self.rebuilt = {pair: cs for pair, cs in self.pairs.items() if cs[0] & ~cs[1]}

    def pairs_within(self, groups: Ints) -> list[tuple[int, int]]:
        """Rebuilt pairs between groups of one level node, as positions in ``groups``."""
        if not self.rebuilt:
            return []
        at = {g: i for i, g in enumerate(groups.tolist())}
        return [(at[a], at[b]) for a, b in self.rebuilt if a in at and b in at]

    def emptied(self, s0: int, s1: int) -> list[tuple[int, int]]:
        """Class pairs (source class - s0, destination class) whose every group pair is rebuilt."""
        if not self.rebuilt:
            return []
        agg = self.agg
        src, dst = agg.src, agg.dst
        by_source: dict[int, set[int]] = defaultdict(set)
        by_target: dict[int, set[int]] = defaultdict(set)
        for a, b in self.rebuilt:
            by_source[a].add(b)
            by_target[b].add(a)
        out: list[tuple[int, int]] = []
        for s in range(s0, s1):
            tag = int(src.tag[s])
            if tag in by_source:
                for q in range(len(dst.start)):
                    if set(dst.peer[dst.start[q]:dst.start[q] + dst.size[q]].tolist()) <= by_source[tag]:
                        out.append((s - s0, q))
        for q in np.flatnonzero(np.isin(dst.tag, list(by_target))).tolist():
            sources = by_target[int(dst.tag[q])]
            for s in range(s0, s1):
                if set(src.peer[src.start[s]:src.start[s] + src.size[s]].tolist()) <= sources:
                    out.append((s - s0, q))
        return out

    def add(self, level: Masks, u_pos: Ints) -> None:
        """Add the node rules' connections to the chunk's level rows."""
        if not self.pairs:
            return
        agg = self.agg
        rows = {int(u): k for k, u in enumerate(u_pos.tolist())}
        namespace = agg.level == "namespace"
        extra: dict[tuple[int, int], int] = defaultdict(int)
        on_node: dict[int, dict[str, list[int]]] = {}  # source group -> node -> its level nodes here
        for (a, b), (conn, same) in self.pairs.items():
            if conn & ~same:  # rebuilt: every pair of level members
                for u, unodes in agg.members.get(a, {}).items():
                    if u not in rows:
                        continue
                    for v, vnodes in agg.members.get(b, {}).items():
                        if u == v and not namespace:
                            continue
                        shared = unodes & vnodes
                        apart = not shared or len(unodes | vnodes) > 1
                        mask = (same if shared else 0) | (conn if apart else 0)
                        if mask:
                            extra[(rows[u], agg.column[v])] |= mask
                continue
            # ``conn`` is already in the class product: add ``same`` where the pods share a node
            nodes = on_node.get(a)
            if nodes is None:
                nodes = on_node[a] = defaultdict(list)
                for u, unodes in agg.members.get(a, {}).items():
                    if u in rows:
                        for node in unodes:
                            nodes[node].append(u)
            for v, vnodes in agg.members.get(b, {}).items():
                col = agg.column[v]
                for u in {u for node in vnodes for u in nodes.get(node, ())}:
                    if u != v or namespace:
                        extra[(rows[u], col)] |= same
        if extra:
            keys = list(extra)
            cells = words(agg.atoms, [extra[k] for k in keys])
            for (r, c), value in zip(keys, cells, strict=True):
                level[r, c] |= value


def level_rows(index: GroupIndex, dm: DirectionMatrices, evaluator: str, level: str,
               members: dict[int, dict[int, set[str]]], block_bytes: int = DEFAULT_BLOCK_BYTES) -> LevelRows:
    """Per source level node (by position, ascending): its targets and the masks of those edges.
    ``members``: peer -> level position -> the nodes its pods run on there."""
    yield from _Aggregator(index, dm, evaluator, level, members, block_bytes).rows()
