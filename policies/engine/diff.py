"""Compare two reachability graphs by stable node identity: flows added, removed and changed.

Each changed flow names the policies responsible, by their keys (keys.py): the policies that were
added, removed or edited between the versions and that apply to the source's egress or the
destination's ingress. When no policy changed there, the flow changed because of the endpoints (new
pods, new labels) and the policies that apply to its ends are listed instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import Any

from policies.engine.collector import collector_paused
from policies.engine.connections import ConnectionSet
from policies.engine.groups import address_sets
from policies.engine.keys import policy_key
from policies.engine.matrices import DEFAULT_BLOCK_BYTES
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings
from policies.engine.reachability import Graph, GraphEdge, build_graph, policy_entries


@dataclass(frozen=True)
class FlowChange:
    source: str
    target: str
    before: ConnectionSet
    after: ConnectionSet
    policies: tuple[str, ...] = ()
    cause: str = "policy"  # "policy" or "endpoints"

    @property
    def opened(self) -> ConnectionSet:
        return self.after - self.before

    @property
    def closed(self) -> ConnectionSet:
        return self.before - self.after


@dataclass(frozen=True)
class Diff:
    added: tuple[FlowChange, ...] = ()
    removed: tuple[FlowChange, ...] = ()
    changed: tuple[FlowChange, ...] = ()
    nodes_added: tuple[str, ...] = ()
    nodes_removed: tuple[str, ...] = ()
    policies_changed: tuple[dict[str, Any], ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        def edge(c: FlowChange, conn: ConnectionSet) -> dict[str, Any]:
            return {"source": c.source, "target": c.target, **conn.to_dict(), "policies": list(c.policies),
                    "cause": c.cause}

        return {
            "added": [edge(c, c.after) for c in self.added],
            "removed": [edge(c, c.before) for c in self.removed],
            "changed": [
                {"source": c.source, "target": c.target, "before": c.before.to_dict(),
                 "after": c.after.to_dict(), "opened": c.opened.to_dict(), "closed": c.closed.to_dict(),
                 "policies": list(c.policies), "cause": c.cause}
                for c in self.changed
            ],
            "nodes_added": list(self.nodes_added),
            "nodes_removed": list(self.nodes_removed),
            "policies_changed": list(self.policies_changed),
        }

    def to_text(self) -> str:
        lines: list[str] = []
        for c in self.added:
            lines.append(f"+ {c.source} => {c.target} : {c.after}{_why(c)}")
        for c in self.removed:
            lines.append(f"- {c.source} => {c.target} : {c.before}{_why(c)}")
        for c in self.changed:
            lines.append(f"~ {c.source} => {c.target} : {c.before} -> {c.after}{_why(c)}")
        if not lines:
            lines.append("no change in reachability")
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        out = ["| change | source | destination | before | after | policies |", "|---|---|---|---|---|---|"]
        for tag, items in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            for c in items:
                out.append(f"| {tag} | {c.source} | {c.target} | {c.before} | {c.after} | "
                           f"{', '.join(c.policies)} |")
        if len(out) == 2:
            return "No change in reachability.\n"
        return "\n".join(out) + "\n"


def _why(c: FlowChange) -> str:
    if not c.policies:
        return ""
    label = "policies" if c.cause == "policy" else "endpoints changed; policies on its ends"
    return f"  ({label}: {', '.join(c.policies)})"


def _key_of(kind: str, policy_id: str) -> str:
    """The key of a policy given by kind and engine id ("ns/name", the name of a global policy,
    "Kind/name" of an admin network policy)."""
    if policy_id.startswith(f"{kind}/"):
        return policy_key(kind, "", policy_id[len(kind) + 1:])
    namespace, _, name = policy_id.rpartition("/")
    return policy_key(kind, namespace, name)


_ReadSets = dict[tuple[bool, str], ConnectionSet]  # connection sets read, by the JSON they were read from


def _edges(graph: Mapping[str, Any], read: _ReadSets) -> dict[tuple[str, str], ConnectionSet]:
    """Each edge's connections, read once per distinct set (a graph has a few hundred distinct sets
    over tens of thousands of edges); ``read`` holds the sets read so far, shared by both versions
    so that equal edges hold the same object."""
    out: dict[tuple[str, str], ConnectionSet] = {}
    for e in graph.get("edges", []):
        key = (bool(e.get("all")), repr(e.get("ports")))  # JSON data: equal reprs are equal values
        conn = read.get(key)
        if conn is None:
            conn = read[key] = ConnectionSet.from_dict(e)
        out[(e["source"], e["target"])] = conn
    return out


def _node_policies(graph: Mapping[str, Any]) -> dict[str, tuple[set[str], set[str]]]:
    """Each node's policies by key. A graph written before nodes carried keys names them by id:
    such an id is read as the keys of the graph's policies with that id."""
    entries = graph.get("policies", [])
    keys = {p.get("key") or _key_of(p["kind"], p["id"]) for p in entries}
    by_id: dict[str, set[str]] = {}
    for p in entries:
        by_id.setdefault(p["id"], set()).add(p.get("key") or _key_of(p["kind"], p["id"]))

    def as_keys(names: list[str]) -> set[str]:
        return {key for name in names for key in ({name} if name in keys else by_id.get(name, {name}))}

    out: dict[str, tuple[set[str], set[str]]] = {}
    for n in graph.get("nodes", []):
        pols = n.get("policies") or {}
        out[n["id"]] = (as_keys(pols.get("ingress", [])), as_keys(pols.get("egress", [])))
    return out


