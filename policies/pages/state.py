"""What every page reads about a snapshot: its latest analysis, stored graph nodes, counts, and
its policies (with the one rule that says which stored policy a trace is about)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.urls import reverse

from policies import services
from policies.models import POLICY_KINDS, Analysis, Resource, Snapshot

# An analysis' result holds both graphs (megabytes at 2,000 pods): the pages read analyses
# without them (Analysis.objects.without_graphs()) and pick out what they show.


def latest_analysis(snapshot: Snapshot) -> Analysis | None:
    """The snapshot's newest analysis; one a stopped server left unfinished is queued again."""
    analysis = snapshot.analyses.without_graphs().order_by("-created", "-id").first()
    if analysis is not None:
        services.resume_analysis(analysis=analysis)
    return analysis


def pod_nodes(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The pod graph's nodes without its edges (the edges are the bulk of it), stored even when the
    pod graph was too large to store. AnalysisNotReady when no analysis has finished."""
    return stored_nodes(snapshot, "pod")


def stored_nodes(snapshot: Snapshot, level: str) -> list[dict[str, Any]]:
    """The stored graph's nodes of one level without its edges ([] for an analysis stored before
    the nodes were kept apart whose graph was too large). AnalysisNotReady when none has finished."""
    if level not in services.GRAPH_LEVELS:
        raise ValueError(f"unknown graph level {level!r}")
    analysis = services.finished_analysis(snapshot=snapshot)
    return list(analysis.graph_nodes(level) or [])


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


def policy_resources(snapshot: Snapshot) -> list[Resource]:
    """The snapshot's policies, read once per request: kept on the snapshot object, which a request
    reads once (the flow check asked three times, for 2,000 policies at 10,000 pods). Each carries
    ``snapshot`` itself rather than a copy per row."""
    kept: list[Resource] | None = snapshot.__dict__.get("_policy_resources")
    if kept is None:
        rows = services.policies_of(snapshot_id=snapshot.id).select_related(None).select_related("file")
        kept = list(rows.defer("file__text").order_by("namespace", "name", "kind", "id"))
        for resource in kept:
            resource.snapshot = snapshot
        snapshot.__dict__["_policy_resources"] = kept
    return kept


def trace_kinds(resource: Resource) -> tuple[str, ...]:
    """The kinds a trace without a key gives this policy: "NetworkPolicy" (the Kubernetes
    evaluator) or "KubernetesNetworkPolicy" (Calico's) for a networking.k8s.io one,
    "CalicoNetworkPolicy" for a projectcalico.org one, the kind itself otherwise."""
    if resource.kind == "NetworkPolicy" and not resource.is_calico:
        return ("NetworkPolicy", "KubernetesNetworkPolicy")
    return (resource.trace_kind,)


def trace_is(trace: dict[str, Any], resource: Resource) -> bool:
    """Whether a trace (or a trace-like dict) is about ``resource``: the engine's policy key
    (``key``, engine.policy_key) against the one stored with the object. Traces kept from before
    the key (a proposal's stored diff) are matched by kind, namespace and name."""
    if trace.get("key") and resource.policy_key:
        return bool(trace["key"] == resource.policy_key)
    return (
        trace.get("kind") in trace_kinds(resource)
        and (trace.get("namespace") or "") == resource.namespace
        and trace.get("name") == resource.name
    )


def find_policy_resource(
    snapshot: Snapshot, trace: dict[str, Any], resources: list[Resource] | None = None
) -> Resource | None:
    """The stored object behind a policy of a trace: the one with the trace's policy key. A
    Profile has no object (Calico makes one per namespace)."""
    if trace.get("kind") == "Profile":
        return None
    if resources is None:
        resources = policy_resources(snapshot)
    return next((r for r in resources if trace_is(trace, r)), None)


PolicyPages = dict[tuple[str, str], str]


def policy_pages(snapshot: Snapshot) -> PolicyPages:
    """("key", policy key) -> the policy's page, and ("", engine policy id) -> the page of the
    policy with that id (a diff's flows name policies by id), an enforced one before a staged one."""
    pages: PolicyPages = {}
    resources = policy_resources(snapshot)
    head, _, tail = reverse("policies:policy", args=[snapshot.id, 987654321]).partition("987654321")
    for resource in sorted(resources, key=lambda r: r.is_staged):
        url = f"{head}{resource.id}{tail}"  # one reverse() for thousands of policies
        if resource.policy_key:
            pages[("key", resource.policy_key)] = url
        pages.setdefault(("", resource.engine_id), url)
    return pages
