"""Writers for the reachability graph: json, txt, csv, dot and md (DESIGN.md section 3).

Every writer streams: it writes node by node and edge by edge, in sorted order, so the same input
gives byte-identical output and a large graph is never held as one string.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TextIO

from policies.engine.addresses import union_text
from policies.engine.connections import ConnectionSet
from policies.engine.errors import PolicyError
from policies.engine.reachability import Graph

FORMATS = ("json", "txt", "csv", "dot", "md")


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def write_json(graph: Graph, out: TextIO) -> None:
    out.write("{\n")
    header = graph.header()
    entries = header.pop("policies")
    for name, value in header.items():  # evaluator, level, and a namespace view's namespaces
        out.write(f"  {_dumps(name)}: {_dumps(value)},\n")
    out.write('  "policies": [')
    for i, entry in enumerate(entries):
        out.write(("\n    " if i == 0 else ",\n    ") + _dumps(entry))
    out.write("\n  ],\n" if entries else "],\n")
    out.write('  "nodes": [')
    for i, node in enumerate(graph.nodes):
        out.write(("\n    " if i == 0 else ",\n    ") + _dumps(node.to_dict()))
    out.write("\n  ],\n" if graph.nodes else "],\n")
    out.write('  "edges": [')
    first = True
    # An edge is {"all", "ports", "source", "target", "text"} with sorted keys: the connection's
    # parts are written once per distinct connection set (a graph shares few), then reused.
    parts: dict[ConnectionSet, tuple[str, str]] = {}
    quoted: dict[str, str] = {}  # node ids as JSON strings (each id is written many times)
    for edge in graph.edges():
        found = parts.get(edge.conn)
        if found is None:
            data = edge.conn.to_dict()
            found = parts[edge.conn] = (
                f'{{"all": {_dumps(data["all"])}, "ports": {_dumps(data["ports"])}, "source": ',
                f', "text": {_dumps(data["text"])}}}')
        head, tail = found
        source = quoted.get(edge.source)
        if source is None:
            source = quoted[edge.source] = _dumps(edge.source)
        target = quoted.get(edge.target)
        if target is None:
            target = quoted[edge.target] = _dumps(edge.target)
        out.write(("\n    " if first else ",\n    ") + head + source + ', "target": ' + target + tail)
        first = False
    out.write("\n  ]\n" if not first else "]\n")
    out.write("}\n")


def _text_lines(graph: Graph) -> Iterator[tuple[str, str, str]]:
    """(source, target, connections) for the text formats. Edges between cluster endpoints stream
    in order; the edges of one endpoint to (or from) external blocks with the same connections are
    joined into one line whose block is their union, then follow, sorted."""
    cidrs = {node.id: node.cidrs for node in graph.nodes if node.kind == "external"}
    # (endpoint, "in" | "out", connections) -> the external blocks' cidrs
    external: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for edge in graph.edges():
        if edge.source in cidrs:
            external[(edge.target, "in", str(edge.conn))].extend(cidrs[edge.source])
        elif edge.target in cidrs:
            external[(edge.source, "out", str(edge.conn))].extend(cidrs[edge.target])
        else:
            yield edge.source, edge.target, str(edge.conn)
    lines = []
    for (endpoint, direction, conn), blocks in external.items():
        for block in union_text(blocks):
            lines.append((block, endpoint, conn) if direction == "in" else (endpoint, block, conn))
    yield from sorted(lines)


def write_txt(graph: Graph, out: TextIO) -> None:
    for source, target, conn in _text_lines(graph):
        out.write(f"{source} => {target} : {conn}\n")


def write_csv(graph: Graph, out: TextIO) -> None:
    import csv  # only this format uses it

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["source", "target", "all", "protocol", "from", "to"])
    for edge in graph.edges():
        if edge.conn.is_all:
            writer.writerow([edge.source, edge.target, "true", "", "", ""])
            continue
        for entry in edge.conn.port_entries():
            writer.writerow([edge.source, edge.target, "false", entry["protocol"],
                             "" if entry["from"] is None else entry["from"],
                             "" if entry["to"] is None else entry["to"]])


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_dot(graph: Graph, out: TextIO) -> None:
    out.write("digraph netpol {\n  rankdir=LR;\n  node [shape=box, fontname=Helvetica];\n")
    by_ns: dict[str, list[str]] = defaultdict(list)
    external: list[str] = []
    for node in graph.nodes:
        if node.kind == "external":
            external.append(node.id)
        else:
            by_ns[node.namespace].append(node.id)
    for i, ns in enumerate(sorted(by_ns)):
        out.write(f"  subgraph cluster_{i} {{\n    label={_dot_id('namespace ' + ns)};\n")
        for node_id in by_ns[ns]:
            out.write(f"    {_dot_id(node_id)};\n")
        out.write("  }\n")
    if external:
        out.write(f"  subgraph cluster_external {{\n    label={_dot_id('outside cluster')};\n")
        for node_id in external:
            out.write(f"    {_dot_id(node_id)} [shape=ellipse];\n")
        out.write("  }\n")
    for edge in graph.edges():
        style = "bold" if edge.conn.is_all else "dashed"
        out.write(f"  {_dot_id(edge.source)} -> {_dot_id(edge.target)} "
                  f"[label={_dot_id(str(edge.conn))}, style={style}];\n")
    out.write("}\n")


def write_md(graph: Graph, out: TextIO) -> None:
    out.write("| source | destination | allowed |\n|---|---|---|\n")
    for source, target, conn in _text_lines(graph):
        out.write(f"| {source} | {target} | {conn} |\n")


_WRITERS: dict[str, Callable[[Graph, TextIO], None]] = {
    "json": write_json, "txt": write_txt, "csv": write_csv, "dot": write_dot, "md": write_md,
}


def render(graph: Graph, fmt: str = "json", out: TextIO | None = None) -> str:
    """Write ``graph`` in ``fmt`` to ``out``; without ``out``, return the text."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise PolicyError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if out is not None:
        writer(graph, out)
        return ""
    buffer = io.StringIO()
    writer(graph, buffer)
    return buffer.getvalue()
