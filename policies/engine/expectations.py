"""Expectations: what a team declares must (``allow``) or must not (``deny``) be reachable, checked
against a pod-level reachability graph.

An endpoint selects pods the way a NetworkPolicy peer does, with Kubernetes label selectors
(https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors):
``namespace`` (a name), ``namespaceSelector`` and ``podSelector`` are ANDed; ``workload``
(``Kind/name``) needs ``namespace``; ``cidr`` selects the external address blocks that overlap it
and cannot be combined with the others. An empty endpoint selects every pod. A pod is never its
own peer: traffic of a pod to itself is not checked.

- ``expect: allow``: every (source, target) pair allows every listed port; with no ports, every
  pair allows some traffic. No matching pair at all is a failure (the selectors match nothing).
- ``expect: deny``: no pair allows any listed port; with no ports, no pair allows anything.

The check reads the graph's edges once per source, so its cost follows the number of matched
sources and their edges, plus the matched pairs for ``allow``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from policies.engine.cluster import Source
from policies.engine.connections import PORT_PROTOCOLS, ConnectionSet, canonical_protocol
from policies.engine.documents import RawObject
from policies.engine.errors import PolicyError
from policies.engine.explain import Explainer
from policies.engine.k8s.parse import parse_label_selector
from policies.engine.k8s.selector import LabelSelector
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings
from policies.engine.yamlload import at, check_size, get_list, get_mapping, get_str

__all__ = [
    "CheckReport",
    "Endpoint",
    "Expectation",
    "ExpectationResult",
    "PortRange",
    "check_cluster",
    "check_expectations",
    "compare_reports",
    "flow_explainer",
    "parse_expectation",
    "parse_expectations",
]

MAX_VIOLATIONS = 50  # listed per expectation; the count covers them all
ExplainFlow = Callable[[str, str, str, int | None], str]
Expect = Literal["allow", "deny"]
_ENDPOINT_FIELDS = ("namespace", "namespaceSelector", "podSelector", "workload", "cidr")
_EXPECTATION_FIELDS = ("name", "from", "to", "ports", "expect", "description")


@dataclass(frozen=True)
class PortRange:
    protocol: str
    low: int
    high: int

    def __str__(self) -> str:
        ports = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return f"{self.protocol}/{ports}"

    def connections(self) -> ConnectionSet:
        return ConnectionSet.protocol(self.protocol, self.low, self.high)


@dataclass(frozen=True)
class Endpoint:
    namespace: str = ""
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None
    workload: str = ""  # Kind/name
    cidr: str = ""

    def matches_pod(self, node: Mapping[str, Any], namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
        if self.cidr or node.get("kind") == "external":
            return False
        ns = str(node.get("namespace", ""))
        if self.namespace and ns != self.namespace:
            return False
        if self.namespace_selector is not None and not self.namespace_selector.matches(
            namespace_labels.get(ns, {"kubernetes.io/metadata.name": ns})
        ):
            return False
        if self.pod_selector is not None and not self.pod_selector.matches(node.get("labels") or {}):
            return False
        return not self.workload or node.get("workload") == f"{ns}/{self.workload}"

    def matches_block(self, node: Mapping[str, Any]) -> bool:
        if not self.cidr or node.get("kind") != "external":
            return False
        wanted = ipaddress.ip_network(self.cidr, strict=False)
        return any(_overlaps(block, wanted) for block in node.get("cidrs") or ())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.namespace:
            data["namespace"] = self.namespace
        if self.namespace_selector is not None:
            data["namespaceSelector"] = str(self.namespace_selector)
        if self.pod_selector is not None:
            data["podSelector"] = str(self.pod_selector)
        if self.workload:
            data["workload"] = self.workload
        if self.cidr:
            data["cidr"] = self.cidr
        return data


@dataclass(frozen=True)
class Expectation:
    name: str
    source: Endpoint
    target: Endpoint
    expect: Expect
    ports: tuple[PortRange, ...] = ()
    origin: Source = field(default_factory=Source)

    def required(self) -> ConnectionSet:
        """The connections the expectation is about (everything when no ports are listed)."""
        if not self.ports:
            return ConnectionSet.all()
        conn = ConnectionSet.none()
        for port in self.ports:
            conn = conn | port.connections()
        return conn


@dataclass(frozen=True)
class ExpectationResult:
    expectation: Expectation
    ok: bool
    violations: tuple[dict[str, Any], ...]
    violation_count: int
    sources: int
    targets: int
    problem: str = ""  # why it could not hold, when that is not a flow (nothing matched)

    def to_dict(self) -> dict[str, Any]:
        e = self.expectation
        data: dict[str, Any] = {
            "name": e.name,
            "expect": e.expect,
            "ok": self.ok,
            "from": e.source.to_dict(),
            "to": e.target.to_dict(),
            "ports": [str(p) for p in e.ports],
            "matched": {"from": self.sources, "to": self.targets},
            "violations": list(self.violations),
            "violation_count": self.violation_count,
        }
        if self.problem:
            data["problem"] = self.problem
        return data


@dataclass(frozen=True)
class CheckReport:
    results: tuple[ExpectationResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "expectations": [r.to_dict() for r in self.results]}

    def to_text(self) -> str:
        return _report_text(self.to_dict(), markdown=False)

    def to_markdown(self) -> str:
        return _report_text(self.to_dict(), markdown=True)


# --- parsing -------------------------------------------------------------------------------------


def parse_expectations(
    text: str, *, file: str = "<expectations>", max_bytes: int = 5 * 1024 * 1024
) -> list[Expectation]:
    """Read an expectations file (``expectations: [...]``); PolicyError names file, line and field."""
    check_size(file, text, max_bytes)
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                          line=mark.line + 1 if mark else None) from exc
    lines: dict[str, int] = {}
    if node is not None:
        _record_lines(node, "", lines)
    obj = RawObject("Expectations", "", data if isinstance(data, dict) else {}, Source(file, 0, 1), lines, text)
    if not isinstance(data, dict) or "expectations" not in data:
        raise obj.error('the file must be a mapping with a list "expectations"')
    entries = get_list(obj, data["expectations"], "expectations")
    expectations = [_expectation(obj, entry, at("expectations", i)) for i, entry in enumerate(entries)]
    seen: dict[str, str] = {}
    for i, e in enumerate(expectations):
        path = at(at("expectations", i), "name")
        if e.name in seen:
            raise obj.error(f"the name {e.name!r} is used twice (first at {seen[e.name]})", path)
        seen[e.name] = f"line {obj.line_of(path)}"
    return expectations


def parse_expectation(data: Any, *, where: str = "expectation") -> Expectation:
    """One expectation given as data (the API's form of a file entry)."""
    obj = RawObject("Expectation", "", {"expectation": data}, Source(where, 0, 0), {}, "")
    return _expectation(obj, data, "")


def _record_lines(node: Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = str(key.value)
            lines[at(path, name)] = key.start_mark.line + 1
            _record_lines(value, at(path, name), lines)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, at(path, i), lines)


def _expectation(obj: RawObject, value: Any, path: str) -> Expectation:
    data = get_mapping(obj, value, path)
    for key in data:
        if key not in _EXPECTATION_FIELDS:
            raise obj.error(f"unknown field; use {', '.join(_EXPECTATION_FIELDS)}", at(path, key))
    name = get_str(obj, data.get("name"), at(path, "name")).strip()
    if not name:
        raise obj.error("name is required", at(path, "name"))
    expect = get_str(obj, data.get("expect"), at(path, "expect"))
    if expect not in ("allow", "deny"):
        raise obj.error(f"expect must be allow or deny, not {expect!r}", at(path, "expect"))
    for side in ("from", "to"):
        if side not in data:
            raise obj.error(f"{side} is required (an endpoint)", at(path, side))
    ports_path = at(path, "ports")
    ports = tuple(_port(obj, p, at(ports_path, i)) for i, p in enumerate(get_list(obj, data.get("ports"), ports_path)))
    return Expectation(
        name=name,
        source=_endpoint(obj, data["from"], at(path, "from")),
        target=_endpoint(obj, data["to"], at(path, "to")),
        expect="allow" if expect == "allow" else "deny",
        ports=ports,
        origin=Source(obj.source.file, 0, obj.line_of(path)),
    )


def _endpoint(obj: RawObject, value: Any, path: str) -> Endpoint:
    data = get_mapping(obj, value, path)
    for key in data:
        if key not in _ENDPOINT_FIELDS:
            raise obj.error(f"unknown field; use {', '.join(_ENDPOINT_FIELDS)}", at(path, key))
    namespace = get_str(obj, data.get("namespace"), at(path, "namespace"))
    workload = get_str(obj, data.get("workload"), at(path, "workload"))
    if workload:
        kind, _, name = workload.partition("/")
        if not kind or not name or "/" in name:
            raise obj.error(f"workload must be Kind/name (e.g. Deployment/web), not {workload!r}", at(path, "workload"))
        if not namespace:
            raise obj.error("a workload needs its namespace", at(path, "namespace"))
    cidr = get_str(obj, data.get("cidr"), at(path, "cidr"))
    if cidr:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise obj.error(f"not a CIDR: {cidr!r}", at(path, "cidr")) from exc
        others = [k for k in data if k != "cidr"]
        if others:
            raise obj.error(f"cidr selects addresses outside the cluster and cannot be combined with {others[0]}",
                            at(path, others[0]))
    ns_sel = data.get("namespaceSelector")
    pod_sel = data.get("podSelector")
    return Endpoint(
        namespace=namespace,
        namespace_selector=None if ns_sel is None else parse_label_selector(obj, ns_sel, at(path, "namespaceSelector")),
        pod_selector=None if pod_sel is None else parse_label_selector(obj, pod_sel, at(path, "podSelector")),
        workload=workload,
        cidr=cidr,
    )


def _port(obj: RawObject, value: Any, path: str) -> PortRange:
    text = get_str(obj, value, path)
    protocol, slash, ports = text.partition("/")
    problem = f"a port is PROTOCOL/PORT or PROTOCOL/LOW-HIGH (e.g. TCP/8080), not {text!r}"
    if not slash:
        raise obj.error(problem, path)
    try:
        protocol = canonical_protocol(protocol)
    except ValueError as exc:
        raise obj.error(str(exc), path) from exc
    if protocol not in PORT_PROTOCOLS:
        raise obj.error(f"{protocol} has no ports: use TCP, UDP or SCTP", path)
    low_text, dash, high_text = ports.partition("-")
    if not low_text.isdigit() or (dash and not high_text.isdigit()):
        raise obj.error(problem, path)
    low, high = int(low_text), int(high_text) if dash else int(low_text)
    if not 1 <= low <= high <= 65535:
        raise obj.error(f"ports must be 1-65535 with LOW <= HIGH, not {ports}", path)
    return PortRange(protocol, low, high)


# --- checking ------------------------------------------------------------------------------------


def check_expectations(
    expectations: Iterable[Expectation],
    graph: Mapping[str, Any],
    namespace_labels: Mapping[str, Mapping[str, str]],
    *,
    explain: ExplainFlow | None = None,
    explain_limit: int = 5,
) -> CheckReport:
    """Check each expectation against ``graph`` (the pod-level graph in its JSON form).

    ``explain(source, target, protocol, port)`` gives the explanation of a violating flow; the
    first ``explain_limit`` violations of each expectation get one."""
    nodes = graph.get("nodes", [])
    adjacency: dict[str, dict[str, dict[str, Any]]] = {}
    for edge in graph.get("edges", []):
        adjacency.setdefault(edge["source"], {})[edge["target"]] = edge
    results = []
    for e in expectations:
        sources = [n for n in nodes if _matches(e.source, n, namespace_labels)]
        targets = [n for n in nodes if _matches(e.target, n, namespace_labels)]
        results.append(_check_one(e, sources, targets, adjacency, explain, explain_limit))
    return CheckReport(tuple(results))


def check_cluster(
    expectations: Iterable[Expectation],
    cluster: Cluster,
    pod_graph: Mapping[str, Any],
    *,
    evaluator: str = "auto",
    settings: Settings = DEFAULT_SETTINGS,
) -> CheckReport:
    """``check_expectations`` over ``cluster`` and its pod graph, violations explained."""
    return check_expectations(expectations, pod_graph, cluster.namespace_labels(),
                              explain=flow_explainer(cluster, evaluator=evaluator, settings=settings))


def flow_explainer(cluster: Cluster, *, evaluator: str = "auto", settings: Settings = DEFAULT_SETTINGS) -> ExplainFlow:
    """The summary of ``explain`` for a violating flow (an external block stands for its first address).
    The cluster's endpoint index is built at the first violation and serves the others."""
    explainers: list[Explainer] = []

    def why(source: str, target: str, protocol: str, port: int | None) -> str:
        if protocol == "any":
            protocol, port = "TCP", None
        if not explainers:
            explainers.append(Explainer(cluster, settings))
        try:
            summary: str = explainers[0].explain(_explainable(source), _explainable(target), protocol=protocol,
                                                 port=port, evaluator=evaluator).summary
        except PolicyError as exc:
            return f"(no explanation: {exc})"
        return summary

    return why


def _explainable(node_id: str) -> str:
    """An id that explain accepts: pods and workloads as they are, an external block by its first address."""
    if "/" in node_id and not node_id[0].isdigit() and ":" not in node_id:
        return node_id
    first = node_id.split(",")[0].split("-")[0]
    return first.split("/")[0]


def _matches(endpoint: Endpoint, node: Mapping[str, Any], namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
    return endpoint.matches_block(node) if endpoint.cidr else endpoint.matches_pod(node, namespace_labels)


def _check_one(
    e: Expectation,
    sources: list[Mapping[str, Any]],
    targets: list[Mapping[str, Any]],
    adjacency: Mapping[str, Mapping[str, Mapping[str, Any]]],
    explain: ExplainFlow | None,
    explain_limit: int,
) -> ExpectationResult:
    required = e.required()
    target_ids = [str(t["id"]) for t in targets]
    target_set = set(target_ids)
    violations: list[dict[str, Any]] = []
    count = 0
    pairs = 0
    for s in sources:
        sid = str(s["id"])
        row = adjacency.get(sid, {})
        if e.expect == "allow":
            for tid in target_ids:
                if tid == sid:
                    continue
                pairs += 1
                edge = row.get(tid)
                conn = ConnectionSet.from_dict(dict(edge)) if edge else ConnectionSet.none()
                missing = required - conn if e.ports else (required if conn.is_empty else ConnectionSet.none())
                if missing:
                    count += 1
                    if len(violations) < MAX_VIOLATIONS:
                        violations.append(_violation(sid, tid, missing, conn, "missing"))
        else:
            for tid, edge in sorted(row.items()):
                if tid == sid or tid not in target_set:
                    continue
                allowed = ConnectionSet.from_dict(dict(edge)) & required
                if allowed:
                    count += 1
                    if len(violations) < MAX_VIOLATIONS:
                        violations.append(_violation(sid, tid, allowed, allowed, "allowed"))
    if explain is not None:
        for v in violations[:explain_limit]:
            v["explanation"] = explain(v["source"], v["target"], v["protocol"], v["port"])
    problem = ""
    if e.expect == "allow" and pairs == 0:
        side = "from" if not sources else "to" if not targets else "from and to"
        problem = f"nothing to allow: no endpoint matches {side}" if side != "from and to" else \
            "nothing to allow: the only match is one pod on both sides"
    return ExpectationResult(e, ok=count == 0 and not problem, violations=tuple(violations), violation_count=count,
                             sources=len(sources), targets=len(targets), problem=problem)


def _violation(source: str, target: str, offending: ConnectionSet, conn: ConnectionSet, key: str) -> dict[str, Any]:
    """The flow that breaks the expectation: the first offending protocol and port, with all of them."""
    protocol, port = _first(offending)
    return {"source": source, "target": target, "protocol": protocol, "port": port,
            key: str(offending), "allows": str(conn)}


def _first(conn: ConnectionSet) -> tuple[str, int | None]:
    for entry in conn.port_entries():
        proto = str(entry["protocol"])
        if proto == "*":
            return "any", None
        return proto, entry["from"]
    return "any", None


def _overlaps(block: str, wanted: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether a block ("10.0.0.0/8" or a range "a-b") shares an address with ``wanted``."""
    low_text, dash, high_text = block.partition("-")
    try:
        if dash:
            low, high = ipaddress.ip_address(low_text), ipaddress.ip_address(high_text)
        else:
            net = ipaddress.ip_network(block, strict=False)
            low, high = net.network_address, net.broadcast_address
    except ValueError:
        return False
    if low.version != wanted.version:
        return False
    return int(low) <= int(wanted.broadcast_address) and int(wanted.network_address) <= int(high)


# --- comparing and printing ----------------------------------------------------------------------


def compare_reports(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[str]]:
    """Which expectations a change breaks (held before, fails after), fixes, and leaves failing.
    Both arguments are ``CheckReport.to_dict()`` forms; an expectation new in ``after`` counts as
    held before."""
    old = {r["name"]: r["ok"] for r in before.get("expectations", [])}
    broken, fixed, failing = [], [], []
    for r in after.get("expectations", []):
        was_ok = old.get(r["name"], True)
        if was_ok and not r["ok"]:
            broken.append(r["name"])
        elif not was_ok and r["ok"]:
            fixed.append(r["name"])
        elif not r["ok"]:
            failing.append(r["name"])
    return {"broken": broken, "fixed": fixed, "still_failing": failing}


def _report_text(report: Mapping[str, Any], *, markdown: bool) -> str:
    lines: list[str] = []
    total = len(report["expectations"])
    failed = sum(1 for r in report["expectations"] if not r["ok"])
    if markdown:
        lines.append(f"### Expectations: {'all hold' if not failed else f'{failed} of {total} fail'}\n")
        lines.append("| | Expectation | Expect | Violations |")
        lines.append("|---|---|---|---|")
    for r in report["expectations"]:
        mark = "ok" if r["ok"] else "FAIL"
        count = r["violation_count"]
        detail = r.get("problem") or (f"{count} violating flow{'' if count == 1 else 's'}" if not r["ok"] else "")
        if markdown:
            lines.append(f"| {'✅' if r['ok'] else '❌'} | {r['name']} | {r['expect']} | {detail} |")
        else:
            lines.append(f"{mark:4} {r['name']} (expect {r['expect']}){': ' + detail if detail else ''}")
        for v in r["violations"][:10]:
            port = f"/{v['port']}" if v["port"] is not None else ""
            what = f"{v['source']} -> {v['target']} {v['protocol']}{port}"
            why = f": {v['explanation']}" if v.get("explanation") else ""
            lines.append(f"|  | {what}{why} | | |" if markdown else f"       {what}{why}")
    if not markdown:
        lines.append(f"{total - failed} of {total} expectations hold")
    return "\n".join(lines) + "\n"
