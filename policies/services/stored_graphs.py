"""Graphs as an analysis stores them, and read back.

A pod graph at 5,000 pods has a million and a half edges: written as the JSON of ``Graph.to_dict``
it is hundreds of megabytes, and computing that JSON (each edge's wording, again and again for the
same connections) cost minutes. Edges between pods of the same groups carry the same connection
set, and a graph has only a few hundred distinct ones, so:

- ``graph_dict`` is ``Graph.to_dict()`` with each distinct connection set written once;
- ``compact_edges`` keeps a graph's edges as node indexes and connection indexes (``edges:pod``,
  a few megabytes once compressed) and says how large the JSON graph would be;
- ``edges_of`` / ``graph_from_compact`` read them back as the JSON form, and
  ``slice_from_compact`` computes a namespace's slice from them (on its first request: the
  analysis does not store every namespace's pod slice).
"""

from __future__ import annotations

import json
from typing import Any

from policies import engine

__all__ = ["CompactEdges", "compact_edges", "edges_of", "graph_dict", "graph_from_compact", "slice_from_compact"]

Graph = dict[str, Any]
CompactEdges = dict[str, Any]  # {"ids": [node id, ...], "conns": [conn dict, ...], "rows": [[s, t, c, t, c, ...]]}
_EDGE_OVERHEAD = len('{"source":"","target":"",},')  # the JSON of one edge besides its ids and connections


class _Conns:
    """Each distinct connection set of a graph once: its index and its dict. A graph hands out the
    same few ConnectionSet objects for most of its edges, so they are looked up by identity first
    (hashing a set's tuples a million times costs seconds), then by value."""

    def __init__(self) -> None:
        self.by_id: dict[int, int] = {}
        self.by_value: dict[engine.ConnectionSet, int] = {}
        self.dicts: list[dict[str, Any]] = []
        self.sizes: list[int] = []  # each dict's JSON length
        self._kept: list[engine.ConnectionSet] = []  # alive, so that no id is reused

    def index(self, conn: engine.ConnectionSet) -> int:
        found = self.by_id.get(id(conn))
        if found is None:
            found = self.by_value.get(conn)
            if found is None:
                found = self.by_value[conn] = len(self.dicts)
                self.dicts.append(conn.to_dict())
                self.sizes.append(len(json.dumps(self.dicts[-1])))
            self.by_id[id(conn)] = found
            self._kept.append(conn)
        return found


def graph_dict(graph: engine.Graph, policies: list[dict[str, Any]] | None = None) -> Graph:
    """``graph.to_dict()``, equal to it, each distinct connection set's dict computed once;
    ``policies``: the graph's ``policy_entries()`` when they are at hand (the same at every level)."""
    conns = _Conns()
    dicts = conns.dicts
    adjacency = graph.adjacency()
    edges = []
    for u in sorted(adjacency):
        row = adjacency[u]
        for v in sorted(row):
            edges.append({"source": u, "target": v, **dicts[conns.index(row[v])]})
    return {
        "evaluator": graph.evaluator,
        "level": graph.level,
        "policies": graph.policy_entries() if policies is None else policies,
        "nodes": [n.to_dict() for n in graph.nodes],
        "edges": edges,
    }


def compact_edges(graph: engine.Graph) -> tuple[CompactEdges, int]:
    """The graph's edges as indexes, and the size in bytes of the edges' JSON in ``graph_dict``."""
    ids = [n.id for n in graph.nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    lengths = [len(node_id) for node_id in ids]
    conns = _Conns()
    by_id, conn_index, sizes = conns.by_id, conns.index, conns.sizes
    rows: list[list[int]] = []
    size = 0
    adjacency = graph.adjacency()
    for u in sorted(adjacency):
        adjacent = adjacency[u]
        row = [index[u]]
        for v in sorted(adjacent):
            conn = adjacent[v]
            c = by_id.get(id(conn))  # the usual case, inlined: a connection set seen before
            if c is None:
                c = conn_index(conn)
            t = index[v]
            row += (t, c)
            size += lengths[t] + sizes[c]
        size += (len(u) + _EDGE_OVERHEAD) * (len(row) // 2)
        rows.append(row)
    return {"ids": ids, "conns": conns.dicts, "rows": rows}, size


def edges_of(compact: CompactEdges) -> list[Graph]:
    """The edges in the JSON form, sorted by source, then target."""
    ids, conns = compact["ids"], compact["conns"]
    return [
        {"source": ids[row[0]], "target": ids[row[k]], **conns[row[k + 1]]}
        for row in compact["rows"]
        for k in range(1, len(row), 2)
    ]


def graph_from_compact(header: Graph, nodes: list[Graph], compact: CompactEdges) -> Graph:
    """A graph in the JSON form from its stored header (evaluator, level, policies), nodes and
    compact edges."""
    return {**header, "nodes": nodes, "edges": edges_of(compact)}


def slice_from_compact(
    header: Graph, nodes: list[Graph], compact: CompactEdges, namespaces: Graph, names: tuple[str, ...]
) -> Graph | str:
    """``graph_slices.namespace_slice`` of the graph stored as ``header``, ``nodes`` and compact
    edges, without building the graph: the edges that leave the namespaces are folded into their
    namespace's node by connection index, and each distinct set of connections is united once
    (a DaemonSet's pods reach every pod: hundreds of thousands of edges, a few hundred sets)."""
    wanted = set(names)
    inside = {n["id"] for n in nodes if n["kind"] != "external" and n["namespace"] in wanted}
    missing = sorted(wanted - {n["namespace"] for n in nodes if n["id"] in inside})
    if missing:
        return missing[0]
    ids, conns = compact["ids"], compact["conns"]
    by_id = {n["id"]: n for n in nodes}
    # How each node is drawn: itself (inside, or an external block), else as its namespace.
    drawn = [i if i in inside or by_id[i]["kind"] == "external" else str(by_id[i]["namespace"]) for i in ids]
    inside_index = {k for k, node_id in enumerate(ids) if node_id in inside}
    pairs: dict[tuple[str, str], set[int]] = {}
    for row in compact["rows"]:
        source = row[0]
        source_in = source in inside_index
        drawn_source = drawn[source]
        for k in range(1, len(row), 2):
            target = row[k]
            if source_in or target in inside_index:
                pairs.setdefault((drawn_source, drawn[target]), set()).add(row[k + 1])
    sets: dict[int, engine.ConnectionSet] = {}

    def conn_set(index: int) -> engine.ConnectionSet:
        if index not in sets:
            sets[index] = engine.ConnectionSet.from_dict(conns[index])
        return sets[index]

    edges = []
    for (source_id, target_id), indexes in sorted(pairs.items()):
        if len(indexes) == 1:
            edges.append({"source": source_id, "target": target_id, **conns[next(iter(indexes))]})
            continue
        united = engine.ConnectionSet.none()
        for index in sorted(indexes):
            united = united | conn_set(index)
        edges.append({"source": source_id, "target": target_id, **united.to_dict()})
    ends = {node_id for pair in pairs for node_id in pair}
    slice_nodes = [n for n in nodes if n["id"] in inside]
    slice_nodes += [n for n in namespaces["nodes"] if n["kind"] == "namespace" and n["id"] in ends]
    slice_nodes += [n for n in nodes if n["kind"] == "external" and n["id"] in ends]
    return {**header, "namespaces": sorted(wanted), "nodes": slice_nodes, "edges": edges}
