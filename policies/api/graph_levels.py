"""The graph API's namespace views, read from a stored graph: the namespace level (one node per
namespace, A -> B the union over the pairs between them) and one namespace's slice of the workload
or pod graph (its nodes with every edge in and out, the other namespaces as aggregate nodes).

Both keep the graph page's responses small at cluster scale: the page opens at namespace level
and fetches a namespace's slice when someone expands it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

from policies.engine.connections import ConnectionSet

Graph = dict[str, Any]

_CACHE_SIZE = 64
_cache: OrderedDict[tuple[Any, ...], Graph] = OrderedDict()
_cache_lock = threading.Lock()


def cached(key: tuple[Any, ...], compute: Callable[[], Graph]) -> Graph:
    """``compute()``, kept for the next request with the same key (an analysis never changes)."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _namespace_node(name: str, members: list[Graph], labels: dict[str, str] | None = None) -> Graph:
    pods: set[str] = set()
    workloads: set[str] = set()
    ingress: set[str] = set()
    egress: set[str] = set()
    for node in members:
        if node["kind"] == "workload":
            workloads.add(node["id"])
            pods.update(node.get("pods") or [])
        else:
            workloads.add(node.get("workload") or node["id"])
            pods.add(node["id"])
        policies = node.get("policies") or {}
        ingress.update(policies.get("ingress") or [])
        egress.update(policies.get("egress") or [])
    return {
        "id": name,
        "kind": "namespace",
        "namespace": name,
        "name": name,
        "labels": labels or {},
        "cidrs": [],
        "isolated": {
            "ingress": any((n.get("isolated") or {}).get("ingress") for n in members),
            "egress": any((n.get("isolated") or {}).get("egress") for n in members),
        },
        "policies": {"ingress": sorted(ingress), "egress": sorted(egress)},
        "pod_count": len(pods),
        "workload_count": len(workloads),
    }


def _merged_edges(pairs: dict[tuple[str, str], ConnectionSet]) -> list[Graph]:
    return [
        {"source": source, "target": target, **conn.to_dict()}
        for (source, target), conn in sorted(pairs.items())
    ]


def _add(pairs: dict[tuple[str, str], ConnectionSet], key: tuple[str, str], edge: Graph) -> None:
    conn = ConnectionSet.from_dict(edge)
    pairs[key] = pairs[key] | conn if key in pairs else conn


def namespace_level(graph: Graph) -> Graph:
    """One node per namespace (external blocks stay themselves); A -> B is the union of the edges
    from A's members to B's, and A -> A is listed when A's members may reach each other."""
    members: dict[str, list[Graph]] = defaultdict(list)
    group: dict[str, str] = {}
    externals = []
    for node in graph["nodes"]:
        if node["kind"] == "external":
            externals.append(node)
            group[node["id"]] = node["id"]
        else:
            members[node["namespace"]].append(node)
            group[node["id"]] = node["namespace"]
    pairs: dict[tuple[str, str], ConnectionSet] = {}
    for edge in graph["edges"]:
        _add(pairs, (group[edge["source"]], group[edge["target"]]), edge)
    nodes = [_namespace_node(name, members[name]) for name in sorted(members)] + externals
    return {**_header(graph), "level": "namespace", "nodes": nodes, "edges": _merged_edges(pairs)}


def namespace_slice(graph: Graph, namespace: str) -> Graph:
    """The nodes of ``namespace`` and every edge into or out of them; the other end of an edge
    that leaves the namespace is drawn as its namespace (an aggregate node) or external block."""
    inside = {n["id"] for n in graph["nodes"] if n["kind"] != "external" and n["namespace"] == namespace}
    by_id = {n["id"]: n for n in graph["nodes"]}
    outer: dict[str, list[Graph]] = defaultdict(list)

    def end(node_id: str) -> str:
        node = by_id[node_id]
        if node_id in inside or node["kind"] == "external":
            return node_id
        return str(node["namespace"])

    pairs: dict[tuple[str, str], ConnectionSet] = {}
    externals: set[str] = set()
    for edge in graph["edges"]:
        if edge["source"] not in inside and edge["target"] not in inside:
            continue
        source, target = end(edge["source"]), end(edge["target"])
        for node_id, drawn in ((edge["source"], source), (edge["target"], target)):
            node = by_id[node_id]
            if node["kind"] == "external":
                externals.add(node_id)
            elif drawn != node_id:
                outer[drawn].append(node)
        _add(pairs, (source, target), edge)
    nodes = [n for n in graph["nodes"] if n["id"] in inside]
    nodes += [_namespace_node(name, _unique(outer[name])) for name in sorted(outer)]
    nodes += [by_id[b] for b in sorted(externals)]
    return {**_header(graph), "namespace": namespace, "nodes": nodes, "edges": _merged_edges(pairs)}


def _unique(nodes: list[Graph]) -> list[Graph]:
    return list({n["id"]: n for n in nodes}.values())


def _header(graph: Graph) -> Graph:
    return {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
