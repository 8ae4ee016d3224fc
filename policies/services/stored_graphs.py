"""Graphs as an analysis stores them, and read back.

A pod graph at 5,000 pods has a million and a half edges: written as the JSON of ``Graph.to_dict``
it is hundreds of megabytes, and computing that JSON (each edge's wording, again and again for the
same connections) cost minutes. Edges between pods of the same groups carry the same connection
set, and a graph has only a few hundred distinct ones, so:

- ``graph_dict`` is ``Graph.to_dict()`` with each distinct connection set written once;
- ``compact_edges`` keeps a graph's edges as node indexes and connection indexes (``edges:pod``,
  a few megabytes once compressed) and says how large the JSON graph would be;
- ``edges_of`` reads them back as the JSON form's edges, all of them or only those that touch
  some nodes (a namespace's slice is computed from those on its first request).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from policies import engine

__all__ = ["CompactEdges", "compact_edges", "edges_of", "graph_dict", "graph_from_compact"]

Graph = dict[str, Any]
CompactEdges = dict[str, Any]  # {"ids": [node id, ...], "conns": [conn dict, ...], "rows": [[s, t, c, t, c, ...]]}
_EDGE_OVERHEAD = len('{"source":"","target":"",},')  # the JSON of one edge besides its ids and connections


def _conn_dicts() -> Callable[[engine.ConnectionSet], dict[str, Any]]:
    """conn -> conn.to_dict(), computed once per distinct connection set."""
    memo: dict[engine.ConnectionSet, dict[str, Any]] = {}

    def get(conn: engine.ConnectionSet) -> dict[str, Any]:
        found = memo.get(conn)
        if found is None:
            found = memo[conn] = conn.to_dict()
        return found

    return get


def graph_dict(graph: engine.Graph) -> Graph:
    """``graph.to_dict()``, equal to it, each distinct connection set's dict computed once."""
    conn_dict = _conn_dicts()
    adjacency = graph.adjacency()
    edges = [
        {"source": u, "target": v, **conn_dict(row[v])}
        for u in sorted(adjacency)
        for row in (adjacency[u],)
        for v in sorted(row)
    ]
    return {
        "evaluator": graph.evaluator,
        "level": graph.level,
        "policies": graph.policy_entries(),
        "nodes": [n.to_dict() for n in graph.nodes],
        "edges": edges,
    }


def compact_edges(graph: engine.Graph) -> tuple[CompactEdges, int]:
    """The graph's edges as indexes, and the size in bytes of the edges' JSON in ``graph_dict``."""
    ids = [n.id for n in graph.nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    conn_index: dict[engine.ConnectionSet, int] = {}
    conns: list[dict[str, Any]] = []
    conn_sizes: list[int] = []
    rows: list[list[int]] = []
    size = 0
    adjacency = graph.adjacency()
    for u in sorted(adjacency):
        adjacent = adjacency[u]
        row = [index[u]]
        targets = sorted(adjacent)
        for v in targets:
            conn = adjacent[v]
            c = conn_index.get(conn)
            if c is None:
                c = conn_index[conn] = len(conns)
                conns.append(conn.to_dict())
                conn_sizes.append(len(json.dumps(conns[-1])))
            row += (index[v], c)
            size += len(v) + conn_sizes[c]
        size += (len(u) + _EDGE_OVERHEAD) * len(targets)
        rows.append(row)
    return {"ids": ids, "conns": conns, "rows": rows}, size


def edges_of(compact: CompactEdges, touching: Collection[str] | None = None) -> list[Graph]:
    """The edges in the JSON form (sorted by source, then target), or only those with an end
    among the node ids ``touching``."""
    ids, conns = compact["ids"], compact["conns"]
    wanted = None if touching is None else {i for i, node_id in enumerate(ids) if node_id in touching}
    edges = []
    for row in compact["rows"]:
        source = row[0]
        source_in = wanted is None or source in wanted
        for k in range(1, len(row), 2):
            target = row[k]
            if source_in or target in wanted:  # type: ignore[operator]  # wanted is None: source_in
                edges.append({"source": ids[source], "target": ids[target], **conns[row[k + 1]]})
    return edges


def graph_from_compact(header: Graph, nodes: list[Graph], compact: CompactEdges,
                       touching: Collection[str] | None = None) -> Graph:
    """A graph in the JSON form from its stored header (evaluator, level, policies), nodes and
    compact edges; with ``touching``, only the edges that touch those nodes."""
    return {**header, "nodes": nodes, "edges": edges_of(compact, touching)}
