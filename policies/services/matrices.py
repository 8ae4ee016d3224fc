"""What the matrix page shows, stored by the analysis so that no request reads the workload graph:
namespace by namespace, how many workload pairs may talk and how many of them openly; and for
each namespace, its workloads and the edges out of them (a pair of namespaces' matrix)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from policies.models import Snapshot

__all__ = ["OUTSIDE_GROUP", "matrix_pair", "matrix_parts", "namespace_counts"]

OUTSIDE_GROUP = ""  # the address blocks outside the cluster

Graph = dict[str, Any]


def _group(node: Graph) -> str:
    return str(node.get("namespace") or OUTSIDE_GROUP)


def matrix_parts(graph: Graph) -> dict[str, Any]:
    """The analysis' parts for the matrix page, from the workload graph."""
    group_of = {n["id"]: _group(n) for n in graph["nodes"]}
    members: dict[str, list[Graph]] = defaultdict(list)
    for node in graph["nodes"]:
        members[group_of[node["id"]]].append(node)
    allowed: dict[tuple[str, str], int] = defaultdict(int)
    open_all: dict[tuple[str, str], int] = defaultdict(int)
    out: dict[str, list[Graph]] = defaultdict(list)
    for edge in graph["edges"]:
        key = (group_of[edge["source"]], group_of[edge["target"]])
        allowed[key] += 1
        open_all[key] += bool(edge["all"])
        out[key[0]].append(edge)
    parts: dict[str, Any] = {
        "matrix:namespace": {
            "members": {group: len(nodes) for group, nodes in members.items()},
            "pairs": [[s, t, n, open_all[(s, t)]] for (s, t), n in sorted(allowed.items())],
        }
    }
    for group, nodes in members.items():
        parts[f"matrix:group:{group}"] = {"nodes": nodes, "edges": out.get(group, [])}
    return parts


def namespace_counts(*, snapshot: Snapshot) -> dict[str, Any]:
    """{"members": {group: workloads}, "pairs": [[source group, target group, allowed pairs,
    pairs allowing everything], ...]}; the group of the address blocks outside is ""."""
    from policies.services.analyses import finished_analysis  # analyses store matrix_parts

    analysis = finished_analysis(snapshot=snapshot)
    stored: dict[str, Any] | None = analysis.part("matrix:namespace")
    if stored is None:  # analyses stored before the matrix parts
        from policies.services.answers import get_graph

        stored = matrix_parts(get_graph(snapshot=snapshot, level="workload"))["matrix:namespace"]
    return stored


def matrix_pair(*, snapshot: Snapshot, source: str, target: str) -> Graph:
    """The workloads of two groups and the edges from the first's to the second's."""
    from policies.services.analyses import finished_analysis  # analyses store matrix_parts

    analysis = finished_analysis(snapshot=snapshot)
    sides = [analysis.part(f"matrix:group:{group}") for group in (source, target)]
    if any(side is None for side in sides):
        from policies.services.answers import get_graph

        parts = matrix_parts(get_graph(snapshot=snapshot, level="workload"))
        sides = [parts.get(f"matrix:group:{group}") for group in (source, target)]
    first, second = (side or {"nodes": [], "edges": []} for side in sides)
    inside = {n["id"] for n in second["nodes"]}
    nodes = list({n["id"]: n for n in [*first["nodes"], *second["nodes"]]}.values())
    return {"nodes": nodes, "edges": [e for e in first["edges"] if e["target"] in inside]}