@dataclass(frozen=True)
class _Side:
    """One version, as the diff reads it besides its edges: policy digests, each node's policies."""

    policies: dict[tuple[str, str], str]
    node_policies: dict[str, tuple[set[str], set[str]]]
    nodes: set[str]


def _side_of_dict(graph: Mapping[str, Any]) -> _Side:
    return _Side({(p["kind"], p["id"]): p["digest"] for p in graph.get("policies", [])},
                 _node_policies(graph), {n["id"] for n in graph.get("nodes", [])})


def _side_of_graph(graph: Graph, digests: dict[tuple[str, str], str]) -> _Side:
    return _Side(digests,
                 {n.id: (set(n.ingress_policies), set(n.egress_policies)) for n in graph.nodes
                  if n.kind != "external"} | {n.id: (set(), set()) for n in graph.nodes if n.kind == "external"},
                 {n.id for n in graph.nodes})


_Change = tuple[str, str, ConnectionSet, ConnectionSet]  # source, target, before, after


def _differ(before: ConnectionSet, after: ConnectionSet) -> bool:
    return before is not after and before != after  # equal sets are mostly the same object


def _dict_changes(old: Mapping[tuple[str, str], ConnectionSet],
                  new: Mapping[tuple[str, str], ConnectionSet]) -> list[_Change]:
    """The flows whose connections differ between two versions' edges, sorted by source, then target."""
    none = ConnectionSet.none()
    keys = [key for key, before in old.items() if _differ(before, new.get(key, none))]
    keys.extend(key for key, after in new.items() if key not in old and _differ(none, after))
    return [(*key, old.get(key, none), new.get(key, none)) for key in sorted(keys)]


def _in_order(edges: Iterable[GraphEdge], version: str) -> Iterator[GraphEdge]:
    """The edges, checked to come sorted by source, then target, each (source, target) once:
    ``Graph.edges`` sorts node ids as Python strings, and the merge in ``_stream_changes`` relies
    on it (a stream out of order would make it report equal flows as removed and added)."""
    source = target = ""
    first = True
    for e in edges:
        if not first and (e.source < source or (e.source == source and e.target <= target)):
            raise RuntimeError(f"the {version} graph's edges are out of order: "
                               f"{e.source} -> {e.target} after {source} -> {target}")
        source, target, first = e.source, e.target, False
        yield e


def _stream_changes(old: Iterable[GraphEdge], new: Iterable[GraphEdge]) -> Iterator[_Change]:
    """The flows whose connections differ, sorted by source, then target: a merge of the two
    versions' edge streams (each sorted so), which holds neither version's edges."""
    none = ConnectionSet.none()
    olds, news = _in_order(old, "old"), _in_order(new, "new")
    a, b = next(olds, None), next(news, None)
    while a is not None and b is not None:
        if a.source == b.source:
            if a.target == b.target:
                before, after = a.conn, b.conn
                if before is not after and before != after:  # _differ, inlined: most flows are here
                    yield a.source, a.target, before, after
                a, b = next(olds, None), next(news, None)
                continue
            old_first = a.target < b.target
        else:
            old_first = a.source < b.source
        if old_first:  # a flow only the old version has
            if _differ(a.conn, none):
                yield a.source, a.target, a.conn, none
            a = next(olds, None)
        else:  # a flow only the new version has
            if _differ(none, b.conn):
                yield b.source, b.target, none, b.conn
            b = next(news, None)
    if a is not None:  # the rest of the old version: flows removed
        for e in chain([a], olds):
            if _differ(e.conn, none):
                yield e.source, e.target, e.conn, none
    if b is not None:  # the rest of the new version: flows added
        for e in chain([b], news):
            if _differ(none, e.conn):
                yield e.source, e.target, none, e.conn

