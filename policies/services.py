"""The only module that talks to both the ORM and the engine.

Views, the API and tasks call these keyword-only functions. Bad input raises
``engine.PolicyError`` (the API answers 400 with its message); asking for results of
an analysis that has not finished raises ``AnalysisNotReady`` (409).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from policies import engine, tasks
from policies.models import CALICO_API_GROUP, POLICY_KINDS, Analysis, Resource, Snapshot, SnapshotFile

logger = logging.getLogger(__name__)

GRAPH_LEVELS = ("workload", "pod")
EVALUATORS = ("auto", "k8s", "calico")


class AnalysisNotReady(Exception):
    """The snapshot has no finished analysis to answer from (yet)."""

    def __init__(self, analysis: Analysis | None) -> None:
        self.analysis = analysis
        if analysis is None:
            message = "this snapshot has not been analysed"
        elif analysis.status == Analysis.Status.FAILED:
            message = f"the analysis of this snapshot failed: {analysis.error}"
        else:
            message = f"the analysis of this snapshot is {analysis.status}"
        super().__init__(message)


# --- Uploads ----------------------------------------------------------------------------------


def decode_file(*, name: str, data: bytes) -> str:
    """The text of an uploaded file; manifests must be UTF-8 (a byte order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise engine.PolicyError(f"not UTF-8 text (byte {exc.start})", file=name) from exc


def unique_file_names(files: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The files with names made unique within the snapshot: a second "a.yaml" becomes "a (2).yaml"."""
    seen: set[str] = set()
    result = []
    for name, text in files:
        name = name.strip() or "manifests.yaml"
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            stem, dot, ext = name.rpartition(".")
            candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"
        seen.add(candidate)
        result.append((candidate, text))
    return result


def parse_manifests(*, files: Sequence[tuple[str, str]]) -> Any:
    """Parse (file name, text) pairs with the engine; raises engine.PolicyError naming file and line."""
    if not files:
        raise engine.PolicyError("no manifests: upload at least one YAML or JSON file")
    if not any(text.strip() for _, text in files):
        raise engine.PolicyError("the manifests are empty")
    return engine.parse_files(list(files))


@transaction.atomic
def create_snapshot(
    *,
    name: str,
    files: Sequence[tuple[str, str]],
    origin: str = Snapshot.Origin.UPLOAD,
    user: User | AnonymousUser | None = None,
) -> Snapshot:
    """Store the files and their objects as a new snapshot and queue its analysis.

    The manifests are parsed first: when they are invalid, PolicyError is raised and nothing is stored.
    """
    files = unique_file_names(files)
    parsed = parse_manifests(files=files)

    snapshot = Snapshot.objects.create(
        name=name.strip() or _default_name(files),
        origin=origin,
        created_by=user if isinstance(user, User) else None,
    )
    stored = {
        file_name: SnapshotFile.objects.create(snapshot=snapshot, name=file_name, text=text, position=i)
        for i, (file_name, text) in enumerate(files)
    }
    Resource.objects.bulk_create(
        Resource(
            snapshot=snapshot,
            file=stored.get(obj.source.file),
            kind=obj.kind,
            api_version=obj.api_version,
            namespace=obj.namespace or "",
            name=obj.name or "",
            document=obj.source.document,
            line=obj.source.line,
            end_line=obj.source.end_line,
            text=obj.text,
        )
        for obj in parsed.objects
    )
    start_analysis(snapshot=snapshot)
    return snapshot


def _default_name(files: Sequence[tuple[str, str]]) -> str:
    names = ", ".join(name for name, _ in files[:3])
    return names if len(files) <= 3 else f"{names} and {len(files) - 3} more"


# --- Demo data --------------------------------------------------------------------------------

DEMO_DIR = Path(__file__).resolve().parent / "demo"
# (snapshot name, folders of policies/demo/); a later folder's file replaces an earlier one of the same name.
DEMOS = [
    ("Classic: allow from the same namespace", ["same-namespace"]),
    ("Classic: allow from another namespace", ["other-namespace"]),
    ("Classic: egress to a pod and to a CIDR", ["egress"]),
    ("Classic: default deny", ["default-deny"]),
    ("Shop: 12 services in 3 namespaces", ["shop"]),
    ("Shop: proposed change to the data namespace", ["shop", "shop-change"]),
    ("Calico: security tier", ["calico-tiers"]),
]


def demo_files(folders: Sequence[str]) -> list[tuple[str, str]]:
    files: dict[str, str] = {}
    for folder in folders:
        for path in sorted((DEMO_DIR / folder).glob("*.yaml")):
            files[path.name] = path.read_text(encoding="utf-8")
    return sorted(files.items())


def load_demo(*, user: User | None = None) -> list[tuple[Snapshot, bool]]:
    """Create the demo snapshots; (snapshot, created) for each. Idempotent: a demo snapshot whose
    files are unchanged is kept, an outdated one is replaced."""
    loaded = []
    for name, folders in DEMOS:
        files = demo_files(folders)
        existing = Snapshot.objects.filter(origin=Snapshot.Origin.DEMO, name=name)
        current = [s for s in existing if [(f.name, f.text) for f in s.files.all()] == files]
        if current:
            loaded.append((current[0], False))
            continue
        with transaction.atomic():
            existing.delete()
            snapshot = create_snapshot(name=name, files=files, origin=Snapshot.Origin.DEMO, user=user)
        loaded.append((snapshot, True))
    return loaded


# --- Analyses ---------------------------------------------------------------------------------


def start_analysis(*, snapshot: Snapshot) -> Analysis:
    analysis = Analysis.objects.create(snapshot=snapshot)
    # After COMMIT, so that a worker never looks for a row it cannot see yet.
    tasks.compute_analysis.delay_on_commit(analysis.id)
    return analysis


class ProgressWriter:
    """Maps the engine's progress of one phase onto the whole run and writes it at most every
    NETPOL_PROGRESS_INTERVAL seconds, so that a fast engine does not hammer the database."""

    def __init__(self, analysis_id: int) -> None:
        self.analysis_id = analysis_id
        self.interval = settings.NETPOL_PROGRESS_INTERVAL
        self.last_write = 0.0
        self.start, self.end = 0.0, 1.0

    def phase(self, start: float, end: float, message: str) -> Callable[[float, str], None]:
        self.start, self.end = start, end
        self.write(start, message, force=True)
        return self.report

    def report(self, fraction: float, message: str = "") -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        self.write(self.start + (self.end - self.start) * fraction, message)

    def write(self, progress: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.interval:
            return
        self.last_write = now
        Analysis.objects.filter(id=self.analysis_id).update(progress=round(progress, 4), progress_message=message[:200])


def run_analysis(*, analysis_id: int) -> None:
    """Run the engine over the analysis' snapshot and store the result on the row.

    Safe to run twice: a finished analysis is left alone, and an interrupted one
    (a worker died) starts over; the engine is deterministic, so the result is the same.
    """
    try:
        analysis = Analysis.objects.select_related("snapshot").get(id=analysis_id)
    except Analysis.DoesNotExist:
        logger.warning("analysis %s no longer exists", analysis_id)  # its snapshot was deleted
        return
    if analysis.status in (Analysis.Status.DONE, Analysis.Status.FAILED):
        return  # redelivered message

    analysis.start()
    try:
        result, timings = _compute(analysis)
    except engine.PolicyError as exc:
        analysis.fail(str(exc), detail=exc.to_dict(), engine_version=engine.ENGINE_VERSION)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        analysis.fail(f"the analysis took longer than {limit} seconds", engine_version=engine.ENGINE_VERSION)
    except Exception as exc:
        analysis.fail(f"internal error: {type(exc).__name__}", engine_version=engine.ENGINE_VERSION)
        raise  # so that Celery logs the traceback
    else:
        analysis.finish(result, timings=timings, engine_version=engine.ENGINE_VERSION)


def _compute(analysis: Analysis) -> tuple[dict[str, Any], dict[str, float]]:
    progress = ProgressWriter(analysis.id)
    started = time.perf_counter()

    progress.phase(0.0, 0.05, "parsing manifests")
    files = [(f.name, f.text) for f in analysis.snapshot.files.all()]
    parsed = parse_manifests(files=files)
    parsed_at = time.perf_counter()

    report = progress.phase(0.05, 0.45, "computing the workload graph")
    workload = engine.build_graph(parsed.cluster, level="workload", progress=report)
    report = progress.phase(0.45, 0.9, "computing the pod graph")
    pod = engine.build_graph(parsed.cluster, level="pod", progress=report)
    graphs_at = time.perf_counter()

    progress.phase(0.9, 1.0, "checking the policies")
    findings = [finding.to_dict() for finding in engine.lint(parsed.cluster)]
    linted_at = time.perf_counter()

    pod_dict: dict[str, Any] | None = pod.to_dict()
    pod_size = len(json.dumps(pod_dict))
    if pod_size > settings.NETPOL_MAX_STORED_GRAPH_BYTES:
        # Too big to keep in a row: the API computes it again when asked.
        logger.info("analysis %s: pod graph of %s bytes not stored", analysis.id, pod_size)
        pod_dict = None
    result = {
        "graph": {"workload": workload.to_dict(), "pod": pod_dict},
        "pod_graph_stored": pod_dict is not None,
        "summary": workload.summary(),
        "lint": findings,
        "notes": [_plain(note) for note in parsed.notes],
    }
    timings = {
        "parse": round(parsed_at - started, 4),
        "graph": round(graphs_at - parsed_at, 4),
        "lint": round(linted_at - graphs_at, 4),
        "total": round(time.perf_counter() - started, 4),
    }
    return result, timings


def _plain(value: Any) -> Any:
    """A JSON-ready form of an engine note (a dataclass with to_dict(), or a string)."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else str(value)


# --- Answers from a snapshot ------------------------------------------------------------------

_parse_cache: OrderedDict[tuple[int, float], Any] = OrderedDict()
_parse_cache_lock = threading.Lock()
PARSE_CACHE_SIZE = 8


def load_manifests(*, snapshot: Snapshot) -> Any:
    """The snapshot's files parsed by the engine (a ParseResult). Snapshots never change,
    so a few recent parses are kept in memory for explanations and policy pages."""
    key = (snapshot.id, snapshot.created.timestamp())
    with _parse_cache_lock:
        if key in _parse_cache:
            _parse_cache.move_to_end(key)
            return _parse_cache[key]
    parsed = parse_manifests(files=[(f.name, f.text) for f in snapshot.files.all()])
    with _parse_cache_lock:
        _parse_cache[key] = parsed
        while len(_parse_cache) > PARSE_CACHE_SIZE:
            _parse_cache.popitem(last=False)
    return parsed


def finished_analysis(*, snapshot: Snapshot) -> Analysis:
    """The snapshot's most recent done analysis; AnalysisNotReady when there is none."""
    done = snapshot.analyses.without_graphs().filter(status=Analysis.Status.DONE).order_by("-created", "-id").first()
    if done is None:
        raise AnalysisNotReady(snapshot.latest_analysis())
    return done


def get_graph(*, snapshot: Snapshot, level: str = "workload") -> dict[str, Any]:
    """The snapshot's reachability graph in the DESIGN.md JSON form."""
    if level not in GRAPH_LEVELS:
        raise engine.PolicyError(f"level must be one of {', '.join(GRAPH_LEVELS)}, not {level!r}")
    analysis = finished_analysis(snapshot=snapshot)
    graph = analysis.graph(level)
    if graph is None:
        # Not stored because it was too large: compute it now.
        parsed = load_manifests(snapshot=snapshot)
        graph = engine.build_graph(parsed.cluster, level=level).to_dict()
    return graph


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
) -> dict[str, Any]:
    """Why traffic from ``source`` to ``destination`` is allowed or denied (engine.explain)."""
    parsed = load_manifests(snapshot=snapshot)
    options: dict[str, Any] = {"protocol": protocol, "evaluator": evaluator, "icmp_type": icmp_type,
                               "icmp_code": icmp_code}
    if port is not None:
        options["port"] = port
    explanation: dict[str, Any] = engine.explain(parsed.cluster, source, destination, **options).to_dict()
    return explanation


def diff_snapshots(*, old: Snapshot, new: Snapshot, level: str = "workload") -> dict[str, Any]:
    """Flows added, removed and changed from ``old`` to ``new``.

    The stored graphs are compared when both cut the address space into the same external blocks;
    otherwise (a change added or altered an ipBlock) both graphs are computed again over the common
    refinement of their blocks, as ``netpol diff`` does, so external flows compare one to one."""
    before = get_graph(snapshot=old, level=level)
    after = get_graph(snapshot=new, level=level)
    if _external_ids(before) != _external_ids(after):
        old_cluster = load_manifests(snapshot=old).cluster
        new_cluster = load_manifests(snapshot=new).cluster
        before = engine.build_graph(old_cluster, level=level,
                                    extra_address_sets=engine.address_sets(new_cluster)).to_dict()
        after = engine.build_graph(new_cluster, level=level,
                                   extra_address_sets=engine.address_sets(old_cluster)).to_dict()
    diff: dict[str, Any] = engine.diff_dicts(before, after).to_dict()
    return diff


def _external_ids(graph: dict[str, Any]) -> set[str]:
    return {n["id"] for n in graph.get("nodes", []) if n.get("kind") == "external"}


def policies_of(*, snapshot_id: int | None = None) -> Any:
    """Resources that are policies (Kubernetes and Calico), optionally of one snapshot."""
    queryset = Resource.objects.filter(kind__in=POLICY_KINDS).select_related("snapshot", "file")
    if snapshot_id is not None:
        queryset = queryset.filter(snapshot_id=snapshot_id)
    return queryset


def selected_pods(*, policy: Resource) -> list[str]:
    """The ids ("namespace/pod") of the pods a policy resource selects. A staged policy selects
    nothing (Calico never enforces it); a Calico NetworkPolicy is told apart from a Kubernetes
    one of the same name by its apiVersion."""
    if policy.is_staged:
        return []
    parsed = load_manifests(snapshot=policy.snapshot)
    kind = "CalicoNetworkPolicy" if policy.trace_kind == "CalicoNetworkPolicy" else policy.kind
    return list(engine.selected_pods(parsed.cluster, kind, policy.namespace, policy.name))


@dataclass(frozen=True)
class Placement:
    """Where Calico runs a policy: its tier, the tier's order, and the policy's order in the tier
    (None: no order, evaluated last). ``position`` counts from 0 in evaluation order."""

    tier: str
    tier_order: float | None
    order: float | None
    position: int = 0
    staged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "tier_order": self.tier_order, "order": self.order}


