"""The overview page: counts, headline answers, lint findings, the policy list."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from policies import services
from policies.models import Analysis, Resource, Snapshot
from policies.pages.paging import Page, cut
from policies.pages.state import counts, policy_resources
from policies.pages.words import natural_key, node_label

SEVERITY_ORDER = ("error", "warning", "info")
# Items per page of each list (policies.pages.paging): a headline list, the findings, the policies.
LIST_PAGE_SIZE = 30
FINDINGS_PAGE_SIZE = 50
POLICIES_PAGE_SIZE = 100


@dataclass
class HeadlineItem:
    """One workload of a headline list: its name, where the graph shows it, and the flow check."""

    name: str
    graph_url: str
    flow_url: str


@dataclass
class NamespaceGroup:
    """The items of one namespace on the page shown, and how many the namespace has in the list."""

    namespace: str
    total: int
    items: list[HeadlineItem]

    @property
    def partial(self) -> bool:
        """Whether some of the namespace's items are on another page."""
        return len(self.items) < self.total


@dataclass
class Headline:
    key: str  # the graph's ?only= value
    question: str
    ids: list[str]
    nodes: list[str] = field(default_factory=list)  # every item's "namespace/name", in the list's order
    namespaces: int = 0  # how many namespaces the list spans
    groups: list[NamespaceGroup] = field(default_factory=list)  # the page shown, by namespace
    page: int = 1
    pages: int = 1
    first: int = 0  # the page's first and last item, counted from 1 (0: the list is empty)
    last: int = 0
    page_urls: dict[str, str] = field(default_factory=dict)  # "first", "previous", "next", "last"


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


def overview(snapshot: Snapshot, analysis: Analysis | None, query: QueryDict | None = None) -> dict[str, Any]:
    """The overview page: counts, headline answers, the team's expectations, lint findings by severity.
    ``query`` is the request's: each list shows the page its ``KEY-page`` parameter names (a headline
    list's key, "findings")."""
    done = analysis is not None and analysis.status == Analysis.Status.DONE
    keys = ("summary", "lint", "notes", "expectations")
    result = {key: analysis.result_part(key) for key in keys} if done and analysis else {}
    summary = result.get("summary") or {}
    headlines = []
    evaluator = ""
    if done and analysis is not None:
        names, evaluator = _names_and_evaluator(analysis)
        links = _Links(snapshot)
        for key, field_name, one, many in HEADLINES:
            ids = list(summary.get(field_name, []))
            headlines.append(_headline(key, one if len(ids) == 1 else many, ids, names, links, query))
    findings, lint_groups = _findings(result.get("lint") or [], query)
    # The team's expectations changed since this analysis checked them: the results of the new set
    # come from a re-check in the background; the outdated ones are not shown meanwhile.
    rechecking = done and analysis is not None and (
        services.stored_version(analysis) != snapshot.team.expectations_version)
    return {
        "counts": counts(snapshot, analysis),
        "headlines": headlines,
        "lint_groups": lint_groups,
        "lint_count": findings.total,
        "findings": findings,
        "notes": result.get("notes") or [],
        "evaluator": evaluator,
        # the team's, checked by this analysis; None: it has none, or they are being checked again
        "expectations": None if rechecking else result.get("expectations"),
        "expectations_rechecking": rechecking,
    }


def _findings(
    lint: list[dict[str, Any]], query: QueryDict | None
) -> tuple[Page[dict[str, Any]], list[tuple[str, list[dict[str, Any]], int]]]:
    """The lint findings, errors first, cut to the page asked for; that page's findings by severity,
    each with how many the severity has in all."""
    order = {severity: i for i, severity in enumerate(SEVERITY_ORDER)}
    ordered = sorted(lint, key=lambda f: (order.get(f.get("severity", "info"), len(order)), f.get("severity", "info")))
    per_severity = Counter(f.get("severity", "info") for f in ordered)
    page = cut(ordered, "findings", query, FINDINGS_PAGE_SIZE)
    groups: list[tuple[str, list[dict[str, Any]], int]] = []
    for finding in page.items:
        severity = finding.get("severity", "info")
        if not groups or groups[-1][0] != severity:
            groups.append((severity, [], per_severity[severity]))
        groups[-1][1].append(finding)
    return page, groups


class _Links:
    """Where a headline list's items lead: the graph and the flow check."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.graph = reverse("policies:graph", args=[snapshot.id])
        self.flow = reverse("policies:flow", args=[snapshot.id])

    def item(self, key: str, node_id: str, namespace: str) -> tuple[str, str]:
        """The graph with the node selected (its namespace opened), and the flow check of the
        question the list answers about it."""
        graph = f"{self.graph}?{urlencode({'open': namespace, 'sel': node_id})}" if namespace else (
            f"{self.graph}?{urlencode({'sel': node_id})}"
        )
        end = "src" if key == "internet" else "dst"
        return graph, f"{self.flow}?{urlencode({end: node_id})}"


def _namespace_of(node_id: str, name: str) -> str:
    """A workload's namespace: the first part of its id when its name starts with it
    ("shop/Deployment/web" named "shop/web"); "" for an endpoint outside every namespace."""
    first, slash, _ = node_id.partition("/")
    return first if slash and name.startswith(f"{first}/") else ""


def _headline(
    key: str, question: str, ids: list[str], names: dict[str, str], links: _Links, query: QueryDict | None
) -> Headline:
    """A headline list, sorted by namespace then name (digits as numbers), cut to the page asked for
    and grouped by namespace."""
    entries = []
    for node_id in ids:
        name = names.get(node_id, node_id)
        namespace = _namespace_of(node_id, name)
        entries.append((_namespace_order(namespace), natural_key(name), namespace, name, node_id))
    entries.sort()
    per_namespace = Counter(namespace for _, _, namespace, _, _ in entries)
    page = cut(entries, key, query, LIST_PAGE_SIZE)
    groups: list[NamespaceGroup] = []
    for _, _, namespace, name, node_id in page.items:
        if not groups or groups[-1].namespace != namespace:
            groups.append(NamespaceGroup(namespace, per_namespace[namespace], []))
        graph_url, flow_url = links.item(key, node_id, namespace)
        groups[-1].items.append(HeadlineItem(name, graph_url, flow_url))
    return Headline(
        key,
        question,
        ids,
        nodes=[name for _, _, _, name, _ in entries],
        namespaces=len(per_namespace),
        groups=groups,
        page=page.number,
        pages=page.count,
        first=page.first,
        last=page.last,
        page_urls=page.urls,
    )


def _namespace_order(namespace: str) -> tuple[bool, tuple[tuple[int, int | str], ...]]:
    """Namespaces in natural order; the endpoints outside every namespace last."""
    return (namespace == "", natural_key(namespace))


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


def policy_page(snapshot: Snapshot, query: QueryDict | None = None) -> Page[PolicyRow]:
    """The page of the policy list the query asks for ("policies-page")."""
    return cut(policy_rows(snapshot), "policies", query, POLICIES_PAGE_SIZE)


def policy_rows(snapshot: Snapshot) -> list[PolicyRow]:
    """The snapshot's policies; when Calico evaluates it, in evaluation order (tier by tier, then by
    order), each with its tier and order; admin network policies with the pods they select."""
    resources = policy_resources(snapshot)
    admin = services.admin_summaries(snapshot=snapshot) if any(r.is_admin_policy for r in resources) else {}
    rows = [PolicyRow(r, services.policy_placement(policy=r), admin.get(r.engine_id)) for r in resources]
    if any(row.placement for row in rows):
        rows.sort(key=lambda row: services.placement_sort_key(row.placement))
    return rows