_UNCHANGED = "unchanged"  # the digest both versions get for a NetworkPolicy equal in both


def _policy_digests(old: Cluster, new: Cluster) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """(kind, id) -> digest of each version's policies, as ``policy_entries`` gives them. A
    NetworkPolicy equal in both versions (the same content at the same lines) is not digested:
    hashing every policy's content was a fifth of a 10,000-pod diff."""
    before = {(p.namespace, p.name): p for p in old.policies}
    same = set()
    for p in new.policies:
        b = before.get((p.namespace, p.name))
        if b is not None and (b is p or b == p):
            same.add((p.namespace, p.name))
    digests = []
    for cluster in (old, new):
        rest = replace(cluster, policies=tuple(p for p in cluster.policies if (p.namespace, p.name) not in same))
        found = {(e["kind"], e["id"]): e["digest"] for e in policy_entries(rest)}
        found.update({("NetworkPolicy", f"{ns}/{name}"): _UNCHANGED for ns, name in same})
        digests.append(found)
    return digests[0], digests[1]


def diff_dicts(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """Diff two graphs in their JSON form (as ``Graph.to_dict`` writes them)."""
    read: _ReadSets = {}
    changes = _dict_changes(_edges(old, read), _edges(new, read))
    return _diff(_side_of_dict(old), _side_of_dict(new), changes)


def _diff(old: _Side, new: _Side, changes: Iterable[_Change]) -> Diff:
    """The diff of two versions given the flows whose connections differ (sorted by source, then
    target)."""
    old_pols, new_pols = old.policies, new.policies
    changed_pols: list[dict[str, Any]] = []
    for key in sorted(set(old_pols) | set(new_pols)):
        if old_pols.get(key) != new_pols.get(key):
            state = "added" if key not in old_pols else "removed" if key not in new_pols else "modified"
            changed_pols.append({"kind": key[0], "id": key[1], "key": _key_of(*key), "change": state})
    changed_keys = {p["key"] for p in changed_pols}
    old_np, new_np = old.node_policies, new.node_policies

    def responsible(src: str, dst: str) -> tuple[tuple[str, ...], str]:
        ends: set[str] = set()
        for table in (old_np, new_np):
            if src in table:
                ends |= table[src][1]
            if dst in table:
                ends |= table[dst][0]
        hit = ends & changed_keys
        if hit:
            return tuple(sorted(hit)), "policy"
        return tuple(sorted(ends)), "endpoints"

    added, removed, changed = [], [], []
    for source, target, before, after in changes:
        pols, cause = responsible(source, target)
        change = FlowChange(source, target, before, after, pols, cause)
        if before.is_empty:
            added.append(change)
        elif after.is_empty:
            removed.append(change)
        else:
            changed.append(change)
    return Diff(tuple(added), tuple(removed), tuple(changed), tuple(sorted(new.nodes - old.nodes)),
                tuple(sorted(old.nodes - new.nodes)), tuple(changed_pols))


def diff(old: Graph, new: Graph) -> Diff:
    """Diff two computed graphs (build them with each other's address sets for equal blocks).
    The same as ``diff_dicts`` of their JSON forms, without writing and reading every edge: the
    two sorted edge streams are merged, and only the flows that change are kept."""
    before, after = _policy_digests(old.cluster, new.cluster)
    return _diff(_side_of_graph(old, before), _side_of_graph(new, after),
                 _stream_changes(old.edges(), new.edges()))


def diff_clusters(
    old: Cluster,
    new: Cluster,
    *,
    level: str = "pod",
    evaluator: str = "auto",
    settings: Settings = DEFAULT_SETTINGS,
) -> Diff:
    """Diff two versions of a cluster. Both graphs are built over the common refinement of their
    address blocks, so that external flows compare one to one. ``diff`` computes the two graphs'
    edges side by side, each holding a block of rows while the other does: each gets a quarter of
    the default block budget. (With half each, the two blocks took more than one graph's block and
    both level graphs did before; with a quarter, the dense 10,000-pod benchmark's workload diff
    peaks at 676 MiB instead of 902 MiB, in less CPU time: docs/benchmarks.md.)"""
    budget = DEFAULT_BLOCK_BYTES // 4
    with collector_paused():
        before = build_graph(old, level=level, evaluator=evaluator, settings=settings,
                             extra_address_sets=address_sets(new), block_bytes=budget)
        after = build_graph(new, level=level, evaluator=evaluator, settings=settings,
                            extra_address_sets=address_sets(old), block_bytes=budget)
        return diff(before, after)