PolicyKey = tuple[str, str, str]  # (trace kind, namespace, name), as in the Calico traces

_placement_cache: OrderedDict[tuple[int, float], dict[PolicyKey, Placement]] = OrderedDict()


def policy_placements(*, snapshot: Snapshot) -> dict[PolicyKey, Placement]:
    """Every policy the Calico evaluator runs, in evaluation order (tier by tier, then by order and
    name), keyed by (trace kind, namespace, name): "GlobalNetworkPolicy", "CalicoNetworkPolicy",
    or "KubernetesNetworkPolicy" (default tier, order 1000). Empty when the snapshot is evaluated
    as plain Kubernetes (it has no Calico resource)."""
    key = (snapshot.id, snapshot.created.timestamp())
    with _parse_cache_lock:
        if key in _placement_cache:
            _placement_cache.move_to_end(key)
            return _placement_cache[key]
    placements: dict[PolicyKey, Placement] = {}
    # Only a snapshot with Calico objects is parsed: the others have no tiers.
    cluster = None
    if snapshot.resources.filter(api_version__contains=CALICO_API_GROUP).exists():
        try:
            cluster = load_manifests(snapshot=snapshot).cluster
        except engine.PolicyError:
            cluster = None  # stored before the engine learnt to reject it: no tiers to show
    if cluster is not None and cluster.has_calico():
        index = engine.calico_index(cluster)
        for tier in index.tiers:
            for policy in index.by_tier[tier.name]:
                placements[(policy.trace_kind, policy.namespace, policy.name)] = Placement(
                    tier.name, tier.order, policy.order, len(placements)
                )
    with _parse_cache_lock:
        _placement_cache[key] = placements
        while len(_placement_cache) > PARSE_CACHE_SIZE:
            _placement_cache.popitem(last=False)
    return placements


