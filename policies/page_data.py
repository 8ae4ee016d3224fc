"""What the pages show, computed from a snapshot: counts, headline lists, the matrix, the trace
beside its YAML, a policy's picture. The pages' companion to ``services.py``: it reads the ORM and
calls ``services`` (and, for the few page-only questions, the engine), and returns plain data
that the templates render.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import shlex
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from policies import engine, services
from policies.models import POLICY_KINDS, Analysis, Resource, Snapshot

OUTSIDE = "outside cluster"
L4_PROTOCOLS = ("TCP", "UDP", "SCTP")
SEVERITY_ORDER = ("error", "warning", "info")
MATRIX_MAX_SIDE = 60  # a workload matrix larger than this many rows or columns is cut, and says so
POLICY_FLOW_CHECKS = 300  # explanations computed at most for one policy page


# --- words ------------------------------------------------------------------------------------


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 policy', '3 policies'."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def ports_text(edge: dict[str, Any] | None) -> str:
    """The engine's one wording of an edge's connections ('TCP 80,443; UDP 53', 'all but TCP 22')."""
    if not edge:
        return "No Connections"
    if "text" in edge:
        return str(edge["text"])
    return str(engine.ConnectionSet.from_dict(edge))  # analyses stored before edges carried their text


def first_port(edge: dict[str, Any] | None) -> tuple[str, int | None]:
    """The protocol and port to ask about first for an edge (a common one when all are open)."""
    for entry in (edge or {}).get("ports", []):
        if entry["protocol"] in L4_PROTOCOLS and entry.get("from") is not None:
            return entry["protocol"], int(entry["from"])
    if edge:
        return "TCP", 80
    return "TCP", None


def endpoint_text(node: dict[str, Any]) -> str:
    """What the engine accepts as a flow's end: the node id, or one address of a block."""
    if node["kind"] != "external":
        return str(node["id"])
    cidr = str((node.get("cidrs") or [node["id"].split(",")[0]])[0])
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return cidr.split("-")[0]
    if network.num_addresses > 2:
        return str(network.network_address + 1)
    return str(network.network_address)


def node_label(node: dict[str, Any]) -> str:
    if node["kind"] == "external":
        return ", ".join(node.get("cidrs") or []) or node["id"]
    return f"{node['namespace']}/{node['name']}" if node.get("namespace") else node["name"]


# --- snapshots and analyses ---------------------------------------------------------------------


# An analysis' result holds both graphs (megabytes at 2,000 pods): the pages read analyses
# without them (Analysis.objects.without_graphs()) and pick out what they show.


def latest_analysis(snapshot: Snapshot) -> Analysis | None:
    return snapshot.analyses.without_graphs().order_by("-created", "-id").first()


