"""Answers read from a snapshot's finished analysis: graphs, explanations, diffs, pods."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from policies import engine
from policies.models import Analysis, Snapshot
from policies.services.analyses import finished_analysis
from policies.services.cache import LockedCache, SnapshotCache
from policies.services.explainers import stored_explainer
from policies.services.graph_slices import namespace_slice
from policies.services.manifests import load_manifests
from policies.services.pod_slices import FlatEdges, flat_edges, pod_slice, unpack
from policies.services.stored_graphs import CompactEdges, compact_from_dict, graph_from_compact, json_chunks

__all__ = [
    "EVALUATORS",
    "GRAPH_LEVELS",
    "diff_snapshots",
    "explain_flow",
    "get_graph",
    "get_pod",
    "connections_text",
    "list_pods",
    "render_graph",
    "snapshot_cluster",
]

GRAPH_LEVELS = ("workload", "pod", "namespace")
EVALUATORS = ("auto", "k8s", "calico")
# Per process, the few most recently asked: an analysis never changes, so neither do its graphs,
# their namespace slices (a str: the namespace that has no pods) and the diffs between two of
# them; a snapshot's explainer holds its parsed cluster and the index of its endpoints, so that an
# explanation is two lookups and one flow's evaluation.
_graphs: LockedCache[dict[str, Any]] = LockedCache(size=6)
_slices: LockedCache[dict[str, Any] | str] = LockedCache(size=64)
_diffs: LockedCache[dict[str, Any]] = LockedCache(size=16)
_explainers: SnapshotCache[engine.Explainer] = SnapshotCache(size=4)


def connections_text(edge: dict[str, Any] | None) -> str:
    """The engine's one wording of an edge's connections ('TCP 80,443; UDP 53', 'all but TCP 22')."""
    if not edge:
        return "No Connections"
    if "text" in edge:
        return str(edge["text"])
    return str(engine.ConnectionSet.from_dict(edge))  # analyses stored before edges carried their text


def get_graph(*, snapshot: Snapshot, level: str = "workload", namespace: str | None = None) -> dict[str, Any]:
    """The snapshot's reachability graph in the DESIGN.md JSON form; with ``namespace`` (one name or
    several, comma-separated), only the workloads or pods of those namespaces with every edge in
    and out, the other ends folded into their namespaces (graph_slices); at pod level at most
    POD_SLICE_BUDGET pods drawn as themselves, the largest workloads whole (pod_slices)."""
    if level not in GRAPH_LEVELS:
        raise engine.PolicyError(f"level must be one of {', '.join(GRAPH_LEVELS)}, not {level!r}")
    names = tuple(sorted({n.strip() for n in (namespace or "").split(",") if n.strip()}))
    if namespace is not None and not names:
        raise engine.PolicyError("namespace: name one namespace or several, comma-separated")
    if names and level == "namespace":
        raise engine.PolicyError("namespace: it picks the workloads or pods of namespaces; "
                                 "use it with level=workload or level=pod")
    analysis = finished_analysis(snapshot=snapshot)
    if not names:
        return _whole_graph(snapshot, analysis, level)

    def compute() -> dict[str, Any] | str:
        key = f"slice:{level}:{names[0]}" if len(names) == 1 else ""
        if key:
            stored: dict[str, Any] | None = analysis.part(key)
            if stored is not None:
                return stored
        if level != "pod":
            namespaces = _whole_graph(snapshot, analysis, "namespace")
            part = namespace_slice(_whole_graph(snapshot, analysis, level), namespaces, names)
        else:  # at most POD_SLICE_BUDGET pods drawn as themselves, the largest workloads whole
            part = pod_slice(*_pod_edges(snapshot, analysis), *_nodes_for_pod_slices(snapshot, analysis), names)
        if key and isinstance(part, dict):
            analysis.store_part(key, part)  # computed on the first request, read by the next ones
        return part

    part = _slices.get(_analysis_key(analysis, level, *names), compute)
    if isinstance(part, str):
        raise engine.PolicyError(f"namespace: this snapshot has no pods in namespace {part!r}")
    return part


def graph_json_chunks(*, snapshot: Snapshot, level: str) -> Iterator[bytes] | None:
    """The JSON of the whole graph at ``level`` in pieces, when the analysis stored it as nodes and
    compact edges (a large pod graph: hundreds of megabytes as JSON, which an answer must not hold
    at once); None when it is stored whole (``get_graph`` answers it from memory)."""
    if level not in GRAPH_LEVELS:
        raise engine.PolicyError(f"level must be one of {', '.join(GRAPH_LEVELS)}, not {level!r}")
    analysis = finished_analysis(snapshot=snapshot)
    if _graphs.get(_analysis_key(analysis, level), lambda: analysis.graph(level) or {}):
        return None
    parts = _compact_parts(analysis, level)
    return None if parts is None else json_chunks(*parts)


def _pod_edges(snapshot: Snapshot, analysis: Analysis) -> tuple[dict[str, Any], list[dict[str, Any]], FlatEdges]:
    """The pod graph's header, nodes and edges as arrays: packed by the analysis, else from the
    compact edges or the whole graph (analyses stored before)."""
    nodes = analysis.graph_nodes("pod")
    packed, conns = analysis.part("edges:pod:packed"), analysis.part("conns:pod")
    if nodes is not None and packed is not None and conns is not None:
        stored = analysis.graph("pod")  # a small pod graph is stored whole: its header is there
        header = stored if stored is not None else analysis.part("header:pod") or {}
        return _header(header), nodes, unpack(packed, [n["id"] for n in nodes], conns)
    compact = analysis.part("edges:pod")
    if nodes is not None and compact is not None:
        return _header(analysis.part("header:pod") or {}), nodes, flat_edges(compact)
    whole = _whole_graph(snapshot, analysis, "pod")
    return _header(whole), whole["nodes"], flat_edges(compact_from_dict(whole))


def _nodes_for_pod_slices(snapshot: Snapshot, analysis: Analysis) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The workload nodes and the namespace graph's nodes a pod slice draws (the stored nodes: the
    workload graph's JSON is ten times theirs)."""
    workloads = analysis.graph_nodes("workload")
    namespaces = analysis.graph_nodes("namespace")
    if workloads is None:
        workloads = _whole_graph(snapshot, analysis, "workload")["nodes"]
    if namespaces is None:
        namespaces = _whole_graph(snapshot, analysis, "namespace")["nodes"]
    return workloads, {"nodes": namespaces}


