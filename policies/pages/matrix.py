"""The matrix page: namespace by namespace, and workload by workload within a pair of namespaces."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote_plus, urlencode

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from policies.models import Snapshot
from policies.pages.words import OUTSIDE, endpoint_text, first_port, natural_key, node_label, plural, ports_text

MATRIX_MAX_SIDE = 60  # a workload matrix larger than this many rows or columns is cut, and says so


@dataclass
class Cell:
    text: str
    openness: str  # "all", "some", "none" or "self"
    url: str = ""
    title: str = ""

    @property
    def html(self) -> SafeString:
        """The cell's <td>, written here: 10,000 cells at 100 namespaces took the template seconds."""
        kind = f"open-{self.openness}" + (" self" if self.openness == "self" else "")
        text, title = escape(self.text), escape(self.title)
        inner = (f'<a href="{escape(self.url)}" title="{title}">{text}</a>' if self.url
                 else f'<span class="cell" title="{title}">{text}</span>')
        return mark_safe(f'<td class="{kind}" data-openness="{escape(self.openness)}">{inner}</td>')  # noqa: S308


@dataclass
class Matrix:
    rows: list[tuple[str, str, list[Cell]]]  # (label, link, cells)
    columns: list[tuple[str, str]]  # (label, link)
    cut: int = 0  # how many rows or columns were left out


def _group(node: dict[str, Any]) -> str:
    return node.get("namespace") or OUTSIDE


def _group_order(group: str) -> tuple[bool, tuple[tuple[int, int | str], ...]]:
    return (group == OUTSIDE, natural_key(group))


def _page_group(stored: str) -> str:
    return stored or OUTSIDE


def namespace_matrix(snapshot: Snapshot, counts: dict[str, Any]) -> Matrix:
    """Namespace by namespace: how many workload pairs may talk, and how openly (from the
    analysis' stored counts, services.namespace_counts)."""
    members = {_page_group(g): n for g, n in counts["members"].items()}
    allowed: dict[tuple[str, str], int] = defaultdict(int)
    open_all: dict[tuple[str, str], int] = defaultdict(int)
    for source, target, n, everything in counts["pairs"]:
        allowed[(_page_group(source), _page_group(target))] = n
        open_all[(_page_group(source), _page_group(target))] = everything
    groups = sorted(members, key=_group_order)
    base = reverse("policies:matrix", args=[snapshot.id])
    quoted = {g: quote_plus(g) for g in groups}  # 10,000 cells at 100 namespaces: urlencode each took long
    rows = []
    for src in groups:
        cells = []
        for dst in groups:
            if src == dst == OUTSIDE:
                cells.append(Cell("not governed", "self", title="traffic outside the cluster is not governed"))
                continue
            pairs = members[src] * members[dst] - (members[src] if src == dst else 0)
            n = allowed[(src, dst)]
            if n == 0:
                openness, how = "none", "nothing allowed"
            elif n == pairs and open_all[(src, dst)] == n:
                openness, how = "all", "all traffic"
            else:
                openness, how = "some", "all traffic" if open_all[(src, dst)] == n else "some ports"
            text = f"{n} of {plural(pairs, 'pair')} · {how}" if pairs else "no pairs"
            url = f"{base}?from={quoted[src]}&to={quoted[dst]}"
            cells.append(Cell(text, openness, url, f"{src} → {dst}: {text}"))
        rows.append((src, f"{base}?{urlencode({'from': src, 'to': src})}", cells))
    columns = [(g, f"{base}?{urlencode({'from': g, 'to': g})}") for g in groups]
    return Matrix(rows, columns)


def stored_group(group: str) -> str:
    """The group as services name it ("" for the address blocks outside the cluster)."""
    return "" if group == OUTSIDE else group


def workload_matrix(snapshot: Snapshot, graph: dict[str, Any], source_ns: str, target_ns: str) -> Matrix:
    """Workload by workload, from the workloads of one namespace to those of another (or the same)."""
    sources = sorted((n for n in graph["nodes"] if _group(n) == source_ns), key=lambda n: natural_key(n["id"]))
    targets = sorted((n for n in graph["nodes"] if _group(n) == target_ns), key=lambda n: natural_key(n["id"]))
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
        rows.append((node_label(src), _graph_link(graph_url, src), cells))
    columns = [(node_label(n), _graph_link(graph_url, n)) for n in targets]
    return Matrix(rows, columns, cut)


def _graph_link(graph_url: str, node: dict[str, Any]) -> str:
    """The graph with the node selected and its namespace open (a large graph starts collapsed)."""
    params = {"open": node["namespace"], "sel": node["id"]} if node.get("namespace") else {"sel": node["id"]}
    return f"{graph_url}?{urlencode(params)}"


def matrix_groups(counts: dict[str, Any]) -> list[str]:
    return sorted((_page_group(g) for g in counts["members"]), key=_group_order)
