"""The matrix page: namespace by namespace, and workload by workload within a pair of namespaces."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from policies.models import Snapshot
from policies.pages.words import OUTSIDE, endpoint_text, first_port, node_label, plural, ports_text

MATRIX_MAX_SIDE = 60  # a workload matrix larger than this many rows or columns is cut, and says so


@dataclass
class Cell:
    text: str
    openness: str  # "all", "some", "none" or "self"
    url: str = ""
    title: str = ""


@dataclass
class Matrix:
    rows: list[tuple[str, str, list[Cell]]]  # (label, link, cells)
    columns: list[tuple[str, str]]  # (label, link)
    cut: int = 0  # how many rows or columns were left out


def _group(node: dict[str, Any]) -> str:
    return node.get("namespace") or OUTSIDE


def namespace_matrix(snapshot: Snapshot, graph: dict[str, Any]) -> Matrix:
    """Namespace by namespace: how many workload pairs may talk, and how openly."""
    members: dict[str, list[str]] = defaultdict(list)
    for node in graph["nodes"]:
        members[_group(node)].append(node["id"])
    group_of = {node["id"]: _group(node) for node in graph["nodes"]}
    allowed: dict[tuple[str, str], int] = defaultdict(int)
    open_all: dict[tuple[str, str], int] = defaultdict(int)
    for edge in graph["edges"]:
        key = (group_of[edge["source"]], group_of[edge["target"]])
        allowed[key] += 1
        open_all[key] += bool(edge["all"])
    groups = sorted(members, key=lambda g: (g == OUTSIDE, g))
    base = reverse("policies:matrix", args=[snapshot.id])
    rows = []
    for src in groups:
        cells = []
        for dst in groups:
            if src == dst == OUTSIDE:
                cells.append(Cell("not governed", "self", title="traffic outside the cluster is not governed"))
                continue
            pairs = len(members[src]) * len(members[dst]) - (len(members[src]) if src == dst else 0)
            n = allowed[(src, dst)]
            if n == 0:
                openness, how = "none", "nothing allowed"
            elif n == pairs and open_all[(src, dst)] == n:
                openness, how = "all", "all traffic"
            else:
                openness, how = "some", "all traffic" if open_all[(src, dst)] == n else "some ports"
            text = f"{n} of {plural(pairs, 'pair')} · {how}" if pairs else "no pairs"
            url = f"{base}?{urlencode({'from': src, 'to': dst})}"
            cells.append(Cell(text, openness, url, f"{src} → {dst}: {text}"))
        rows.append((src, f"{base}?{urlencode({'from': src, 'to': src})}", cells))
    columns = [(g, f"{base}?{urlencode({'from': g, 'to': g})}") for g in groups]
    return Matrix(rows, columns)


def workload_matrix(snapshot: Snapshot, graph: dict[str, Any], source_ns: str, target_ns: str) -> Matrix:
    """Workload by workload, from the workloads of one namespace to those of another (or the same)."""
    sources = sorted((n for n in graph["nodes"] if _group(n) == source_ns), key=lambda n: n["id"])
    targets = sorted((n for n in graph["nodes"] if _group(n) == target_ns), key=lambda n: n["id"])
    cut = max(0, len(sources) - MATRIX_MAX_SIDE) + max(0, len(targets) - MATRIX_MAX_SIDE)
    sources, targets = sources[:MATRIX_MAX_SIDE], targets[:MATRIX_MAX_SIDE]
    edges = {(e["source"], e["target"]): e for e in graph["edges"]}
    flow = reverse("policies:flow", args=[snapshot.id])
    graph_url = reverse("policies:graph", args=[snapshot.id])
    rows = []
    for src in sources:
        cells = []
        for dst in targets:
            if src["id"] == dst["id"]:
                cells.append(Cell("itself", "self", title="a pod may always reach itself"))
                continue
            if src["kind"] == dst["kind"] == "external":
                cells.append(Cell("not governed", "self"))
                continue
            edge = edges.get((src["id"], dst["id"]))
            protocol, port = first_port(edge)
            params: dict[str, Any] = {"src": endpoint_text(src), "dst": endpoint_text(dst), "protocol": protocol}
            if port is not None:
                params["port"] = port
            openness = "none" if edge is None else "all" if edge["all"] else "some"
            text = ports_text(edge)
            title = f"{node_label(src)} → {node_label(dst)}: {text}"
            cells.append(Cell(text, openness, f"{flow}?{urlencode(params)}", title))
        rows.append((node_label(src), f"{graph_url}?{urlencode({'sel': src['id']})}", cells))
    columns = [(node_label(n), f"{graph_url}?{urlencode({'sel': n['id']})}") for n in targets]
    return Matrix(rows, columns, cut)


def matrix_groups(graph: dict[str, Any]) -> list[str]:
    return sorted({_group(n) for n in graph["nodes"]}, key=lambda g: (g == OUTSIDE, g))
