"""The overview page: counts, headline answers, lint findings, the policy list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies import services
from policies.models import Analysis, Resource, Snapshot
from policies.pages.state import counts, policy_resources
from policies.pages.words import node_label

SEVERITY_ORDER = ("error", "warning", "info")


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
    """The overview page: counts, headline answers, the team's expectations, lint findings by severity."""
    done = analysis is not None and analysis.status == Analysis.Status.DONE
    keys = ("summary", "lint", "notes", "expectations")
    result = {key: analysis.result_part(key) for key in keys} if done and analysis else {}
    summary = result.get("summary") or {}
    headlines = []
    evaluator = ""
    if done and analysis is not None:
        names, evaluator = _names_and_evaluator(analysis)
        for key, field_name, one, many in HEADLINES:
            ids = list(summary.get(field_name, []))
            headlines.append(Headline(key, one if len(ids) == 1 else many, ids, [names.get(i, i) for i in ids]))
    lint: dict[str, list[dict[str, Any]]] = {}
    for finding in result.get("lint") or []:
        lint.setdefault(finding.get("severity", "info"), []).append(finding)
    lint_groups = [(sev, lint[sev]) for sev in SEVERITY_ORDER if sev in lint]
    lint_groups += [(sev, items) for sev, items in sorted(lint.items()) if sev not in SEVERITY_ORDER]
    # The team's expectations changed since this analysis checked them: the results of the new set
    # come from a re-check in the background; the outdated ones are not shown meanwhile.
    rechecking = done and analysis is not None and (
        services.stored_version(analysis) != snapshot.team.expectations_version)
    return {
        "counts": counts(snapshot, analysis),
        "headlines": headlines,
        "lint_groups": lint_groups,
        "lint_count": sum(len(items) for _, items in lint_groups),
        "notes": result.get("notes") or [],
        "evaluator": evaluator,
        # the team's, checked by this analysis; None: it has none, or they are being checked again
        "expectations": None if rechecking else result.get("expectations"),
        "expectations_rechecking": rechecking,
    }


def _names_and_evaluator(analysis: Analysis) -> tuple[dict[str, str], str]:
    """Node id -> "namespace/name", and the evaluator, as the analysis stored them (analyses stored
    before read them from the workload graph)."""
    names = analysis.part("names:workload")
    if names is not None:
        return dict(names), str(analysis.part("evaluator") or "")
    graph = analysis.graph("workload") or {}
    return {n["id"]: node_label(n) for n in graph.get("nodes", [])}, str(graph.get("evaluator", ""))


@dataclass
class PolicyRow:
    """A policy of the overview's list, with where Calico runs it (None outside Calico)."""

    resource: Resource
    placement: services.Placement | None
    admin: services.AdminSummary | None = None  # an admin network policy's tier, priority and pods


def policy_rows(snapshot: Snapshot) -> list[PolicyRow]:
    """The snapshot's policies; when Calico evaluates it, in evaluation order (tier by tier, then by
    order), each with its tier and order; admin network policies with the pods they select."""
    resources = policy_resources(snapshot)
    admin = services.admin_summaries(snapshot=snapshot) if any(r.is_admin_policy for r in resources) else {}
    rows = [PolicyRow(r, services.policy_placement(policy=r), admin.get(r.engine_id)) for r in resources]
    if any(row.placement for row in rows):
        rows.sort(key=lambda row: services.placement_sort_key(row.placement))
    return rows
