"""Analyses: queue one for a snapshot, run the engine over it, find the finished one."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from policies import engine, tasks
from policies.models import Analysis, Snapshot, Team
from policies.services.background import BackgroundRunner
from policies.services.errors import AnalysisNotReady, QueueUnavailable
from policies.services.expectations import ExpectationSet
from policies.services.explainers import explainer_parts
from policies.services.graph_slices import every_namespace_slice
from policies.services.manifests import load_manifests
from policies.services.matrices import matrix_parts
from policies.services.objects import store_parsed
from policies.services.pod_slices import every_pod_slice, flat_edges, pack
from policies.services.stored_graphs import compact_edges, graph_dict, graph_from_compact
from policies.services.unlocked import when_unlocked

__all__ = [
    "ANALYSIS_RUNNERS",
    "ProgressWriter",
    "finish_analysis",
    "finished_analysis",
    "publish",
    "resume_analysis",
    "run_analysis",
    "start_analysis",
    "wait_for_analyses",
]

logger = logging.getLogger(__name__)

PENDING = (Analysis.Status.QUEUED, Analysis.Status.RUNNING)
ANALYSIS_RUNNERS = ("thread", "celery")


def _run_in_background(analysis_id: int) -> None:
    run_analysis(analysis_id=analysis_id)


_background = BackgroundRunner(_run_in_background)


def _runner() -> str:
    runner = str(settings.NETPOL_ANALYSIS_RUNNER)
    if runner not in ANALYSIS_RUNNERS:
        choices = ", ".join(ANALYSIS_RUNNERS)
        raise ImproperlyConfigured(f"NETPOL_ANALYSIS_RUNNER must be one of {choices}, not {runner!r}")
    return runner


def start_analysis(*, snapshot: Snapshot) -> Analysis:
    """Queue an analysis of the snapshot, or return the one already queued or running: a snapshot's
    files never change, so a second request for the same input merges into the pending one. It
    returns at once: a thread of this process runs the analysis ("thread", the embedded default)
    or a Celery worker does ("celery", with REDIS_URL).

    Raises QueueUnavailable (after COMMIT: the analysis stays queued) when the broker is down.
    """
    pending = snapshot.analyses.without_graphs().filter(status__in=PENDING).order_by("-created", "-id").first()
    if pending is not None:
        return pending
    analysis = Analysis.objects.create(snapshot=snapshot)
    # After COMMIT, so that a worker never looks for a row it cannot see yet.
    transaction.on_commit(lambda: _publish_or_raise(analysis))
    return analysis


def _publish_or_raise(analysis: Analysis) -> None:
    if not publish(analysis_id=analysis.id):
        raise QueueUnavailable(analysis)


def publish(*, analysis_id: int) -> bool:
    """Hand the analysis to the background thread, or send its task message; False when the broker
    cannot be reached.

    No time limit travels in the message: the worker applies its own settings.
    """
    if _runner() == "thread":
        Analysis.objects.filter(id=analysis_id, status=Analysis.Status.QUEUED).update(published=timezone.now())
        _background.submit(analysis_id)
        return True
    try:
        tasks.compute_analysis.apply_async((analysis_id,), time_limit=None, soft_time_limit=None)
    except (BrokerError, OSError) as exc:
        logger.warning("analysis %s: the task queue is unavailable (%s); it stays queued", analysis_id, exc)
        return False
    Analysis.objects.filter(id=analysis_id, status=Analysis.Status.QUEUED).update(published=timezone.now())
    return True


def resume_analysis(*, analysis: Analysis) -> bool:
    """With the thread runner, queue again an unfinished analysis that a stopped server left
    (pages call this when they show one); True when it was queued."""
    if analysis.is_finished or _runner() != "thread":
        return False
    return _background.resume(analysis.id, analysis.created)


def wait_for_analyses(timeout: float | None = None) -> bool:
    """Block until this process's background analyses are done (tests, benchmarks)."""
    return _background.wait(timeout)


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

    Safe to run twice: a finished analysis is left alone, one that another live worker runs (its
    heartbeat is fresh) too, and an interrupted one (its worker died) starts over; the engine is
    deterministic, so the result is the same.
    """
    try:
        analysis = when_unlocked(lambda: Analysis.objects.select_related("snapshot").get(id=analysis_id))
    except Analysis.DoesNotExist:
        logger.warning("analysis %s no longer exists", analysis_id)  # its snapshot was deleted
        return
    if analysis.is_finished:
        return  # redelivered or duplicate message
    if analysis.status == Analysis.Status.RUNNING and _alive(analysis):
        logger.info("analysis %s is running on another worker", analysis_id)
        return
    if not _claim(analysis):
        return  # another worker took it between the read and now

    with _heartbeat(analysis.id):
        try:
            result, parts, timings = _compute(analysis)
        except engine.PolicyError as exc:
            analysis.fail(str(exc), detail=exc.to_dict(), engine_version=engine.ENGINE_VERSION)
        except SoftTimeLimitExceeded:
            limit = settings.CELERY_TASK_SOFT_TIME_LIMIT  # this worker's limit, the one that stopped it
            analysis.fail(f"the analysis took longer than {limit} seconds", engine_version=engine.ENGINE_VERSION)
        except Exception as exc:
            analysis.fail(f"internal error: {type(exc).__name__}", engine_version=engine.ENGINE_VERSION)
            raise  # so that Celery logs the traceback
        else:
            stored_from, stored_from_cpu = time.perf_counter(), time.thread_time()
            analysis.finish(result, parts=parts, timings=timings, engine_version=engine.ENGINE_VERSION)
            # How long writing the parts took: an analysis' time is the engine's, not the database's.
            timings["store"] = round(time.perf_counter() - stored_from, 4)
            timings["store_cpu"] = round(time.thread_time() - stored_from_cpu, 4)
            Analysis.objects.filter(id=analysis.id).update(timings=timings)
            _expectations_changed_meanwhile(analysis)
            diff_with_previous(analysis)
            if analysis.snapshot.cluster_id is not None:
                from policies.services.history import compare_after_analysis  # history reads answers

                compare_after_analysis(snapshot=analysis.snapshot)


def diff_with_previous(analysis: Analysis) -> None:
    """Store the workload diff against the snapshot the compare page offers first (the newest
    earlier one of the same name, of the same team), so that opening the page is a lookup."""
    snapshot = analysis.snapshot
    earlier = (Snapshot.objects.filter(team=snapshot.team, name=snapshot.name, created__lte=snapshot.created)
               .exclude(id=snapshot.id).order_by("-created", "-id").first())
    if earlier is None or not earlier.analyses.filter(status=Analysis.Status.DONE).exists():
        return
    from policies.services.answers import diff_snapshots  # answers read finished analyses

    try:
        diff_snapshots(old=earlier, new=snapshot, level="workload")
    except Exception:  # the comparison is a view; it must not fail the analysis
        logger.exception("analysis %s: the diff against snapshot %s failed", analysis.id, earlier.id)


def finish_analysis(*, analysis_id: int, poll: float = 0.5) -> Analysis:
    """Run the analysis here, or wait for the worker (or background thread) that is running it,
    and return it finished. Work that needs a finished analysis (a proposal's diff) calls this: an
    analysis that another worker claimed first is not a failure. Waits at most the soft time limit
    of an analysis; after that the analysis is returned as it is (not finished)."""
    deadline = time.monotonic() + float(settings.CELERY_TASK_SOFT_TIME_LIMIT)
    while True:
        run_analysis(analysis_id=analysis_id)  # returns at once when another live worker runs it
        analysis = Analysis.objects.defer("result").get(id=analysis_id)
        if analysis.is_finished or time.monotonic() > deadline:
            return analysis
        time.sleep(poll)


def _expectations_changed_meanwhile(analysis: Analysis) -> None:
    """The team's expectations changed while the analysis ran (their re-check skipped it, as it
    was not done): check them again now."""
    from policies.services.rechecks import refresh_analysis, stored_version  # rechecks read answers

    team = Team.objects.filter(snapshots__id=analysis.snapshot_id)
    current = team.values_list("expectations_version", flat=True).get()
    if stored_version(analysis) != current:
        refresh_analysis(analysis=analysis)


def _alive(analysis: Analysis) -> bool:
    beat = analysis.heartbeat or analysis.started
    stale = settings.NETPOL_HEARTBEAT_STALE
    return beat is not None and (timezone.now() - beat).total_seconds() < stale


def _claim(analysis: Analysis) -> bool:
    """Mark the analysis running for this worker, unless another one changed it since it was read."""
    return when_unlocked(lambda: _claim_once(analysis))


def _claim_once(analysis: Analysis) -> bool:
    now = timezone.now()
    claimed = Analysis.objects.filter(
        id=analysis.id, status=analysis.status, attempts=analysis.attempts, heartbeat=analysis.heartbeat
    ).update(
        status=Analysis.Status.RUNNING,
        started=now,
        heartbeat=now,
        finished=None,
        progress=0.0,
        progress_message="starting",
        attempts=F("attempts") + 1,
        error="",
        error_detail=None,
    )
    if claimed:
        analysis.refresh_from_db(fields=["status", "started", "heartbeat", "attempts", "progress", "progress_message"])
    return bool(claimed)


@contextmanager
def _heartbeat(analysis_id: int) -> Iterator[None]:
    """Write the analysis' heartbeat from a thread while the body runs: the sweep tells a live run
    from one whose worker was killed by it."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.NETPOL_HEARTBEAT_INTERVAL):
                try:
                    Analysis.objects.filter(id=analysis_id, status=Analysis.Status.RUNNING).update(
                        heartbeat=timezone.now()
                    )
                except DatabaseError as exc:  # a locked or lost database: the next beat tries again
                    logger.warning("analysis %s: heartbeat not written (%s)", analysis_id, exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{analysis_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _compute(analysis: Analysis) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    progress = ProgressWriter(analysis.id)
    started = time.perf_counter()
    started_cpu = time.thread_time()  # this thread's CPU seconds: on a busy machine, what the work cost

    progress.phase(0.0, 0.05, "reading the manifests")
    parsed = load_manifests(snapshot=analysis.snapshot)  # parsed once: the upload's parse when it is at hand
    if not analysis.snapshot.objects_stored:
        progress.phase(0.05, 0.05, "storing the objects")
        # An upload's objects: read here, not in its request.
        when_unlocked(lambda: store_parsed(snapshot=analysis.snapshot, parsed=parsed))
    parsed_at = time.perf_counter()

    report = progress.phase(0.05, 0.45, "computing the workload graph")
    workload = engine.build_graph(parsed.cluster, level="workload", progress=report)
    report = progress.phase(0.45, 0.85, "computing the pod graph")
    pod = engine.build_graph(parsed.cluster, level="pod", progress=report)
    report = progress.phase(0.85, 0.9, "computing the namespace graph")
    namespace = engine.build_graph(parsed.cluster, level="namespace", progress=report)
    graphs_at = time.perf_counter()

    progress.phase(0.9, 1.0, "checking the policies")
    findings = [finding.to_dict() for finding in engine.lint(parsed.cluster)]
    linted_at = time.perf_counter()

    parts, pod_graph_stored = _parts(analysis, workload, pod, namespace)
    parts["endpoints"] = _endpoints(parts, parsed.cluster.pods)
    parts.update(explainer_parts(parsed.cluster))  # explanations read it instead of parsing the snapshot
    checked = ExpectationSet.of(analysis.snapshot.team)
    expectations = None
    if checked.items:
        pod_graph = parts.get("graph:pod") or graph_from_compact(  # the check reads every pod edge
            parts["header:pod"], parts["nodes:pod"], parts["edges:pod"])
        expectations = checked.check(parsed.cluster, pod_graph)
    result = {
        "pod_graph_stored": pod_graph_stored,
        "summary": workload.summary(),
        "lint": findings,
        "notes": [_plain(note) for note in parsed.notes],
        "parts": sorted(parts),
        "expectations": expectations,  # the team's, as they were at this analysis; None when it has none
        "expectations_version": checked.version,  # services.rechecks brings it up to date
    }
    timings = {
        "parse": round(parsed_at - started, 4),
        "graph": round(graphs_at - parsed_at, 4),
        "lint": round(linted_at - graphs_at, 4),
        "parts": round(time.perf_counter() - linted_at, 4),
        "total": round(time.perf_counter() - started, 4),
        "cpu": round(time.thread_time() - started_cpu, 4),
    }
    return result, parts, timings


def _parts(
    analysis: Analysis, workload: engine.Graph, pod: engine.Graph, namespace: engine.Graph
) -> tuple[dict[str, Any], bool]:
    """The pieces of the result stored apart (AnalysisPart rows), and whether the whole pod graph
    is among them.

    The workload and namespace graphs are stored whole, with each namespace's workload and pod
    slices. The pod graph is stored whole when its JSON is within NETPOL_MAX_STORED_GRAPH_BYTES; a
    larger one keeps its nodes and its edges in the compact form (stored_graphs), from which a slice
    of several namespaces is computed on request (answers.get_graph)."""
    policies = workload.policy_entries()  # the same at every level
    graphs = {"workload": graph_dict(workload, policies), "namespace": graph_dict(namespace, policies)}
    parts: dict[str, Any] = {}
    # One namespace's workloads, for the graph page's namespace-first view.
    for name, part in every_namespace_slice(graphs["workload"], graphs["namespace"]).items():
        parts[f"slice:workload:{name}"] = part
    pod_nodes = [n.to_dict() for n in pod.nodes]
    # Each graph's nodes alone (the flow check's endpoints, a policy's workloads).
    parts.update({f"nodes:{level}": graph["nodes"] for level, graph in graphs.items()})
    parts["nodes:pod"] = pod_nodes
    compact, edges_size = compact_edges(pod)
    pod_header = pod.header(policies)
    # One namespace's pods, the largest workloads drawn whole (pod_slices): opening a namespace at
    # pod level reads one row, never the pod graph.
    flat = flat_edges(compact)
    for name, part in every_pod_slice(pod_header, pod_nodes, flat, graphs["workload"]["nodes"],
                                      graphs["namespace"]).items():
        parts[f"slice:pod:{name}"] = part
    # The edges as arrays (a slice of several namespaces reads them in a tenth of a second).
    parts["edges:pod:packed"] = pack(flat)
    parts["conns:pod"] = compact["conns"]
    pod_size = edges_size + len(json.dumps(pod_nodes))
    if pod_size <= settings.NETPOL_MAX_STORED_GRAPH_BYTES:
        graphs["pod"] = graph_from_compact(pod_header, pod_nodes, compact)  # graph_dict(pod), not computed again
    else:
        logger.info("analysis %s: pod graph of about %s bytes stored as its nodes and compact edges",
                    analysis.id, pod_size)
        parts["edges:pod"] = compact
        parts["header:pod"] = pod_header
    parts.update({f"graph:{level}": graph for level, graph in graphs.items()})
    # What the overview shows of the workload graph: each node's name, without the graph.
    parts["names:workload"] = {n["id"]: _node_name(n) for n in graphs["workload"]["nodes"]}
    parts["evaluator"] = graphs["workload"]["evaluator"]
    parts.update(matrix_parts(graphs["workload"]))
    return parts, "pod" in graphs


def _endpoints(parts: dict[str, Any], pods: Any) -> list[list[str]]:
    """[[value, description], ...] for the flow check's autocomplete: every workload and pod, by value."""
    names: dict[str, str] = {}
    for node in [*parts["nodes:workload"], *parts["nodes:pod"]]:
        if node["kind"] != "external":
            names.setdefault(node["id"], f"{node['kind']} {_node_name(node)}")
    for pod in pods:
        names.setdefault(f"{pod.namespace}/{pod.name}", f"pod {pod.namespace}/{pod.name}")
    return [[value, names[value]] for value in sorted(names)]


def _node_name(node: dict[str, Any]) -> str:
    """"namespace/name" of a workload or pod, the address blocks of an external node."""
    if node["kind"] == "external":
        return ", ".join(node.get("cidrs") or []) or str(node["id"])
    return f"{node['namespace']}/{node['name']}" if node.get("namespace") else str(node["name"])


def _plain(value: Any) -> Any:
    """A JSON-ready form of an engine note (a dataclass with to_dict(), or a string)."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else str(value)


def finished_analysis(*, snapshot: Snapshot) -> Analysis:
    """The snapshot's most recent done analysis; AnalysisNotReady when there is none."""
    done = snapshot.analyses.without_graphs().done().first()
    if done is None:
        raise AnalysisNotReady(snapshot.latest_analysis())
    return done
