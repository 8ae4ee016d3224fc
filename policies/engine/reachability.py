"""The reachability graph: which pod, workload or external block can reach which, on what.

The graph is computed from endpoint groups (``groups.py``): each direction is a set of rows of
masks over port atoms that groups share (``matrices.py``), and a group pair's connections are the
source's egress AND the destination's ingress. Pod, workload and namespace views reduce these to
level edges by classes of sources and destinations, a chunk of source nodes at a time, never
holding the group x peer matrix (``aggregate.py``), and turn masks into ConnectionSets only for
the edges they output (once per distinct mask). A pod-to-pod connection needs the source's egress
and the destination's ingress (SEMANTICS.md 2); a pod to itself is always allowed and not listed.
networkx is imported only by ``Graph.to_networkx``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from policies.engine.admin.matrices import k8s_matrices
from policies.engine.admin.tables import domain_name_policies
from policies.engine.aggregate import level_rows
from policies.engine.cluster import IPBlock, Labels, Pod, Source
from policies.engine.connections import ConnectionSet
from policies.engine.evaluate import choose_evaluator
from policies.engine.groups import NONE, GroupIndex
from policies.engine.keys import policy_key
from policies.engine.matrices import DEFAULT_BLOCK_BYTES, DirectionMatrices, from_tables
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

if TYPE_CHECKING:
    import networkx as nx

    from policies.engine.calico.model import CalicoPolicy

Progress = Callable[[float, str], None]
LEVELS = ("pod", "workload", "namespace")


@dataclass
class GraphNode:
    id: str
    kind: str  # "pod", "workload", "namespace" or "external"
    namespace: str = ""
    name: str = ""
    labels: Labels = field(default_factory=Labels)
    cidrs: tuple[str, ...] = ()
    workload: str = ""
    pods: tuple[str, ...] = ()
    host_network: bool = False
    isolated_ingress: bool = False
    isolated_egress: bool = False
    ingress_policies: tuple[str, ...] = ()
    egress_policies: tuple[str, ...] = ()
    groups: tuple[int, ...] = ()  # group indices (blocks are peer keys) behind the node
    unsupported: tuple[str, ...] = ()  # out-of-scope policies that could change its verdicts
    approximate: tuple[str, ...] = ()  # why its edges are approximate (Calico rules explain reads exactly)
    admin_policies: tuple[str, ...] = ()  # admin network policies whose subject selects it
    workloads: int = 0  # a namespace node: how many workloads it holds

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "labels": self.labels.to_dict(),
            "cidrs": list(self.cidrs),
        }
        if self.kind != "external":
            data["workload"] = self.workload
            data["host_network"] = self.host_network
            data["isolated"] = {"ingress": self.isolated_ingress, "egress": self.isolated_egress}
            data["policies"] = {"ingress": list(self.ingress_policies), "egress": list(self.egress_policies)}
            if self.kind == "workload":
                data["pods"] = list(self.pods)
            if self.kind == "namespace":
                data["pod_count"] = len(self.pods)
                data["workload_count"] = self.workloads
            if self.unsupported:
                data["unsupported"] = list(self.unsupported)
            if self.approximate:
                data["approximate"] = list(self.approximate)
            if self.admin_policies:
                data["admin_policies"] = list(self.admin_policies)
        return data


class GraphEdge(NamedTuple):
    """One edge (a tuple: millions are made at pod level, and a frozen dataclass cost ten times
    as much to create)."""

    source: str
    target: str
    conn: ConnectionSet

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, **self.conn.to_dict()}


class Graph:
    """A computed reachability graph at pod, workload or namespace level."""

    def __init__(self, cluster: Cluster, index: GroupIndex, evaluator: str, level: str,
                 directions: DirectionMatrices, block_bytes: int = DEFAULT_BLOCK_BYTES,
                 namespaces: tuple[str, ...] = ()) -> None:
        self.cluster = cluster
        self.index = index
        self.evaluator = evaluator
        self.level = level
        # A namespace view: these namespaces' pods or workloads, every other namespace one node
        self.namespaces = namespaces
        self._dm = directions
        self._block_bytes = block_bytes
        self._edge_count: int | None = None  # known once the edges have been computed
        self.nodes: list[GraphNode] = []
        # peer key -> level node ids, each with the nodes of its pods in that group
        self._members: dict[int, dict[str, set[str]]] = defaultdict(dict)
        self._build_nodes()
        self._by_id = {n.id: n for n in self.nodes}
        self._edges: dict[str, dict[str, ConnectionSet]] | None = None

    # -- nodes ---------------------------------------------------------------------------------
    def _build_nodes(self) -> None:
        by_id: dict[str, GraphNode] = {}
        workloads: dict[str, set[str]] = defaultdict(set)
        approx = _approximations(self.cluster, self.index) if self.evaluator == "calico" else {}
        # A workload's node shows its first pod's labels (by name), whatever the grouping.
        for pod in sorted(self.cluster.pods, key=lambda p: (p.namespace, p.name)):
            pod_level = self._level_of(pod)
            level_id = _level_id(pod, pod_level)
            if level_id not in by_id:
                by_id[level_id] = _new_node(pod, pod_level, self.cluster)
        dm = self._dm
        for g in self.index.groups:
            eg_isolated, in_isolated = dm.egress_isolated[g.index], dm.ingress_isolated[g.index]
            eg_policies, in_policies = set(dm.egress_policies[g.index]), set(dm.ingress_policies[g.index])
            for pod in g.pods:
                pod_level = self._level_of(pod)
                node_id = _level_id(pod, pod_level)
                node = by_id[node_id]
                node.pods = (*node.pods, pod.id)
                if pod_level == "namespace":
                    workloads[node_id].add(pod.workload_id)
                if g.index not in node.groups:
                    node.groups = (*node.groups, g.index)
                node.isolated_ingress |= in_isolated
                node.isolated_egress |= eg_isolated
                if not in_policies <= set(node.ingress_policies):
                    node.ingress_policies = tuple(sorted(set(node.ingress_policies) | in_policies))
                if not eg_policies <= set(node.egress_policies):
                    node.egress_policies = tuple(sorted(set(node.egress_policies) | eg_policies))
                if g.index in approx:
                    node.approximate = tuple(sorted(set(node.approximate) | approx[g.index]))
                if self.cluster.admin_policies:
                    admin = [a.describe() for a in self.cluster.admin_policies_selecting(pod)]
                    node.admin_policies = tuple(sorted(set(node.admin_policies) | set(admin)))
                    unknown = domain_name_policies(self.index, g)
                    if unknown:
                        node.unsupported = tuple(sorted(set(node.unsupported) | set(unknown)))
                self._add_member(g.index, node_id, pod.node)
        for node in by_id.values():
            node.pods = tuple(sorted(node.pods))  # by name, whatever the grouping
        for node_id, names in workloads.items():
            by_id[node_id].workloads = len(names)
        if self.level == "namespace" or self.namespaces:
            for ns in self.cluster.namespaces:
                if ns.defined and ns.name not in by_id and ns.name not in self.namespaces:
                    # a namespace without pods is still a node
                    by_id[ns.name] = GraphNode(ns.name, "namespace", ns.name, ns.name, ns.labels)
        for b in self.index.blocks:
            key = self.index.block_key(b.index)
            by_id[b.id] = GraphNode(b.id, "external", cidrs=tuple(b.cidrs()), groups=(key,))
            self._members[key][b.id] = set()
        self.nodes = sorted(by_id.values(), key=lambda n: (n.kind == "external", n.id))

    def _level_of(self, pod: Pod) -> str:
        """The level ``pod`` is drawn at: a namespace view draws the other namespaces whole."""
        if self.namespaces and pod.namespace not in self.namespaces:
            return "namespace"
        return self.level

    def inside(self, node_id: str) -> bool:
        """Whether a node is drawn at the graph's level (always, except in a namespace view, where
        the other namespaces' nodes and the external blocks are outer ends)."""
        node = self._by_id[node_id]
        return not self.namespaces or (node.kind in ("pod", "workload") and node.namespace in self.namespaces)

    def _add_member(self, key: int, node_id: str, pod_node: str) -> None:
        nodes = self._members[key].setdefault(node_id, set())
        if pod_node:
            nodes.add(pod_node)

    def node(self, node_id: str) -> GraphNode:
        return self._by_id[node_id]

    # -- edges ---------------------------------------------------------------------------------
    def _level_rows(self) -> Iterator[tuple[str, list[str], list[int]]]:
        """Per source node, in id order: its targets in id order and the masks of those edges,
        reduced from the direction rows a chunk of source nodes at a time (``aggregate``)."""
        order = sorted(self._by_id)
        pos = {node_id: i for i, node_id in enumerate(order)}
        members = {key: {pos[u]: nodes for u, nodes in by_node.items()} for key, by_node in self._members.items()}
        inside = [self.inside(node_id) for node_id in order]
        edges = 0
        for u, targets, masks in level_rows(self.index, self._dm, self.evaluator, self.level, members,
                                            self._block_bytes):
            if not inside[u]:  # a namespace view: an edge between two outer ends is left out
                kept = [k for k, v in enumerate(targets) if inside[v]]
                if not kept:
                    continue
                if len(kept) < len(targets):
                    targets, masks = [targets[k] for k in kept], [masks[k] for k in kept]
            edges += len(targets)
            yield order[u], [order[v] for v in targets], masks
        self._edge_count = edges

    def adjacency(self) -> dict[str, dict[str, ConnectionSet]]:
        """Level edges, source -> target -> connections, held (computed once): for small graphs,
        point questions (``connection``, ``allows``) and tests. The product's paths stream
        ``edges()`` instead and never hold a level graph."""
        if self._edges is None:
            conn = self._dm.atoms.conn
            self._edges = {u: {v: conn(m) for v, m in zip(targets, masks, strict=True)}
                           for u, targets, masks in self._level_rows()}
        return self._edges

    def edges(self) -> Iterator[GraphEdge]:
        """Every edge, sorted by source then target (streamed: nothing level-sized is kept)."""
        if self._edges is not None:
            for u, row in self._edges.items():
                for v, c in row.items():
                    yield GraphEdge(u, v, c)
            return
        conn = self._dm.atoms.conn
        new = tuple.__new__  # GraphEdge's own constructor, without the keyword handling (hot loop)
        for u, targets, masks in self._level_rows():
            for v, m in zip(targets, masks, strict=True):
                yield new(GraphEdge, (u, v, conn(m)))

    def connection(self, source: str, target: str) -> ConnectionSet:
        return self.adjacency().get(source, {}).get(target, NONE)

    def allows(self, source: str, target: str, protocol: str = "TCP", port: int | None = None) -> bool:
        if source == target:
            return True
        return self.connection(source, target).allows(protocol, port)

    # -- summaries -------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Counts; the edges are counted from a pass already made (``edges``), else computed."""
        if self._edge_count is None:
            if self._edges is not None:
                self._edge_count = sum(len(r) for r in self._edges.values())
            else:
                for _ in self._level_rows():  # counted in one streamed pass, nothing kept
                    pass
        return {
            "pods": len(self.cluster.pods),
            "groups": self.index.n_groups,
            "blocks": len(self.index.blocks),
            "nodes": len(self.nodes),
            "edges": self._edge_count or 0,
        }

    def summary(self) -> dict[str, Any]:
        """Counts and the headline answers of the overview page (one pass over the edges; the
        level graph is not kept for it)."""
        external = {n.id for n in self.nodes if n.kind == "external"}
        public = {b for b in external if _is_public(self._by_id[b])}
        exposed: set[str] = set()
        internet: set[str] = set()
        edges = 0
        rows: Iterable[tuple[str, Iterable[str]]] = (
            self._edges.items() if self._edges is not None  # computed already
            else ((u, targets) for u, targets, _ in self._level_rows()))  # else streamed, not kept
        for u, targets in rows:
            targets = list(targets)
            edges += len(targets)
            if u in external:
                exposed.update(targets)
            elif any(v in public for v in targets):
                internet.add(u)
        endpoints = [n for n in self.nodes if n.kind != "external"]
        return {
            "counts": {
                "namespaces": len({p.namespace for p in self.cluster.pods} | {
                    ns.name for ns in self.cluster.namespaces if ns.defined}),
                "workloads": len({p.workload_id for p in self.cluster.pods}),
                "pods": sum(1 for p in self.cluster.pods if not p.from_template),
                "templates": sum(1 for p in self.cluster.pods if p.from_template),
                "policies": len(self.cluster.policies) + (
                    len(self.cluster.calico.policies) if self.cluster.calico is not None else 0),
                "nodes": len(self.nodes),
                "edges": edges,
                "groups": self.index.n_groups,
                "external_blocks": len(external),
            },
            "exposed_to_external": sorted(exposed),
            "ingress_not_isolated": sorted(n.id for n in endpoints if not n.isolated_ingress
                                           and not n.host_network),
            "egress_not_isolated": sorted(n.id for n in endpoints if not n.isolated_egress
                                          and not n.host_network),
            "reach_internet": sorted(internet),
            "unsupported": sorted(n.id for n in endpoints if n.unsupported),
            "approximate": sorted(n.id for n in endpoints if n.approximate),
        }

    def policy_entries(self) -> list[dict[str, Any]]:
        """The policies of the input with a digest of their content, so a diff can tell which changed."""
        return policy_entries(self.cluster)

    def header(self, policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What the JSON form says before its nodes and edges; ``policies``: the
        ``policy_entries()`` when they are at hand (the same at every level)."""
        head: dict[str, Any] = {"evaluator": self.evaluator, "level": self.level}
        if self.namespaces:
            head["namespaces"] = list(self.namespaces)
        head["policies"] = self.policy_entries() if policies is None else policies
        return head

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.header(),
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges()],
        }

    def to_networkx(self) -> nx.DiGraph:
        """The level graph as a networkx DiGraph (for small graphs and further analysis)."""
        import networkx as nx  # imported when a graph is built: `netpol --help` and lint start faster

        out = nx.DiGraph()
        for n in self.nodes:
            out.add_node(n.id, **n.to_dict())
        for e in self.edges():
            out.add_edge(e.source, e.target, conn=e.conn)
        return out


_PRIVATE = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "0.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128")]


def _is_public(node: GraphNode) -> bool:
    """Whether an external block holds addresses outside the private and special ranges."""
    for cidr in node.cidrs:
        net = ipaddress.ip_network(cidr)
        if not any(net.version == p.version and net.subnet_of(p) for p in _PRIVATE):  # type: ignore[arg-type]
            return True
    return False


def policy_entries(cluster: Cluster) -> list[dict[str, Any]]:
    objs: list[Any] = list(cluster.policies)
    if cluster.calico is not None:
        objs.extend(getattr(cluster.calico, "policies", ()))
    entries = []
    for obj in objs:
        kind = getattr(obj, "kind", "NetworkPolicy")
        namespace = getattr(obj, "namespace", "")
        name = obj.name
        src: Source = obj.source
        content = json.dumps(_content(obj), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(content.encode()).hexdigest()[:16]
        kind = kind if kind != "NetworkPolicy" or not hasattr(obj, "tier") else "CalicoNetworkPolicy"
        entries.append({
            "id": f"{namespace}/{name}" if namespace else name,
            "key": policy_key(kind, namespace, name),
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "digest": digest,
            "source": src.to_dict(),
        })
    for admin in cluster.admin_policies:
        content = json.dumps(_content(admin), sort_keys=True, separators=(",", ":"))
        entries.append({
            "id": admin.id,  # Kind/name: cluster-wide, and the kinds may share names
            "key": policy_key(admin.kind, "", admin.name),
            "kind": admin.kind,
            "namespace": "",
            "name": admin.name,
            "digest": hashlib.sha256(content.encode()).hexdigest()[:16],
            "source": admin.source.to_dict(),
        })
    return sorted(entries, key=lambda e: (e["kind"], e["id"]))


def _approximations(cluster: Cluster, index: GroupIndex) -> dict[int, set[str]]:
    """Groups whose Calico edges are approximate: a policy that applies to them has a rule the
    graph cannot read exactly (http/services, ICMP type or code, source ports; see calico/tables.py)."""
    if cluster.calico is None:
        return {}
    from policies.engine.calico.index import calico_index

    cindex = calico_index(cluster)
    inexact: list[tuple[CalicoPolicy, str, str]] = []
    for policy in cluster.calico.policies:
        for direction in ("Ingress", "Egress"):
            for i, rule in enumerate(policy.rules(direction)):
                why = ", ".join(rule.unsupported) if rule.unsupported else ""
                if rule.icmp_type is not None or rule.not_icmp_type is not None:
                    why = why or "ICMP type"
                if rule.source.ports or rule.source.not_ports:
                    why = why or "source ports"
                if why:
                    inexact.append((policy, direction, f"{policy.id} {direction.lower()} rule {i}: {why}"))
    out: dict[int, set[str]] = {}
    for g in index.groups:
        if g.host_network:
            continue
        for policy, direction, text in inexact:
            if cindex.applies(policy, g.namespace, g.labels, g.service_account, direction):
                out.setdefault(g.index, set()).add(text)
    return out


# File positions, and names carried for explanations only (so adding one changes no digest).
_POSITION_FIELDS = frozenset({"line", "end_line", "source", "column", "admin_name"})


def _content(value: Any) -> Any:
    """The value as plain JSON data with every file position left out, so moving a policy in its file
    is no change; sets are sorted, so the digest is the same in every process (no hash order)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _content(getattr(value, f.name)) for f in fields(value) if f.name not in _POSITION_FIELDS}
    if isinstance(value, tuple | list):
        return [_content(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted((_content(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {str(k): _content(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _level_id(pod: Pod, level: str) -> str:
    if level == "namespace":
        return pod.namespace
    if level == "workload" or pod.from_template:
        return pod.workload_id
    return pod.id


def _new_node(pod: Pod, level: str, cluster: Cluster) -> GraphNode:
    if level == "namespace":
        return GraphNode(pod.namespace, "namespace", pod.namespace, pod.namespace,
                         cluster.namespace(pod.namespace).labels)
    if level == "workload" or pod.from_template:
        kind = "workload" if level == "workload" else "pod"
        wl_name = pod.workload.name if pod.workload else pod.name
        return GraphNode(pod.workload_id, kind, pod.namespace, wl_name, pod.labels, workload=pod.workload_id,
                         host_network=pod.host_network)
    return GraphNode(pod.id, "pod", pod.namespace, pod.name, pod.labels, workload=pod.workload_id,
                     host_network=pod.host_network)


def build_graph(
    cluster: Cluster,
    *,
    level: str = "pod",
    evaluator: str = "auto",
    settings: Settings = DEFAULT_SETTINGS,
    progress: Progress | None = None,
    extra_address_sets: Iterable[IPBlock] = (),
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    namespaces: Iterable[str] = (),
) -> Graph:
    """Compute the reachability graph of ``cluster`` at pod, workload or namespace level.
    ``block_bytes`` bounds each block of rows the evaluation holds at once (a smaller value
    means more, smaller blocks: the same graph, less memory, more passes).

    ``namespaces`` makes it a namespace view (pod or workload level): the pods or workloads of
    those namespaces with every edge in and out, each other namespace one node (its edges the
    union over its pods, as at namespace level), the external blocks as they are; an edge between
    two of those outer ends is left out."""
    from policies.engine.errors import PolicyError

    if level not in LEVELS:
        raise PolicyError(f"unknown level {level!r}; use pod, workload or namespace")
    focus = tuple(sorted(set(namespaces)))
    if focus:
        if level == "namespace":
            raise PolicyError("a namespace view is drawn at pod or workload level, not namespace level")
        present = {p.namespace for p in cluster.pods}
        missing = [name for name in focus if name not in present]
        if missing:
            raise PolicyError(f"namespace {missing[0]!r} has no pods in the input")
    chosen = choose_evaluator(cluster, evaluator)
    report = progress or (lambda fraction, message: None)
    report(0.0, "grouping endpoints")
    index = GroupIndex(cluster, settings, extra_address_sets)
    report(0.1, f"{index.n_groups} endpoint groups, {len(index.blocks)} external blocks")
    if chosen == "calico":
        from policies.engine.calico.tables import calico_tables

        egress, ingress = calico_tables(index, lambda f: report(0.1 + 0.4 * f, "evaluating policies"))
        directions = from_tables(index, egress, ingress)
    else:
        directions = k8s_matrices(index, block_bytes)
    graph = Graph(cluster, index, chosen, level, directions, block_bytes, focus)
    report(1.0, "done")
    return graph
