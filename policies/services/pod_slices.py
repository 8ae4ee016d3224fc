"""Namespaces' pod slices of a large pod graph, with the largest workloads drawn whole.

A DaemonSet runs a pod on every node and its pods reach every pod: at 10,000 pods the pods of
kube-system alone have millions of edges (97 MB of JSON as one slice), and pods of one DaemonSet
are rarely alike, since a hostNetwork pod reaches the pods of its own node under the node's rules
(SEMANTICS.md 4.8.1). A slice shows at most ``budget`` pods: its workloads are opened smallest
first while their pods fit, and a workload left over is drawn as its workload node (the union of
its pods' edges, as in the workload graph), listed in the slice's ``collapsed``. Below the budget a
slice is ``graph_slices.namespace_slice`` of the whole pod graph, edge for edge.

The edges come from the compact form of the pod graph (stored_graphs) as arrays (``flat_edges``;
the analysis stores them ``pack``ed): ``every_pod_slice`` makes every namespace's slice in one
pass (the analysis stores them, so opening a namespace reads one row), ``pod_slice`` one slice of
several namespaces (on request, from the packed arrays).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

from policies import engine

__all__ = ["POD_SLICE_BUDGET", "FlatEdges", "every_pod_slice", "flat_edges", "pack", "pod_slice", "unpack"]

POD_SLICE_BUDGET = 60  # pods drawn as themselves in one slice, at most

Graph = dict[str, Any]


class FlatEdges(NamedTuple):
    """A pod graph's edges as arrays: node ids, connection dicts, and per edge its source, target
    and connection (indexes)."""

    ids: list[str]
    conns: list[dict[str, Any]]
    sources: np.ndarray
    targets: np.ndarray
    cs: np.ndarray


def flat_edges(compact: dict[str, Any]) -> FlatEdges:
    """The compact rows (stored_graphs) as arrays."""
    rows = compact["rows"]
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return FlatEdges(compact["ids"], compact["conns"], empty, empty, empty)
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    heads = np.zeros(len(flat), dtype=bool)
    heads[starts] = True
    rest = flat[~heads]
    return FlatEdges(compact["ids"], compact["conns"], np.repeat(flat[starts], (lengths - 1) // 2),
                     rest[0::2], rest[1::2])


def pack(edges: FlatEdges) -> bytes:
    """The three arrays as zlib-compressed int32s, for an AnalysisPart: read back in a tenth of a
    second at 10,000 pods, where the JSON of the compact rows takes seconds."""
    arrays = np.stack([edges.sources, edges.targets, edges.cs]).astype("<i4")
    return zlib.compress(arrays.tobytes(), 1)


def unpack(data: bytes, ids: list[str], conns: list[dict[str, Any]]) -> FlatEdges:
    arrays = np.frombuffer(zlib.decompress(data), dtype="<i4").reshape(3, -1)
    return FlatEdges(ids, conns, arrays[0], arrays[1], arrays[2])


def _opened(pods_of: dict[str, list[int]], budget: int) -> tuple[set[int], list[str]]:
    """The pods drawn as themselves (whole workloads, smallest first, while they fit the budget)
    and the workloads drawn whole."""
    opened: set[int] = set()
    collapsed = []
    for workload, pods in sorted(pods_of.items(), key=lambda item: (len(item[1]), item[0])):
        if len(opened) + len(pods) <= budget:
            opened.update(pods)
        else:
            collapsed.append(workload)
    return opened, sorted(collapsed)


def _slices(
    header: Graph,
    nodes: list[Graph],
    edges: FlatEdges,
    workload_nodes: list[Graph],
    namespaces: Graph,
    groups: list[tuple[str, ...]],
    budget: int,
) -> dict[tuple[str, ...], Graph | str]:
    """The slice of each group of namespaces (no namespace in two groups), in one pass."""
    ids, conns = edges.ids, edges.conns
    n = len(ids)
    group_of: dict[str, int] = {name: g for g, group in enumerate(groups) for name in group}
    workload_index = {node["id"]: k for k, node in enumerate(workload_nodes)}
    outer_ids = [node["id"] for node in namespaces["nodes"] if node["kind"] == "namespace"]
    outer_index = {name: k for k, name in enumerate(outer_ids)}
    # Ids of the drawn ends: pods and blocks (0..n-1), workloads (n..), namespaces (n + workloads ..).
    base_w, base_ns = n, n + len(workload_nodes)
    space = base_ns + len(outer_ids)
    grp = np.full(n, -1, dtype=np.int64)  # the group of each pod (-1: outside every group, or a block)
    as_workload = np.arange(n, dtype=np.int64)  # a pod drawn whole with its workload
    as_namespace = np.arange(n, dtype=np.int64)  # a pod of another namespace
    pods_of: list[dict[str, list[int]]] = [defaultdict(list) for _ in groups]
    present: list[set[str]] = [set() for _ in groups]
    for i, node in enumerate(nodes):
        if node["kind"] == "external":
            continue
        namespace = node["namespace"]
        as_namespace[i] = base_ns + outer_index[namespace]
        workload = node.get("workload") or node["id"]
        if workload in workload_index:
            as_workload[i] = base_w + workload_index[workload]
        g = group_of.get(namespace)
        if g is not None:
            grp[i] = g
            present[g].add(namespace)
            pods_of[g][workload].append(i)
    opened = np.zeros(n, dtype=bool)
    collapsed: list[list[str]] = []
    for g in range(len(groups)):
        shown, whole = _opened(pods_of[g], budget)
        opened[list(shown)] = True
        collapsed.append(whole)
    inside_as = np.where(opened, np.arange(n, dtype=np.int64), as_workload)  # drawn within its group

    source_group, target_group = grp[edges.sources], grp[edges.targets]
    touched = (source_group >= 0) | (target_group >= 0)  # the edges of the groups' pods, first
    sources, targets = edges.sources[touched].astype(np.int64), edges.targets[touched].astype(np.int64)
    cs = edges.cs[touched].astype(np.int64)
    source_group, target_group = source_group[touched], target_group[touched]
    # An edge is drawn in its source's group, and in its target's when that is another group.
    same = source_group == target_group
    first = source_group >= 0
    drawn_source = inside_as[sources[first]]
    drawn_target = np.where(same[first], inside_as[targets[first]], as_namespace[targets[first]])
    second = (target_group >= 0) & ~same
    keys = [(source_group[first], drawn_source, drawn_target, cs[first]),
            (target_group[second], as_namespace[sources[second]], inside_as[targets[second]], cs[second])]
    g_all = np.concatenate([k[0] for k in keys])
    s_all = np.concatenate([k[1] for k in keys])
    t_all = np.concatenate([k[2] for k in keys])
    c_all = np.concatenate([k[3] for k in keys])
    keep = s_all != t_all  # a workload drawn whole: its pods among themselves are not drawn
    pair = (g_all[keep] * space + s_all[keep]) * space + t_all[keep]
    pair_conn = np.unique(pair * len(conns) + c_all[keep]) if len(conns) else np.zeros(0, dtype=np.int64)
    pair, conn_of = np.divmod(pair_conn, max(1, len(conns)))
    cut = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, dtype=np.int64)

    def drawn_id(k: int) -> str:
        if k < base_w:
            return str(ids[k])
        if k < base_ns:
            return str(workload_nodes[k - base_w]["id"])
        return str(outer_ids[k - base_ns])

    sets: dict[int, engine.ConnectionSet] = {}
    united: dict[tuple[int, ...], dict[str, Any]] = {}

    def union(indexes: tuple[int, ...]) -> dict[str, Any]:
        if len(indexes) == 1:
            return dict(conns[indexes[0]])
        if indexes not in united:
            conn = engine.ConnectionSet.none()
            for index in indexes:
                if index not in sets:
                    sets[index] = engine.ConnectionSet.from_dict(conns[index])
                conn = conn | sets[index]
            united[indexes] = conn.to_dict()
        return united[indexes]

    edges_of: list[list[Graph]] = [[] for _ in groups]
    bounds = np.r_[cut, len(pair)]
    pair_list, conn_list = pair.tolist(), conn_of.tolist()
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        g, rest = divmod(pair_list[a], space * space)
        s, t = divmod(rest, space)
        edges_of[g].append({"source": drawn_id(s), "target": drawn_id(t), **union(tuple(conn_list[a:b]))})
    by_workload = {node["id"]: node for node in workload_nodes}
    result: dict[tuple[str, ...], Graph | str] = {}
    for g, group in enumerate(groups):
        missing = sorted(set(group) - present[g])
        if missing:
            result[group] = missing[0]
            continue
        drawn_edges = sorted(edges_of[g], key=lambda e: (e["source"], e["target"]))
        ends = {node_id for e in drawn_edges for node_id in (e["source"], e["target"])}
        inside = [i for pods in pods_of[g].values() for i in pods if opened[i]]
        slice_nodes = [nodes[i] for i in sorted(inside)]
        slice_nodes += [by_workload[w] for w in collapsed[g] if w in by_workload]
        slice_nodes.sort(key=lambda node: str(node["id"]))
        slice_nodes += [node for node in namespaces["nodes"] if node["kind"] == "namespace" and node["id"] in ends]
        slice_nodes += [node for node in nodes if node["kind"] == "external" and node["id"] in ends]
        part = {**header, "namespaces": sorted(group), "nodes": slice_nodes, "edges": drawn_edges}
        if collapsed[g]:
            part["collapsed"] = collapsed[g]
        result[group] = part
    return result


def pod_slice(
    header: Graph,
    nodes: list[Graph],
    edges: FlatEdges,
    workload_nodes: list[Graph],
    namespaces: Graph,
    names: tuple[str, ...],
    budget: int = POD_SLICE_BUDGET,
) -> Graph | str:
    """The pods of the namespaces ``names`` (at most ``budget`` of them drawn as themselves) with
    every edge in and out; the first name without pods instead of a graph."""
    group = tuple(sorted(set(names)))
    return _slices(header, nodes, edges, workload_nodes, namespaces, [group], budget)[group]


def every_pod_slice(
    header: Graph,
    nodes: list[Graph],
    edges: FlatEdges,
    workload_nodes: list[Graph],
    namespaces: Graph,
    budget: int = POD_SLICE_BUDGET,
) -> dict[str, Graph]:
    """``pod_slice`` of every namespace with pods, by name, in one pass over the edges."""
    names = sorted({n["namespace"] for n in nodes if n["kind"] == "pod"})
    found = _slices(header, nodes, edges, workload_nodes, namespaces, [(name,) for name in names], budget)
    return {group[0]: part for group, part in found.items() if isinstance(part, dict)}
