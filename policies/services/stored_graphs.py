"""Graphs as an analysis stores them, and read back.

A pod graph at 5,000 pods has a million and a half edges: written as the JSON of ``Graph.to_dict``
it is hundreds of megabytes, and computing that JSON (each edge's wording, again and again for the
same connections) cost minutes. Edges between pods of the same groups carry the same connection
set, and a graph has only a few hundred distinct ones, so:

- ``graph_dict`` is ``Graph.to_dict()`` with each distinct connection set written once;
- ``compact_edges`` keeps a graph's edges as node indexes and connection indexes (``edges:pod``,
  a few megabytes once compressed) and says how large the JSON graph would be;
- ``edges_of`` / ``graph_from_compact`` read them back as the JSON form, and pod_slices cuts
  namespaces' pod slices out of them (``compact_from_dict`` gives the compact form of a pod graph
  stored whole);
- ``json_chunks`` writes that JSON form a few thousand edges at a time, so that an answer with the
  whole pod graph (hundreds of megabytes of JSON) is never held at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policies import engine

__all__ = [
    "CompactEdges", "compact_edges", "compact_from_dict", "edges_of", "graph_dict", "graph_from_compact", "json_chunks",
]

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
    dicts, by_id, conn_index = conns.dicts, conns.by_id, conns.index
    edges = []
    for e in graph.edges():  # sorted by source, then target; the level graph is not kept
        c = by_id.get(id(e.conn))  # the usual case, inlined: a connection set seen before
        edges.append({"source": e.source, "target": e.target, **dicts[conn_index(e.conn) if c is None else c]})
    return {**graph.header(policies), "nodes": [n.to_dict() for n in graph.nodes], "edges": edges}


def compact_edges(graph: engine.Graph) -> tuple[CompactEdges, int]:
    """The graph's edges as indexes, and the size in bytes of the edges' JSON in ``graph_dict``."""
    ids = [n.id for n in graph.nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    lengths = [len(node_id) for node_id in ids]
    conns = _Conns()
    by_id, conn_index, sizes = conns.by_id, conns.index, conns.sizes
    rows: list[list[int]] = []
    size = 0
    source = ""
    row: list[int] = []
    for e in graph.edges():  # sorted by source, then target; the level graph is not kept
        if e.source != source or not rows:  # a source's first edge: its row
            source = e.source
            row = [index[source]]
            rows.append(row)
        conn = e.conn
        c = by_id.get(id(conn))  # the usual case, inlined: a connection set seen before
        if c is None:
            c = conn_index(conn)
        t = index[e.target]
        row += (t, c)
        size += lengths[t] + sizes[c]
    size += sum((lengths[row[0]] + _EDGE_OVERHEAD) * (len(row) // 2) for row in rows)
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


def json_chunks(
    header: Graph, nodes: list[Graph], compact: CompactEdges, *, edges_per_chunk: int = 4096
) -> Iterator[bytes]:
    """The JSON of ``graph_from_compact(header, nodes, compact)`` (compact, as the API renders it),
    in pieces of ``edges_per_chunk`` edges: memory stays that of the compact form."""
    head = _json({**header, "nodes": nodes})
    yield (head[:-1] + ',"edges":[').encode()
    ids = [_json(node_id) for node_id in compact["ids"]]
    conns = ["," + body if (body := _json(conn)[1:-1]) else "" for conn in compact["conns"]]
    chunk: list[str] = []
    first = True
    for row in compact["rows"]:
        source = '{"source":' + ids[row[0]] + ',"target":'
        for k in range(1, len(row), 2):
            chunk.append(source + ids[row[k]] + conns[row[k + 1]] + "}")
            if len(chunk) >= edges_per_chunk:
                yield (("" if first else ",") + ",".join(chunk)).encode()
                chunk, first = [], False
    yield (("" if first or not chunk else ",") + ",".join(chunk) + "]}").encode()


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def compact_from_dict(graph: Graph) -> CompactEdges:
    """``compact_edges`` of a graph in the JSON form (a pod graph stored whole)."""
    ids = [n["id"] for n in graph["nodes"]]
    index = {node_id: i for i, node_id in enumerate(ids)}
    conns: dict[str, int] = {}
    dicts: list[dict[str, Any]] = []
    rows: dict[int, list[int]] = {}
    for edge in graph["edges"]:
        conn = {k: v for k, v in edge.items() if k not in ("source", "target")}
        key = json.dumps(conn, sort_keys=True)
        if key not in conns:
            conns[key] = len(dicts)
            dicts.append(conn)
        source = index[edge["source"]]
        rows.setdefault(source, [source]).extend((index[edge["target"]], conns[key]))
    return {"ids": ids, "conns": dicts, "rows": list(rows.values())}