def _header(graph: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in graph.items() if k not in ("nodes", "edges")}


def _whole_graph(snapshot: Snapshot, analysis: Analysis, level: str) -> dict[str, Any]:
    """The graph at ``level``: stored whole (kept in memory once read), else read back from the nodes
    and compact edges a large pod graph is stored as (not kept: hundreds of megabytes as objects),
    else computed again (analyses stored before the compact edges)."""
    stored = _graphs.get(_analysis_key(analysis, level), lambda: analysis.graph(level) or {})
    if stored:
        return stored
    parts = _compact_parts(analysis, level)
    if parts is not None:
        return graph_from_compact(*parts)
    parsed = load_manifests(snapshot=snapshot)
    whole: dict[str, Any] = engine.build_graph(parsed.cluster, level=level).to_dict()
    return whole


def _compact_parts(analysis: Analysis, level: str) -> tuple[dict[str, Any], list[dict[str, Any]], CompactEdges] | None:
    """The header, nodes and compact edges of a graph the analysis stored that way (a large pod
    graph); None when it did not."""
    compact = analysis.part(f"edges:{level}")
    nodes = analysis.graph_nodes(level)
    if compact is None or nodes is None:
        return None
    return analysis.part(f"header:{level}") or {}, nodes, compact


def _analysis_key(analysis: Analysis, *rest: str) -> tuple[Any, ...]:
    """An analysis by id and creation time (a reused id after a database reset is another analysis)."""
    return (analysis.id, analysis.created.timestamp(), *rest)


def render_graph(*, snapshot: Snapshot, level: str, fmt: str) -> str:
    """The graph as the command line writes it (`netpol reach --format FMT`). JSON comes from the
    stored analysis; the other formats are rendered by the engine from the parsed manifests."""
    if fmt == "json":
        return json.dumps(get_graph(snapshot=snapshot, level=level), indent=2, sort_keys=True) + "\n"
    finished_analysis(snapshot=snapshot)  # AnalysisNotReady before doing the work
    text: str = engine.render(engine.build_graph(snapshot_cluster(snapshot=snapshot), level=level), fmt)
    return text


