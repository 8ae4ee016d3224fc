"""The graph of a proposal's change: the proposed snapshot's graph with every edge marked by what the
change does to it, and the edges it closes drawn although the proposed graph has none.

Edge ``change``: "opened" (denied before, allowed now), "closed" (allowed before, denied now),
"changed" (allowed before and now, on other ports), "unchanged"; at namespace level a box pair
whose flows changed both ways is "mixed". Every edge carries its words in ``label`` ("opened: TCP
8080", "closed: All Connections"), so that what a colour says is also written.

Two levels: "workload" (each workload and address block), and "namespace" (each namespace one node,
its flows counted), which a large cluster gets by default (more workloads than
NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE). ``only_changed`` keeps the changed edges and their ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from policies import engine
from policies.models import Proposal, Snapshot
from policies.services.analyses import finished_analysis
from policies.services.answers import connections_text, get_graph
from policies.services.errors import InvalidTransition

__all__ = ["CHANGE_GRAPH_LEVELS", "change_graph", "default_level", "proposal_graph"]

CHANGE_GRAPH_LEVELS = ("workload", "namespace")
OUTSIDE = "outside the cluster"
FLOWS_PER_EDGE = 50  # a namespace edge lists at most this many of its changed flows


def default_level(proposed: Snapshot) -> str:
    """"namespace" for a proposed snapshot with more workloads than the graph page draws at once."""
    nodes = finished_analysis(snapshot=proposed).graph_nodes("workload") or []
    workloads = sum(1 for n in nodes if n.get("kind") != "external")
    return "namespace" if workloads > settings.NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE else "workload"


def proposal_graph(
    *, proposal: Proposal, revision: int | None = None, level: str = "", only_changed: bool = False
) -> dict[str, Any]:
    """The change graph of one revision of the proposal (the current one by default).
    PolicyError for an unknown revision; InvalidTransition (409) before its analysis is ready."""
    number = revision or proposal.revision
    row = proposal.revisions.select_related("proposed").filter(number=number).first()
    if row is None:
        raise engine.PolicyError(f"proposal {proposal.id} has no revision {number}", file="revision")
    if row.status != Proposal.Status.READY or row.diff is None:
        state = row.error or row.status
        raise InvalidTransition(f"the analysis of revision {number} is {state}: its graph is drawn once it is ready")
    graph = change_graph(base=proposal.base, proposed=row.proposed, diff=row.diff, level=level,
                         only_changed=only_changed)
    graph.update({"proposal": proposal.id, "revision": number})
    return graph


def change_graph(
    *, base: Snapshot, proposed: Snapshot, diff: Mapping[str, Any], level: str = "", only_changed: bool = False
) -> dict[str, Any]:
    """The proposed graph at ``level`` ("" picks by size) with each edge's change (module docstring);
    ``diff`` is the workload-level ``netpol diff`` JSON of base -> proposed."""
    level = level or default_level(proposed)
    if level not in CHANGE_GRAPH_LEVELS:
        raise engine.PolicyError(f"level must be one of {', '.join(CHANGE_GRAPH_LEVELS)}, not {level!r}",
                                 file="level")
    if level == "workload":
        graph = _workload_graph(base, proposed, diff)
    else:
        graph = _namespace_graph(base, proposed, diff)
    if only_changed:
        graph["edges"] = [e for e in graph["edges"] if e["change"] != "unchanged"]
        ends = {e["source"] for e in graph["edges"]} | {e["target"] for e in graph["edges"]}
        graph["nodes"] = [n for n in graph["nodes"] if n["id"] in ends]
    graph.update({"level": level, "only_changed": only_changed, "base": base.id, "proposed": proposed.id,
                  "totals": _totals(diff)})
    return graph


def _totals(diff: Mapping[str, Any]) -> dict[str, int]:
    return {"opened": len(diff.get("added", [])), "closed": len(diff.get("removed", [])),
            "changed": len(diff.get("changed", []))}


def _text(connections: Mapping[str, Any] | None) -> str:
    return connections_text(dict(connections) if connections else None)


def _change_words(change: str, entry: Mapping[str, Any]) -> str:
    """What the change does to one flow, in words: "opened: TCP 8080", "closed: All Connections",
    "changed: opened TCP 443; closed TCP 80"."""
    if change == "changed":
        parts = [f"{key} {_text(entry[key])}" for key in ("opened", "closed")
                 if entry.get(key) and _text(entry[key]) != "No Connections"]
        return "changed: " + "; ".join(parts)
    return f"{change}: {_text(entry)}"


def _indexed(diff: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, Mapping[str, Any]]]:
    changes: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
    for key, change in (("added", "opened"), ("removed", "closed"), ("changed", "changed")):
        for entry in diff.get(key, []):
            changes[(entry["source"], entry["target"])] = (change, entry)
    return changes


def _node(node: Mapping[str, Any], change: str) -> dict[str, Any]:
    keep = ("id", "kind", "namespace", "name", "labels", "cidrs", "workload_count", "pod_count")
    return {**{k: node[k] for k in keep if k in node}, "change": change}


def _workload_graph(base: Snapshot, proposed: Snapshot, diff: Mapping[str, Any]) -> dict[str, Any]:
    after = get_graph(snapshot=proposed, level="workload")
    changes = _indexed(diff)
    added_nodes = set(diff.get("nodes_added", []))
    nodes = {n["id"]: _node(n, "added" if n["id"] in added_nodes else "unchanged") for n in after["nodes"]}
    edges = []
    for edge in after["edges"]:
        change, entry = changes.get((edge["source"], edge["target"]), ("unchanged", edge))
        label = _change_words(change, entry) if change != "unchanged" else connections_text(edge)
        edges.append(_edge(edge["source"], edge["target"], change, label, connections_text(edge)))
    closed = [entry for change, entry in changes.values() if change == "closed"]
    missing = {e[end] for e in closed for end in ("source", "target")} - nodes.keys()
    if missing:
        for node in get_graph(snapshot=base, level="workload")["nodes"]:
            if node["id"] in missing:
                nodes[node["id"]] = _node(node, "removed")
    for entry in closed:
        edges.append(_edge(entry["source"], entry["target"], "closed", _change_words("closed", entry),
                           "No Connections"))
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": edges}


def _edge(source: str, target: str, change: str, label: str, now: str) -> dict[str, Any]:
    return {"id": f"{source}->{target}", "source": source, "target": target, "change": change, "label": label,
            "connections": now}


def _namespace_of(nodes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Workload or block id -> the id of its node at namespace level (its namespace; a block's own id)."""
    return {n["id"]: (n.get("namespace") or n["id"]) if n.get("kind") != "external" else n["id"] for n in nodes}