def policy_placement(*, policy: Resource) -> Placement | None:
    """Where Calico runs ``policy`` (None when the snapshot is evaluated as plain Kubernetes). A
    staged policy is not run: its tier and order are read from its text."""
    if policy.is_staged:
        return _staged_placement(policy)
    return policy_placements(snapshot=policy.snapshot).get((policy.trace_kind, policy.namespace, policy.name))


def _staged_placement(policy: Resource) -> Placement | None:
    try:
        data = yaml.safe_load(policy.text)
    except yaml.YAMLError:
        return None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        spec = {}
    given = spec.get("tier")
    tier = given if isinstance(given, str) and given else "default"
    order = spec.get("order")
    order = float(order) if isinstance(order, int | float) and not isinstance(order, bool) else None
    tiers = {p.tier: p.tier_order for p in policy_placements(snapshot=policy.snapshot).values()}
    return Placement(tier, tiers.get(tier), order, position=-1, staged=True)


def placement_sort_key(placement: Placement | None) -> tuple[float, str, float, int]:
    """Evaluation order (tier order, tier, order in the tier); policies without a placement last."""
    if placement is None:
        return (math.inf, "\uffff", math.inf, 0)
    tier_order = math.inf if placement.tier_order is None else placement.tier_order
    order = math.inf if placement.order is None else placement.order
    return (tier_order, placement.tier, order, placement.position)


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