def pod_nodes(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The pod graph's nodes without its edges (the edges are the bulk of it); [] when the pod
    graph was too large to store. AnalysisNotReady when no analysis has finished."""
    return stored_nodes(snapshot, "pod")


def stored_nodes(snapshot: Snapshot, level: str) -> list[dict[str, Any]]:
    """The stored graph's nodes of one level without its edges; [] when that graph was too large to
    store. AnalysisNotReady when no analysis has finished."""
    if level not in services.GRAPH_LEVELS:
        raise ValueError(f"unknown graph level {level!r}")
    analysis = services.finished_analysis(snapshot=snapshot)
    path = f"result__graph__{level}__nodes"
    nodes = Analysis.objects.filter(id=analysis.id).values_list(path, flat=True).get()
    return list(nodes or [])


def analysis_state(analysis: Analysis | None) -> dict[str, Any] | None:
    """The analysis fields that the pages' scripts need (status and where to poll)."""
    if analysis is None:
        return None
    return {
        "id": analysis.id,
        "status": analysis.status,
        "progress": analysis.progress,
        "progress_message": analysis.progress_message,
        "error": analysis.error,
        "url": reverse("api:analysis-detail", args=[analysis.id]),
    }


def resource_counts(snapshot: Snapshot) -> dict[str, int]:
    """Counts from the stored objects, for before the analysis has finished."""
    kinds: dict[str, int] = defaultdict(int)
    namespaces: set[str] = set()
    for kind, namespace in snapshot.resources.values_list("kind", "namespace"):
        kinds[kind] += 1
        if namespace:
            namespaces.add(namespace)
    workload_kinds = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
    return {
        "namespaces": len(namespaces),
        "workloads": sum(kinds[k] for k in workload_kinds),
        "pods": kinds["Pod"],
        "policies": sum(kinds[k] for k in POLICY_KINDS),
    }


def counts(snapshot: Snapshot, analysis: Analysis | None) -> dict[str, int]:
    """Namespaces, workloads, pods and policies: the engine's counts once analysed, else the stored
    objects'."""
    done = analysis is not None and analysis.status == Analysis.Status.DONE
    found = (analysis.result_part("summary") or {}).get("counts") if done and analysis else None
    if not found:
        return resource_counts(snapshot)
    result = dict(found)
    # A workload without listed pods stands for its pod template: count those as pods too.
    result["pods"] = result.get("pods", 0) + result.get("templates", 0)
    return result


def snapshot_rows(snapshots: QuerySet[Snapshot]) -> list[dict[str, Any]]:
    """The snapshot list: each snapshot with its latest analysis and counts."""
    rows = []
    newest_first = Analysis.objects.without_graphs().order_by("-created", "-id")
    for snapshot in snapshots.prefetch_related(Prefetch("analyses", queryset=newest_first)):
        analysis = next(iter(snapshot.analyses.all()), None)
        rows.append({"snapshot": snapshot, "analysis": analysis, "counts": counts(snapshot, analysis)})
    return rows


@dataclass
class Headline:
    key: str  # the graph's ?only= value
    question: str
    ids: list[str]
    nodes: list[str] = field(default_factory=list)


# (the graph's ?only= value, the engine summary's list, the question in words: one, many)
HEADLINES = (
    (
        "exposed",
        "exposed_to_external",
        "workload reachable from outside the cluster",
        "workloads reachable from outside the cluster",
    ),
    (
        "not-isolated",
        "ingress_not_isolated",
        "workload with no ingress isolation",
        "workloads with no ingress isolation",
    ),
    ("internet", "reach_internet", "workload that can reach the internet", "workloads that can reach the internet"),
)


def headline_ids(summary: dict[str, Any]) -> dict[str, list[str]]:
    """The graph's ?only= sets: key -> node ids."""
    return {key: list(summary.get(field_name, [])) for key, field_name, _, _ in HEADLINES}


def overview(snapshot: Snapshot, analysis: Analysis | None) -> dict[str, Any]:
    """The overview page: counts, headline answers, lint findings by severity."""
    done = analysis is not None and analysis.status == Analysis.Status.DONE
    graph = (analysis.graph("workload") if done and analysis else None) or {}
    result = {key: analysis.result_part(key) for key in ("summary", "lint", "notes")} if done and analysis else {}
    summary = result.get("summary") or {}
    headlines = []
    if done:
        names = {n["id"]: node_label(n) for n in graph.get("nodes", [])}
        for key, field_name, one, many in HEADLINES:
            ids = list(summary.get(field_name, []))
            headlines.append(Headline(key, one if len(ids) == 1 else many, ids, [names.get(i, i) for i in ids]))
    lint: dict[str, list[dict[str, Any]]] = {}
    for finding in result.get("lint") or []:
        lint.setdefault(finding.get("severity", "info"), []).append(finding)
    lint_groups = [(sev, lint[sev]) for sev in SEVERITY_ORDER if sev in lint]
    lint_groups += [(sev, items) for sev, items in sorted(lint.items()) if sev not in SEVERITY_ORDER]
    return {
        "counts": counts(snapshot, analysis),
        "headlines": headlines,
        "lint_groups": lint_groups,
        "lint_count": sum(len(items) for _, items in lint_groups),
        "notes": result.get("notes") or [],
        "evaluator": graph.get("evaluator", ""),
    }


# --- policies -------------------------------------------------------------------------------------


def policy_resources(snapshot: Snapshot) -> list[Resource]:
    return list(services.policies_of(snapshot_id=snapshot.id).order_by("namespace", "name", "kind", "id"))


def order_text(value: float | None) -> str:
    """A Calico order in words: 10.0 -> "10", 2.5 -> "2.5", None -> "none (last)"."""
    if value is None:
        return "none (last)"
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


@dataclass
class PolicyRow:
    """A policy of the overview's list, with where Calico runs it (None outside Calico)."""

    resource: Resource
    placement: services.Placement | None


def policy_rows(snapshot: Snapshot) -> list[PolicyRow]:
    """The snapshot's policies; when Calico evaluates it, in evaluation order (tier by tier, then by
    order), each with its tier and order."""
    rows = [PolicyRow(r, services.policy_placement(policy=r)) for r in policy_resources(snapshot)]
    if any(row.placement for row in rows):
        rows.sort(key=lambda row: services.placement_sort_key(row.placement))
    return rows


def trace_kinds(resource: Resource) -> tuple[str, ...]:
    """The kinds a trace gives this policy: "NetworkPolicy" (the Kubernetes evaluator) or
    "KubernetesNetworkPolicy" (Calico's) for a networking.k8s.io one, "CalicoNetworkPolicy" for a
    projectcalico.org one, the kind itself otherwise."""
    if resource.kind == "NetworkPolicy" and not resource.is_calico:
        return ("NetworkPolicy", "KubernetesNetworkPolicy")
    return (resource.trace_kind,)


def trace_is(trace: dict[str, Any], resource: Resource) -> bool:
    """Whether a trace (or a trace-like dict with kind, namespace and name) is about ``resource``."""
    return (
        trace.get("kind") in trace_kinds(resource)
        and (trace.get("namespace") or "") == resource.namespace
        and trace.get("name") == resource.name
    )


def policy_urls(snapshot: Snapshot) -> dict[str, str]:
    """Engine policy id ("namespace/name", or the name of a global policy) -> its policy page."""
    urls: dict[str, str] = {}
    for resource in policy_resources(snapshot):
        urls.setdefault(resource.qualified_name, reverse("policies:policy", args=[snapshot.id, resource.id]))
    return urls


def policy_details(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Engine policy id -> its page, kind and, under Calico, tier, tier order, order and evaluation
    position (the graph's side panel lists a node's policies in that order)."""
    details: dict[str, dict[str, Any]] = {}
    for resource in policy_resources(snapshot):
        if resource.is_staged or resource.qualified_name in details:
            continue
        placement = services.policy_placement(policy=resource)
        entry: dict[str, Any] = {
            "url": reverse("policies:policy", args=[snapshot.id, resource.id]),
            "kind": resource.display_kind,
        }
        if placement is not None:
            entry.update(placement.to_dict())
            entry["position"] = placement.position
            entry["order_text"] = order_text(placement.order)
        details[resource.qualified_name] = entry
    return details


def find_policy_resource(
    snapshot: Snapshot, trace: dict[str, Any], resources: list[Resource] | None = None
) -> Resource | None:
    """The stored object behind a policy of a trace, of the trace's kind ("CalicoNetworkPolicy" is a
    projectcalico.org NetworkPolicy, "KubernetesNetworkPolicy" a networking.k8s.io one): by file and
    line, else by namespace and name. A Profile has no object (Calico makes one per namespace)."""
    if trace.get("kind") == "Profile":
        return None
    if resources is None:
        resources = policy_resources(snapshot)
    kind = trace.get("kind")
    # A kind no stored policy has (an evaluator's own name for it): look among them all.
    candidates = [r for r in resources if kind in trace_kinds(r)] or resources
    source = trace.get("source") or {}
    if source.get("file") and source.get("line"):
        for resource in candidates:
            if resource.file is not None and resource.file.name == source["file"] and resource.line == source["line"]:
                return resource
    return next((r for r in candidates if trace_is(trace, r)), None) or next(
        (r for r in candidates if r.namespace == (trace.get("namespace") or "") and r.name == trace.get("name")), None
    )


@dataclass
class Listing:
    """A resource's YAML as numbered lines (file line numbers), some highlighted."""

    caption: str
    lines: list[tuple[int, str, str]]  # (number, text, css class)


def listing(resource: Resource, highlight: Iterable[tuple[int, int]] = (), bad: Iterable[int] = ()) -> Listing:
    """The object's lines numbered as in its file; ``highlight`` holds (line, end_line) spans."""
    if resource.file is not None and resource.line:
        file_lines = resource.file.text.splitlines()
        end = resource.end_line or len(file_lines)
        first = resource.line
        texts = file_lines[first - 1 : end]
        caption = f"{resource.file.name}, lines {first}-{first + len(texts) - 1}"
    else:
        texts = resource.text.splitlines()
        first = 1
        caption = str(resource)
    return Listing(caption, numbered(texts, first, highlight, bad))


def numbered(
    texts: list[str], first: int, highlight: Iterable[tuple[int, int]] = (), bad: Iterable[int] = ()
) -> list[tuple[int, str, str]]:
    marked: set[int] = set()
    for start, end in highlight:
        if start:
            marked.update(range(start, max(start, end) + 1))
    bad_lines = set(bad)
    rows = []
    for offset, text in enumerate(texts):
        number = first + offset
        css = "bad" if number in bad_lines else "hl" if number in marked else ""
        rows.append((number, text, css))
    return rows


# --- uploads ------------------------------------------------------------------------------------


def error_context(error: engine.PolicyError, files: list[tuple[str, str]], around: int = 3) -> Listing | None:
    """The lines of the uploaded file around the error's line, the bad one marked."""
    if not error.line:
        return None
    text = next((t for name, t in files if name == error.file), None)
    if text is None and len(files) == 1:
        text = files[0][1]
    if text is None:
        return None
    lines = text.splitlines()
    start = max(1, error.line - around)
    end = min(len(lines), error.line + around)
    if start > end:
        return None
    return Listing(
        f"{error.file or 'pasted text'}, lines {start}-{end}", numbered(lines[start - 1 : end], start, bad=[error.line])
    )


# --- the flow check -----------------------------------------------------------------------------


@dataclass
class PolicyStep:
    trace: dict[str, Any]
    resource: Resource | None
    listing: Listing | None
    deciding: bool
    url: str
    tier_order: float | None = None
    new_tier: bool = False  # the first step of its tier: the page opens the tier there
    end_of_tier: bool = False  # the last step of the tier whose end denied the flow

    @property
    def is_profile(self) -> bool:
        return self.trace.get("kind") == "Profile"

    @property
    def order_text(self) -> str:
        return order_text(self.trace.get("order"))

    @property
    def tier_order_text(self) -> str:
        return order_text(self.tier_order)


@dataclass
class DirectionTrace:
    key: str  # "egress" or "ingress"
    title: str
    endpoint: str
    decision: dict[str, Any]
    steps: list[PolicyStep]

    @property
    def policy_count(self) -> int:
        """The policies that select the endpoint (the namespace profile is not one)."""
        return sum(1 for step in self.steps if not step.is_profile)

    @property
    def tiered(self) -> bool:
        """Whether Calico decided: its steps are grouped by tier (or only the namespace profile spoke)."""
        return any(step.trace.get("tier") or step.is_profile for step in self.steps)


def _deciding_index(decision: dict[str, Any], traces: list[dict[str, Any]]) -> int | None:
    """The position of the deciding policy's trace. Calico stops at the deciding policy, so it is
    the last trace with that id (and tier): a Kubernetes and a Calico NetworkPolicy may share one."""
    policy, tier = decision.get("deciding_policy"), decision.get("deciding_tier")
    if not policy:
        return None
    found = None
    for i, trace in enumerate(traces):
        if trace.get("id") == policy and (not tier or trace.get("tier", "") == tier):
            found = i
    return found


def flow_trace(snapshot: Snapshot, explanation: dict[str, Any]) -> list[DirectionTrace]:
    """The two columns of the flow check: each policy with its YAML, deciding lines highlighted.
    Under Calico the policies come tier by tier, each with its tier's order and its own."""
    flow = explanation.get("flow", {})
    resources = policy_resources(snapshot)
    tier_orders: dict[str, float | None] = {}
    if any(_has_tiers(explanation.get(key)) for key in ("egress", "ingress")):
        tier_orders = {p.tier: p.tier_order for p in services.policy_placements(snapshot=snapshot).values()}
    columns = []
    for key, title, end in (
        ("egress", "Egress of the source", "source"),
        ("ingress", "Ingress of the destination", "destination"),
    ):
        decision = explanation.get(key) or {}
        traces = list(decision.get("policies", []))
        deciding_at = _deciding_index(decision, traces)
        end_tier = decision.get("deciding_tier") if decision.get("reason") == "END_OF_TIER" else None
        in_end_tier = [i for i, trace in enumerate(traces) if end_tier and trace.get("tier") == end_tier]
        last_of_end_tier = in_end_tier[-1] if in_end_tier else None
        steps = []
        previous_tier = None
        for i, trace in enumerate(traces):
            deciding = i == deciding_at
            spans = [
                (rule.get("line", 0), rule.get("end_line", 0))
                for rule in trace.get("rules", [])
                if deciding and rule.get("index") == decision.get("deciding_rule")
            ]
            resource = find_policy_resource(snapshot, trace, resources)
            tier = trace.get("tier") or ""
            steps.append(
                PolicyStep(
                    trace=trace,
                    resource=resource,
                    listing=listing(resource, highlight=spans) if resource else None,
                    deciding=deciding,
                    url=reverse("policies:policy", args=[snapshot.id, resource.id]) if resource else "",
                    tier_order=tier_orders.get(tier),
                    new_tier=bool(tier) and tier != previous_tier,
                    end_of_tier=i == last_of_end_tier,
                )
            )
            previous_tier = tier or previous_tier
        endpoint = (flow.get(end) or {}).get("id", "")
        columns.append(DirectionTrace(key, title, endpoint, decision, steps))
    return columns


def _has_tiers(decision: dict[str, Any] | None) -> bool:
    return any(trace.get("tier") for trace in (decision or {}).get("policies", []))


def explanation_warnings(explanation: dict[str, Any]) -> dict[str, Any]:
    """Whether a verdict is approximate or unsupported, and why: the warnings of both directions and
    of the policies they cite (fields the evaluator does not model, selectors that may match more)."""
    warnings: list[str] = []
    approximate = False
    for key in ("egress", "ingress"):
        decision = explanation.get(key) or {}
        approximate = approximate or bool(decision.get("approximate"))
        warnings.extend(decision.get("warnings") or [])
    return {
        "approximate": approximate,
        "unsupported": explanation.get("verdict") == "UNSUPPORTED",
        "warnings": list(dict.fromkeys(warnings)),
    }


def flow_commands(
    request_uri: str, snapshot: Snapshot, *, source: str, destination: str, port: int | None, protocol: str
) -> dict[str, str]:
    """The same question as a `netpol explain` command and as a curl call to the API."""
    files = [f.name for f in snapshot.files.all()]
    cli = ["netpol", "explain", *files, "--from", source, "--to", destination]
    params: dict[str, Any] = {"from": source, "to": destination, "protocol": protocol}
    if port is not None:
        cli += ["--port", str(port)]
        params["port"] = port
    cli += ["--protocol", protocol]
    api = f"{request_uri}?{urlencode(params)}"
    curl = f'curl -H "Authorization: Token $NETPOL_TOKEN" {shlex.quote(api)}'
    return {"cli": shlex.join(cli), "curl": curl}


def endpoint_names(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(value, description) for the flow form's autocomplete: workloads and pods."""
    names: dict[str, str] = {}
    try:
        nodes = [*services.get_graph(snapshot=snapshot, level="workload")["nodes"], *pod_nodes(snapshot)]
    except services.AnalysisNotReady:
        nodes = []
    for node in nodes:
        if node["kind"] != "external":
            names.setdefault(node["id"], f"{node['kind']} {node_label(node)}")
    for namespace, name in snapshot.resources.filter(kind="Pod").values_list("namespace", "name"):
        names.setdefault(f"{namespace}/{name}", f"pod {namespace}/{name}")
    return sorted(names.items())


# --- the matrix ---------------------------------------------------------------------------------


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


# --- one policy --------------------------------------------------------------------------------


@dataclass
class PolicyFlow:
    source: dict[str, Any]
    target: dict[str, Any]
    edge: dict[str, Any]
    direction: str  # "ingress" (the policy lets the source in) or "egress"
    rule: int | None
    url: str
    action: str = "Allow"  # the rule's action: "Allow", or "Pass" (a Calico policy passed the flow on)

    @property
    def ports(self) -> str:
        return ports_text(self.edge)

    @property
    def source_label(self) -> str:
        return node_label(self.source)

    @property
    def target_label(self) -> str:
        return node_label(self.target)


def _group_name(policy_namespace: str, node: dict[str, Any]) -> str:
    if node["kind"] == "external":
        return "outside cluster"
    if node.get("namespace") == policy_namespace:
        return "in namespace"
    return "in cluster"


def policy_flows(snapshot: Snapshot, policy: Resource, graph: dict[str, Any]) -> tuple[list[PolicyFlow], int]:
    """Edges whose explanation cites the policy as allowing them (ingress or egress), or, for a
    Calico policy, as passing them to a later tier that allowed them; and how many candidate edges
    were left unchecked (at most POLICY_FLOW_CHECKS explanations per page)."""
    policy_id = policy.qualified_name
    nodes = {node["id"]: node for node in graph["nodes"]}
    candidates = []
    for edge in graph["edges"]:
        target = nodes[edge["target"]]
        source = nodes[edge["source"]]
        if policy_id in (target.get("policies") or {}).get("ingress", []):
            candidates.append((edge, "ingress"))
        if policy_id in (source.get("policies") or {}).get("egress", []):
            candidates.append((edge, "egress"))
    flow_url = reverse("policies:flow", args=[snapshot.id])
    flows = []
    for edge, direction in candidates[:POLICY_FLOW_CHECKS]:
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        protocol, port = first_port(edge)
        try:
            explanation = services.explain_flow(
                snapshot=snapshot,
                source=endpoint_text(source),
                destination=endpoint_text(target),
                port=port,
                protocol=protocol,
            )
        except engine.PolicyError:
            continue
        decision = explanation.get(direction) or {}
        trace = next((p for p in decision.get("policies", []) if trace_is(p, policy)), None)
        if trace is None:
            continue
        # The rule that ended the policy's say: the first matched one that is not a Log rule.
        rule = next((r for r in trace.get("rules", []) if r.get("matched") and r.get("action") != "Log"), None)
        if rule is None or rule.get("action", "Allow") not in ("Allow", "Pass"):
            continue
        params: dict[str, Any] = {"src": endpoint_text(source), "dst": endpoint_text(target), "protocol": protocol}
        if port is not None:
            params["port"] = port
        flows.append(
            PolicyFlow(
                source,
                target,
                edge,
                direction,
                rule.get("index"),
                f"{flow_url}?{urlencode(params)}",
                rule.get("action", "Allow"),
            )
        )
    return flows, max(0, len(candidates) - POLICY_FLOW_CHECKS)


def policy_picture(
    policy: Resource, flows: list[PolicyFlow], selected: list[str], graph: dict[str, Any]
) -> dict[str, Any]:
    """The Cilium-editor-style picture: sources left, selected endpoints in the middle, destinations
    right, each side grouped as in namespace / in cluster / outside cluster."""
    sides: dict[str, dict[str, dict[str, set[str]]]] = {"ingress": {}, "egress": {}}
    for flow in flows:
        if flow.action != "Allow":
            continue  # passed on: a later tier allowed it, not this policy
        peer = flow.source if flow.direction == "ingress" else flow.target
        group = _group_name(policy.namespace, peer)
        sides[flow.direction].setdefault(group, {}).setdefault(node_label(peer), set()).add(flow.ports)
    order = ("in namespace", "in cluster", "outside cluster")

    def side(direction: str) -> list[tuple[str, list[tuple[str, str]]]]:
        groups = sides[direction]
        return [
            (g, [(name, "; ".join(sorted(ports))) for name, ports in sorted(groups[g].items())])
            for g in order
            if g in groups
        ]

    workloads = {n["id"]: n for n in graph["nodes"]}
    middle = sorted({node_label(workloads[w]) if w in workloads else w for w in selected})
    return {"sources": side("ingress"), "middle": middle, "destinations": side("egress")}


# Trace kinds in the pages' words.
KIND_WORDS = {"CalicoNetworkPolicy": "Calico NetworkPolicy", "KubernetesNetworkPolicy": "NetworkPolicy"}


@dataclass
class TierMember:
    """One policy of a tier, as the policy page lists them in evaluation order."""

    label: str
    kind: str
    order: str
    url: str
    current: bool


def tier_members(snapshot: Snapshot, policy: Resource, placement: services.Placement) -> list[TierMember]:
    """Every policy of ``policy``'s tier in the order Calico runs them (staged ones are not run)."""
    pages = {
        (r.trace_kind, r.namespace, r.name): reverse("policies:policy", args=[snapshot.id, r.id])
        for r in policy_resources(snapshot)
    }
    members = []
    for (kind, namespace, name), where in services.policy_placements(snapshot=snapshot).items():
        if where.tier != placement.tier:
            continue
        members.append(
            TierMember(
                f"{namespace}/{name}" if namespace else name,
                KIND_WORDS.get(kind, kind),
                order_text(where.order),
                pages.get((kind, namespace, name), ""),
                not policy.is_staged and (kind, namespace, name) == (policy.trace_kind, policy.namespace, policy.name),
            )
        )
    return members


def selected_workloads(snapshot: Snapshot, selected_pods: list[str]) -> list[str]:
    """The workloads of the selected pods (pods outside any workload stay themselves)."""
    nodes = pod_nodes(snapshot)
    if not nodes:
        return selected_pods
    workload_of = {n["id"]: n.get("workload") or n["id"] for n in nodes if n["kind"] == "pod"}
    return sorted({workload_of.get(p, p) for p in selected_pods})


def without_policy_diff(snapshot: Snapshot, policy: Resource) -> dict[str, Any] | None:
    """What deleting the policy would change: the engine's diff of the stored workload graph
    against one built without it. None when the policy cannot be found in the parsed input."""
    parsed = services.load_manifests(snapshot=snapshot)
    cluster = parsed.cluster
    file_name = policy.file.name if policy.file else ""

    def is_it(obj: Any) -> bool:
        source = obj.source
        if file_name and policy.line:
            return bool(source.file == file_name and source.line == policy.line)
        return bool(getattr(obj, "namespace", "") == policy.namespace and obj.name == policy.name)

    kept = tuple(p for p in cluster.policies if not is_it(p))
    changed = dataclasses.replace(cluster, policies=kept)
    if cluster.calico is not None:
        calico_kept = tuple(p for p in cluster.calico.policies if not is_it(p))
        changed = dataclasses.replace(changed, calico=dataclasses.replace(cluster.calico, policies=calico_kept))
        if len(kept) == len(cluster.policies) and len(calico_kept) == len(cluster.calico.policies):
            return None
    elif len(kept) == len(cluster.policies):
        return None
    before = services.get_graph(snapshot=snapshot, level="workload")
    after = engine.build_graph(changed, level="workload").to_dict()
    diff: dict[str, Any] = engine.diff_dicts(before, after).to_dict()
    return diff


# --- comparing two snapshots ------------------------------------------------------------------------

COMPARE_MAX_ROWS = 300  # rows per table of the compare page; the API's diff gives them all


def compare_choices(snapshot: Snapshot) -> tuple[list[Snapshot], int | None]:
    """The snapshots to compare ``snapshot`` with, newest first, and the one to offer first: the
    newest one made before it (the likely "before" of a change), else the newest."""
    others = list(Snapshot.objects.exclude(id=snapshot.id).order_by("-created", "-id"))
    earlier = next((s for s in others if (s.created, s.id) < (snapshot.created, snapshot.id)), None)
    chosen = earlier or (others[0] if others else None)
    return others, chosen.id if chosen else None


@dataclass
class Waiting:
    """A snapshot of a comparison whose analysis has not finished (the API answers 409)."""

    snapshot: Snapshot
    analysis: Analysis | None
    role: str  # "before" or "after"

    @property
    def state(self) -> dict[str, Any] | None:
        return analysis_state(self.analysis)

    @property
    def title(self) -> str:
        if self.analysis is None:
            return "Not analysed yet"
        if self.analysis.status == Analysis.Status.FAILED:
            return "The analysis failed"
        return "Still analysing"

    @property
    def running(self) -> bool:
        """Queued or running: it will finish by itself (a failed one, or none, will not)."""
        return self.analysis is not None and not self.analysis.is_finished


def compare_waiting(old: Snapshot, new: Snapshot) -> list[Waiting]:
    """The snapshots of the pair that have no finished analysis yet, the new one first."""
    waiting = []
    for snapshot, role in ((new, "after"), (old, "before")):
        try:
            services.finished_analysis(snapshot=snapshot)
        except services.AnalysisNotReady:
            waiting.append(Waiting(snapshot, latest_analysis(snapshot), role))
    return waiting


@dataclass
class Endpoint:
    id: str
    label: str  # short: "data/kafka", "203.0.113.0/24", "0.0.0.0-198.51.100.24 +2 more"
    outside: bool  # an address block outside the cluster
    query: str  # what the flow check accepts for it


@dataclass
class Check:
    """A link to the flow check of one snapshot, its port filled in."""

    text: str
    url: str


@dataclass
class PolicyLink:
    id: str
    url: str
    change: str  # "added", "removed", "modified", or "" (the policy did not change)


@dataclass
class FlowRow:
    source: Endpoint
    target: Endpoint
    policies: list[PolicyLink]
    cause: str  # "policy", or "endpoints" (no policy changed: new pods or labels)
    checks: list[Check]
    ports: str = ""  # an added flow: what it allows now; a removed one: what it allowed before
    before: str = ""  # a changed flow: before and after, and what opened and closed
    after: str = ""
    opened: str = ""
    closed: str = ""


CHANGE_MARKS = {"added": "+", "opened": "+", "removed": "\u2212", "closed": "\u2212", "modified": "~", "changed": "~"}


@dataclass
class PolicyChange:
    id: str
    kind: str
    change: str  # "added", "removed" or "modified"
    url: str  # its page in the snapshot where it exists (the new one unless it was removed)
    before_url: str = ""  # a modified policy: its page in the old snapshot

    @property
    def mark(self) -> str:
        return CHANGE_MARKS.get(self.change, "")


@dataclass
class FlowTable:
    """One table of the compare page, with its heading's words."""

    key: str  # "opened", "closed" or "changed": the section's id and the rows' mark
    title: str
    meaning: str
    ports_title: str  # the ports column of opened and closed flows
    empty: str
    rows: list[FlowRow]
    total: int

    @property
    def mark(self) -> str:
        return CHANGE_MARKS[self.key]

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class NodeLink:
    endpoint: Endpoint
    url: str  # the node on the graph of the snapshot that has it


@dataclass
class Comparison:
    old: Snapshot
    new: Snapshot
    level: str
    added: list[FlowRow]
    removed: list[FlowRow]
    changed: list[FlowRow]
    totals: dict[str, int]  # flows added, removed and changed before the tables were cut
    policies: list[PolicyChange]
    nodes_added: list[NodeLink]
    nodes_removed: list[NodeLink]
    api_url: str

    @property
    def flows_changed(self) -> bool:
        return any(self.totals[key] for key in ("added", "removed", "changed"))

    @property
    def tables(self) -> list[FlowTable]:
        return [
            FlowTable(
                "opened",
                "Flows opened",
                "allowed now, denied before",
                "Now allowed",
                "No flow opened: everything allowed now was allowed before.",
                self.added,
                self.totals["added"],
            ),
            FlowTable(
                "closed",
                "Flows closed",
                "allowed before, denied now",
                "Was allowed",
                "No flow closed: everything allowed before is still allowed, at least in part.",
                self.removed,
                self.totals["removed"],
            ),
            FlowTable(
                "changed",
                "Flows changed",
                "allowed before and now, on other ports",
                "",
                "No flow changed its ports.",
                self.changed,
                self.totals["changed"],
            ),
        ]

    @property
    def node_groups(self) -> list[tuple[str, str, list[NodeLink]]]:
        """("Added", mark, nodes) and ("Removed", mark, nodes), when there are any."""
        groups = [
            ("Added", CHANGE_MARKS["added"], self.nodes_added),
            ("Removed", CHANGE_MARKS["removed"], self.nodes_removed),
        ]
        return [group for group in groups if group[2]]

    @property
    def summary(self) -> str:
        """'3 flows opened, 1 closed, 2 changed; 2 policies changed' (and endpoints, when any)."""
        text = (
            f"{plural(self.totals['added'], 'flow')} opened, {self.totals['removed']} closed, "
            f"{self.totals['changed']} changed; {plural(len(self.policies), 'policy', 'policies')} changed"
        )
        if self.nodes_added or self.nodes_removed:
            text += f"; {plural(len(self.nodes_added), 'endpoint')} added, {len(self.nodes_removed)} removed"
        return text


def _node_from_id(node_id: str) -> dict[str, Any]:
    """A node for an id no stored graph describes: "ns/Kind/name" a workload, "ns/name" a pod,
    an address or range an external block."""
    first = node_id.split(",")[0].split("-")[0].split("/")[0]
    try:
        ipaddress.ip_address(first)
    except ValueError:
        parts = node_id.split("/")
        if len(parts) == 3:
            return {"id": node_id, "kind": "workload", "namespace": parts[0], "name": parts[2]}
        if len(parts) == 2:
            return {"id": node_id, "kind": "pod", "namespace": parts[0], "name": parts[1]}
        return {"id": node_id, "kind": "pod", "namespace": "", "name": node_id}
    return {"id": node_id, "kind": "external", "cidrs": [], "name": ""}


def short_label(node: dict[str, Any]) -> str:
    """A node's name for a table row (the graph's words): an external block by its one CIDR, or by
    its first range and how many more."""
    if node["kind"] != "external":
        return node_label(node)
    if node.get("name"):
        return str(node["name"])
    ranges = str(node["id"]).split(",")
    cidrs = node.get("cidrs") or []
    if len(ranges) == 1:
        return str(cidrs[0]) if len(cidrs) == 1 else ranges[0]
    return f"{ranges[0]} +{len(ranges) - 1} more"


def probe(connections: dict[str, Any] | None) -> tuple[str, int] | None:
    """A protocol and port of a connection set to ask the flow check about: the first port of the
    first TCP, UDP or SCTP entry; port 80 of a protocol open on every port; None when the set holds
    only other protocols (ICMP, protocol numbers), which the flow check form does not ask about."""
    if not connections:
        return None
    if connections.get("all"):
        return "TCP", 80
    star: dict[str, Any] | None = None
    for entry in connections.get("ports", []):
        protocol = entry["protocol"]
        if protocol in L4_PROTOCOLS:
            return protocol, int(entry["from"]) if entry.get("from") is not None else 80
        if protocol == "*":
            star = entry
    if star is not None:
        for protocol in L4_PROTOCOLS:
            if protocol not in star.get("except", []):
                return protocol, 80
    return None


def _some_text(connections: dict[str, Any] | None) -> str:
    """A connection set in words, or "" when it is empty (nothing opened, nothing closed)."""
    if not connections or not (connections.get("all") or connections.get("ports")):
        return ""
    return ports_text(connections)


PolicyPages = dict[tuple[str, str], str]


def _policy_pages(snapshot: Snapshot) -> PolicyPages:
    """(kind, engine policy id) -> the policy's page; the kind "" finds a policy by its id alone
    (a diff's flows name policies by id), preferring an enforced one to a staged one."""
    pages: PolicyPages = {}
    resources = policy_resources(snapshot)
    for resource in sorted(resources, key=lambda r: r.is_staged):
        url = reverse("policies:policy", args=[snapshot.id, resource.id])
        for kind in (*trace_kinds(resource), resource.kind, ""):
            pages.setdefault((kind, resource.qualified_name), url)
    return pages


def comparison(old: Snapshot, new: Snapshot, level: str = "workload") -> Comparison:
    """What changes from ``old`` to ``new``: the engine's diff (services.diff_snapshots) with names,
    links to the flow check of the snapshot where each flow is allowed, and to the policies' pages.
    AnalysisNotReady when either snapshot has no finished analysis."""
    diff = services.diff_snapshots(old=old, new=new, level=level)
    old_nodes = {node["id"]: node for node in stored_nodes(old, level)}
    new_nodes = {node["id"]: node for node in stored_nodes(new, level)}
    old_pages, new_pages = _policy_pages(old), _policy_pages(new)
    changes = {p["id"]: p["change"] for p in diff.get("policies_changed", [])}

    def endpoint(node_id: str, first: dict[str, Any], then: dict[str, Any]) -> Endpoint:
        node = first.get(node_id) or then.get(node_id) or _node_from_id(node_id)
        return Endpoint(node_id, short_label(node), node["kind"] == "external", endpoint_text(node))

    def check(snapshot: Snapshot, src: Endpoint, dst: Endpoint, port: tuple[str, int] | None, text: str) -> Check:
        params: dict[str, Any] = {"src": src.query, "dst": dst.query}
        words = "check"  # only protocols the form does not ask about: it opens with the two ends filled in
        if port is not None:
            params.update(port=port[1], protocol=port[0])
            words = f"{port[0]} {port[1]}"
        return Check(text.format(port=words), f"{reverse('policies:flow', args=[snapshot.id])}?{urlencode(params)}")

    def known(nodes: dict[str, Any], flow: dict[str, Any]) -> bool:
        return flow["source"] in nodes and flow["target"] in nodes

    def links(flow: dict[str, Any], first: PolicyPages, then: PolicyPages) -> list[PolicyLink]:
        return [
            PolicyLink(pid, first.get(("", pid)) or then.get(("", pid), ""), changes.get(pid, ""))
            for pid in flow.get("policies", [])
        ]

    Side = tuple[Snapshot, dict[str, Any], PolicyPages]  # a snapshot, its graph nodes, its policy pages
    after: Side = (new, new_nodes, new_pages)
    before: Side = (old, old_nodes, old_pages)

    def one_sided(key: str, allowed: Side, other: Side, here: str, there: str) -> list[FlowRow]:
        """Opened (allowed now) or closed (allowed before) flows: the check goes to the snapshot
        that allows the flow, and to the other one too when both ends exist there."""
        rows = []
        for flow in diff[key][:COMPARE_MAX_ROWS]:
            src, dst = endpoint(flow["source"], allowed[1], other[1]), endpoint(flow["target"], allowed[1], other[1])
            port = probe(flow)
            checks = [check(allowed[0], src, dst, port, "{port} " + here)]
            if known(other[1], flow):
                checks.append(check(other[0], src, dst, port, there))
            policy_links = links(flow, allowed[2], other[2])
            rows.append(FlowRow(src, dst, policy_links, flow["cause"], checks, ports_text(flow)))
        return rows

    added = one_sided("added", after, before, "now", "before")
    removed = one_sided("removed", before, after, "before", "now")
    changed = []
    for flow in diff["changed"][:COMPARE_MAX_ROWS]:
        src, dst = endpoint(flow["source"], new_nodes, old_nodes), endpoint(flow["target"], new_nodes, old_nodes)
        opened, closed = probe(flow.get("opened")), probe(flow.get("closed"))
        checks = []
        if opened:
            checks.append(check(new, src, dst, opened, "opened {port}"))
        if closed:
            checks.append(check(new, src, dst, closed, "closed {port}"))
        if not checks:
            checks.append(check(new, src, dst, probe(flow.get("after")), "{port} now"))
        changed.append(
            FlowRow(
                src,
                dst,
                links(flow, new_pages, old_pages),
                flow["cause"],
                checks,
                before=ports_text(flow.get("before")),
                after=ports_text(flow.get("after")),
                opened=_some_text(flow.get("opened")),
                closed=_some_text(flow.get("closed")),
            )
        )

    policies = []
    for change in diff.get("policies_changed", []):
        key = (change["kind"], change["id"])
        new_url = new_pages.get(key) or new_pages.get(("", change["id"]), "")
        old_url = old_pages.get(key) or old_pages.get(("", change["id"]), "")
        url = old_url if change["change"] == "removed" else new_url or old_url
        before_url = old_url if change["change"] == "modified" else ""
        kind = KIND_WORDS.get(change["kind"], change["kind"])
        policies.append(PolicyChange(change["id"], kind, change["change"], url, before_url))

    def node_links(ids: list[str], snapshot: Snapshot, nodes: dict[str, Any]) -> list[NodeLink]:
        base = reverse("policies:graph", args=[snapshot.id])
        extra = {"level": level} if level != "workload" else {}
        return [NodeLink(endpoint(i, nodes, {}), f"{base}?{urlencode({**extra, 'sel': i})}") for i in ids]

    api = reverse("api:snapshot-diff", args=[new.id])
    return Comparison(
        old=old,
        new=new,
        level=level,
        added=added,
        removed=removed,
        changed=changed,
        totals={key: len(diff[key]) for key in ("added", "removed", "changed")},
        policies=policies,
        nodes_added=node_links(list(diff.get("nodes_added", [])), new, new_nodes),
        nodes_removed=node_links(list(diff.get("nodes_removed", [])), old, old_nodes),
        api_url=f"{api}?{urlencode({'against': old.id, 'level': level})}",
    )


# --- exports ------------------------------------------------------------------------------------


def render_graph(snapshot: Snapshot, *, level: str, fmt: str) -> str:
    """The graph as the command line writes it (`netpol reach --format FMT`). JSON comes from the
    stored analysis; the other formats are rendered by the engine from the parsed manifests."""
    if fmt == "json":
        return json.dumps(services.get_graph(snapshot=snapshot, level=level), indent=2, sort_keys=True) + "\n"
    services.finished_analysis(snapshot=snapshot)  # AnalysisNotReady before doing the work
    parsed = services.load_manifests(snapshot=snapshot)
    text: str = engine.render(engine.build_graph(parsed.cluster, level=level), fmt)
    return text