def _namespace_graph(base: Snapshot, proposed: Snapshot, diff: Mapping[str, Any]) -> dict[str, Any]:
    after = get_graph(snapshot=proposed, level="namespace")
    group = _namespace_of(finished_analysis(snapshot=base).graph_nodes("workload") or [])
    group.update(_namespace_of(finished_analysis(snapshot=proposed).graph_nodes("workload") or []))
    nodes = {n["id"]: _node(n, "unchanged") for n in after["nodes"]}
    # (source box, target box) -> change -> the changed flows in words
    flows: dict[tuple[str, str], dict[str, list[str]]] = {}
    for change, entry in _indexed(diff).values():
        pair = (group.get(entry["source"], entry["source"]), group.get(entry["target"], entry["target"]))
        words = f"{entry['source']} → {entry['target']}: {_change_words(change, entry)}"
        flows.setdefault(pair, {}).setdefault(change, []).append(words)
        for box in pair:
            nodes.setdefault(box, {"id": box, "kind": "namespace", "namespace": box, "name": box, "change": "removed"})
    edges = []
    now = {(e["source"], e["target"]): connections_text(e) for e in after["edges"]}
    for pair in sorted(now.keys() | flows.keys()):
        changed = flows.get(pair, {})
        if not changed:
            edges.append(_edge(pair[0], pair[1], "unchanged", now[pair], now[pair]))
            continue
        kinds = [c for c in ("opened", "closed", "changed") if c in changed]
        change = kinds[0] if len(kinds) == 1 else "mixed"
        label = "; ".join(f"{c}: {len(changed[c])} {'flow' if len(changed[c]) == 1 else 'flows'}" for c in kinds)
        edge = _edge(pair[0], pair[1], change, label, now.get(pair, "No Connections"))
        edge["flows"] = [w for c in kinds for w in changed[c]][:FLOWS_PER_EDGE]
        edge["flow_count"] = sum(len(changed[c]) for c in kinds)
        edges.append(edge)
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": edges}
