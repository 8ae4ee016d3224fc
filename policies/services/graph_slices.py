"""One namespace's slice of a stored workload or pod graph: its nodes with every edge in and out,
the other end of an edge that leaves the namespace drawn as that namespace's node (from the stored
namespace graph) or as the external block.

The graph page opens large clusters at namespace level and fetches a slice when someone expands a
namespace, so that no response carries the whole workload graph.
"""

from __future__ import annotations

from typing import Any

from policies.engine import ConnectionSet

__all__ = ["every_namespace_slice", "namespace_slice"]

Graph = dict[str, Any]


def namespace_slice(graph: Graph, namespaces: Graph, names: tuple[str, ...]) -> Graph | str:
    """The part of ``graph`` (workload or pod level) inside the namespaces ``names``; ``namespaces``
    is the namespace-level graph the outer ends are taken from. Between two of ``names`` the edges
    stay between their workloads or pods. A name without pods is returned instead of a graph."""
    wanted = set(names)
    inside = {n["id"] for n in graph["nodes"] if n["kind"] != "external" and n["namespace"] in wanted}
    present = {n["namespace"] for n in graph["nodes"] if n["id"] in inside}
    missing = sorted(wanted - present)
    if missing:
        return missing[0]
    by_id = {n["id"]: n for n in graph["nodes"]}

    def end(node_id: str) -> str:
        node = by_id[node_id]
        if node_id in inside or node["kind"] == "external":
            return node_id
        return str(node["namespace"])

    pairs: dict[tuple[str, str], ConnectionSet] = {}
    for edge in graph["edges"]:
        if edge["source"] not in inside and edge["target"] not in inside:
            continue
        key = (end(edge["source"]), end(edge["target"]))
        conn = ConnectionSet.from_dict(edge)
        pairs[key] = pairs[key] | conn if key in pairs else conn
    ends = {node_id for pair in pairs for node_id in pair}
    nodes = [n for n in graph["nodes"] if n["id"] in inside]
    nodes += [n for n in namespaces["nodes"] if n["kind"] == "namespace" and n["id"] in ends]
    nodes += [n for n in graph["nodes"] if n["kind"] == "external" and n["id"] in ends]
    edges = [{"source": s, "target": t, **conn.to_dict()} for (s, t), conn in sorted(pairs.items())]
    header = {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
    return {**header, "namespaces": sorted(wanted), "nodes": nodes, "edges": edges}


def _wording(edge: Graph) -> str:
    """The edge's connections as one string (the engine's ``text``; its ports for older graphs)."""
    return str(edge["text"]) if "text" in edge else repr((edge.get("all"), edge.get("ports")))


def every_namespace_slice(graph: Graph, namespaces: Graph) -> dict[str, Graph]:
    """``namespace_slice(graph, namespaces, (ns,))`` for every namespace, in one pass over the edges
    (an analysis stores them so that opening a namespace reads one small row)."""
    ns_of = {n["id"]: n["namespace"] for n in graph["nodes"] if n["kind"] != "external"}
    by_id = {n["id"]: n for n in graph["nodes"]}
    outer = {n["id"]: n for n in namespaces["nodes"] if n["kind"] == "namespace"}
    kept: dict[str, list[Graph]] = {}  # edges with both ends drawn as themselves
    folded: dict[str, dict[tuple[str, str], list[Graph]]] = {}
    for edge in graph["edges"]:
        source, target = edge["source"], edge["target"]
        source_ns, target_ns = ns_of.get(source), ns_of.get(target)
        for ns in {source_ns, target_ns}:
            if ns is None:
                continue
            drawn_source = source if source_ns in (ns, None) else str(source_ns)
            drawn_target = target if target_ns in (ns, None) else str(target_ns)
            if (drawn_source, drawn_target) == (source, target):
                kept.setdefault(ns, []).append(edge)
            else:
                folded.setdefault(ns, {}).setdefault((drawn_source, drawn_target), []).append(edge)
    header = {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
    members: dict[str, list[Graph]] = {}
    for node in graph["nodes"]:
        if node["kind"] != "external":
            members.setdefault(node["namespace"], []).append(node)
    slices = {}
    for ns, inside in members.items():
        edges = list(kept.get(ns, []))
        for (source, target), group in folded.get(ns, {}).items():
            # Edges with the same wording allow the same connections: unite each wording once.
            distinct = list({_wording(edge): edge for edge in group}.values())
            if len(distinct) == 1:
                edges.append({**distinct[0], "source": source, "target": target})
                continue
            conn = ConnectionSet.from_dict(distinct[0])
            for edge in distinct[1:]:
                conn = conn | ConnectionSet.from_dict(edge)
            edges.append({"source": source, "target": target, **conn.to_dict()})
        edges.sort(key=lambda e: (e["source"], e["target"]))
        ends = {node_id for e in edges for node_id in (e["source"], e["target"])}
        nodes = list(inside)
        nodes += [outer[name] for name in sorted(ends & outer.keys()) if name != ns]
        nodes += [by_id[i] for i in sorted(ends) if i in by_id and by_id[i]["kind"] == "external"]
        slices[ns] = {**header, "namespaces": [ns], "nodes": nodes, "edges": edges}
    return slices