def explain_flow(
    *,
    snapshot: Snapshot,
    source: str,
    destination: str,
    port: int | None = None,
    protocol: str = "TCP",
    icmp_type: int | None = None,
    icmp_code: int | None = None,
    evaluator: str = "auto",
    suggest: bool = False,
) -> dict[str, Any]:
    """Why traffic from ``source`` to ``destination`` is allowed or denied (engine.explain). The
    snapshot's explainer is read from its analysis (or built) at its first question in this
    process, and kept. ``suggest``: also the smallest change that turns the verdict, and what else
    it opens or closes (engine.suggest), under the key ``suggestion``."""
    explainer = _explainers.get(snapshot, lambda: _explainer(snapshot))
    found = explainer.explain(source, destination, protocol=protocol, port=port, icmp_type=icmp_type,
                              icmp_code=icmp_code, evaluator=evaluator)
    explanation: dict[str, Any] = found.to_dict()
    if suggest:
        explanation["suggestion"] = engine.suggest(explainer.cluster, found.result).to_dict()
    return explanation


def snapshot_cluster(*, snapshot: Snapshot) -> engine.Cluster:
    """The snapshot's parsed cluster: its explainer's (read from the analysis or built, then kept in
    this process), so that diffs, renderings and expectation checks do not parse the snapshot again."""
    cluster: engine.Cluster = _explainers.get(snapshot, lambda: _explainer(snapshot)).cluster
    return cluster


def _explainer(snapshot: Snapshot) -> engine.Explainer:
    """The explainer stored with the snapshot's analysis, else one built from its parsed manifests
    (before its analysis is done, or for analyses stored without it)."""
    return stored_explainer(snapshot) or engine.Explainer(load_manifests(snapshot=snapshot).cluster)


def diff_snapshots(*, old: Snapshot, new: Snapshot, level: str = "workload") -> dict[str, Any]:
    """Flows added, removed and changed from ``old`` to ``new``.

    The stored graphs are compared when both cut the address space into the same external blocks;
    otherwise (a change added or altered an ipBlock) the engine computes both again over the common
    refinement of their blocks, as ``netpol diff`` does, so external flows compare one to one.
    A diff between two analyses is computed once: stored with the new analysis (an analysis
    computes the one against the snapshot before it of the same name, analyses.diff_with_previous)
    and kept in memory."""
    if level not in GRAPH_LEVELS:
        raise engine.PolicyError(f"level must be one of {', '.join(GRAPH_LEVELS)}, not {level!r}")
    before, after = finished_analysis(snapshot=old), finished_analysis(snapshot=new)
    key = (*_analysis_key(before), *_analysis_key(after), level)

    def stored_or_computed() -> dict[str, Any]:
        part_key = f"diff:{level}:{before.id}"
        stored: dict[str, Any] | None = after.part(part_key)
        if stored is None:
            stored = _diff(old, new, level)
            after.store_part(part_key, stored)
        return stored

    return _diffs.get(key, stored_or_computed)


def _diff(old: Snapshot, new: Snapshot, level: str) -> dict[str, Any]:
    before = get_graph(snapshot=old, level=level)
    after = get_graph(snapshot=new, level=level)
    if _external_ids(before) == _external_ids(after):
        diff: dict[str, Any] = engine.diff_dicts(before, after).to_dict()
    else:
        old_cluster, new_cluster = snapshot_cluster(snapshot=old), snapshot_cluster(snapshot=new)
        diff = engine.diff_clusters(old_cluster, new_cluster, level=level).to_dict()
    return diff


def _external_ids(graph: dict[str, Any]) -> set[str]:
    return {n["id"] for n in graph.get("nodes", []) if n.get("kind") == "external"}


def list_pods(*, snapshot: Snapshot) -> list[dict[str, Any]]:
    """Every pod of the snapshot with the policies that select it and its neighbours."""
    graph = get_graph(snapshot=snapshot, level="pod")
    ingress: dict[str, list[dict[str, Any]]] = {}
    egress: dict[str, list[dict[str, Any]]] = {}
    for edge in graph["edges"]:
        ports = {"all": edge["all"], "ports": edge["ports"]}
        egress.setdefault(edge["source"], []).append({"id": edge["target"], **ports})
        ingress.setdefault(edge["target"], []).append({"id": edge["source"], **ports})
    pods = []
    for node in graph["nodes"]:
        if node["kind"] != "pod":
            continue
        pods.append(
            {
                "id": node["id"],
                "namespace": node["namespace"],
                "name": node["name"],
                "labels": node.get("labels", {}),
                "workload": node.get("workload"),
                "isolated": node.get("isolated", {}),
                "policies": node.get("policies", {}),
                "ingress": ingress.get(node["id"], []),
                "egress": egress.get(node["id"], []),
            }
        )
    return pods


def get_pod(*, snapshot: Snapshot, pod_id: str) -> dict[str, Any] | None:
    for pod in list_pods(snapshot=snapshot):
        if pod["id"] == pod_id:
            return pod
    return None
