"""The overview's headline lists: grouped by namespace (natural order), paginated on the server with
one page parameter per list, every item a link to the graph and to the flow check."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from policies.models import Snapshot
from policies.pages import overview

# Three namespaces, no policy: every pod is unisolated. ns-2 sorts before ns-10.
NAMESPACE_PODS = {"ns-10": ["a"], "ns-2": ["b", "c-10", "c-9"], "ns-1": ["d"]}


def cluster_files() -> list[tuple[str, str]]:
    documents = []
    for namespace, pods in NAMESPACE_PODS.items():
        documents.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n")
        for pod in pods:
            documents.append(
                f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod}\n  namespace: {namespace}\n"
                f"  labels:\n    app: {pod}\nspec:\n  containers:\n    - name: c\n      image: busybox:1\n"
            )
    return [("cluster.yaml", "---\n".join(documents))]


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def spread(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    return make_snapshot(cluster_files(), name="spread")


def not_isolated(response: object) -> overview.Headline:
    return next(h for h in response.context["headlines"] if h.key == "not-isolated")  # type: ignore[attr-defined]


def section(html: str, key: str) -> str:
    start = html.index(f'id="list-{key}"')
    return html[start : html.index('<div class="card headline-card"', start) if key != "internet" else None]


def test_a_list_is_grouped_by_namespace_in_natural_order_with_counts(web: Client, spread: Snapshot) -> None:
    response = web.get(reverse("policies:snapshot", args=[spread.id]))
    headline = not_isolated(response)
    assert [(g.namespace, g.total) for g in headline.groups] == [("ns-1", 1), ("ns-2", 3), ("ns-10", 1)]
    assert [i.name for i in headline.groups[1].items] == ["ns-2/b", "ns-2/c-9", "ns-2/c-10"]
    assert headline.namespaces == 3 and headline.pages == 1
    html = section(response.content.decode(), "not-isolated")
    # Collapsible without JavaScript: one <details> per namespace, its heading with the count.
    assert re.search(r'<details class="namespace-group" open data-namespace="ns-2">\s*<summary>'
                     r'<span class="namespace-name">ns-2</span>\s*<span class="muted small">\(3 workloads\)', html)
    assert "in 3 namespaces" in html
    assert "page 1 of" not in html  # one page: no pager


def test_every_item_links_to_the_graph_with_its_namespace_open_and_to_the_flow_check(
    web: Client, spread: Snapshot
) -> None:
    response = web.get(reverse("policies:snapshot", args=[spread.id]))
    item = not_isolated(response).groups[1].items[0]
    graph = urlsplit(item.graph_url)
    assert graph.path == reverse("policies:graph", args=[spread.id])
    assert parse_qs(graph.query) == {"open": ["ns-2"], "sel": ["ns-2/Pod/b"]}
    flow = urlsplit(item.flow_url)
    assert flow.path == reverse("policies:flow", args=[spread.id])
    assert parse_qs(flow.query) == {"dst": ["ns-2/Pod/b"]}  # can anything reach this unisolated pod?
    html = unescape(response.content.decode())
    assert f'href="{item.graph_url}"' in html and f'href="{item.flow_url}"' in html
    # The flow check opens with the pod filled in.
    page = web.get(item.flow_url).content.decode()
    assert 'value="ns-2/Pod/b"' in page
    # The internet list asks from the workload, not to it.
    internet = next(h for h in response.context["headlines"] if h.key == "internet")
    for group in internet.groups:
        for entry in group.items:
            assert "src=" in entry.flow_url


def test_lists_are_paginated_and_each_list_keeps_its_own_page(
    web: Client, spread: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "LIST_PAGE_SIZE", 2)
    url = reverse("policies:snapshot", args=[spread.id])
    first = not_isolated(web.get(url))
    assert (first.page, first.pages, first.first, first.last) == (1, 3, 1, 2)
    shown = [(g.namespace, [i.name for i in g.items]) for g in first.groups]
    assert shown == [("ns-1", ["ns-1/d"]), ("ns-2", ["ns-2/b"])]
    assert first.groups[1].partial  # ns-2 has 3, 1 here
    assert set(first.page_urls) == {"next", "last"}

    # Another list is on its page 2: moving this list keeps it there.
    response = web.get(url, {"internet-page": "2", "not-isolated-page": "2"})
    second = not_isolated(response)
    assert (second.page, second.first, second.last) == (2, 3, 4)
    assert [i.name for g in second.groups for i in g.items] == ["ns-2/c-9", "ns-2/c-10"]
    following = parse_qs(urlsplit(second.page_urls["next"]).query)
    assert following == {"internet-page": ["2"], "not-isolated-page": ["3"]}
    assert second.page_urls["next"].endswith("#list-not-isolated")
    assert parse_qs(urlsplit(second.page_urls["first"]).query) == {"internet-page": ["2"]}
    html = response.content.decode()
    assert "page 2 of 3" in html and 'rel="prev"' in html

    last = not_isolated(web.get(url, {"not-isolated-page": "3"}))
    assert [i.name for g in last.groups for i in g.items] == ["ns-10/a"]
    assert set(last.page_urls) == {"first", "previous"}


@pytest.mark.parametrize("asked", ["0", "99", "two", "-1"])
def test_a_page_number_out_of_range_shows_the_nearest_page(
    web: Client, spread: Snapshot, monkeypatch: pytest.MonkeyPatch, asked: str
) -> None:
    monkeypatch.setattr(overview, "LIST_PAGE_SIZE", 2)
    response = web.get(reverse("policies:snapshot", args=[spread.id]), {"not-isolated-page": asked})
    assert response.status_code == 200
    assert not_isolated(response).page == (3 if asked == "99" else 1)


def unused_policy(n: int) -> str:
    """A policy in ns-1 that selects no pod (a lint finding)."""
    return (
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p-{n}\n  namespace: ns-1\n"
        f"spec:\n  podSelector:\n    matchLabels:\n    app: nobody-{n}\n  policyTypes: [Ingress]\n"
    ).replace("matchLabels:\n    app", "matchLabels:\n      app")


def test_the_findings_and_the_policy_list_are_paginated_too(
    web: Client, make_snapshot: Callable[..., Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = make_snapshot(
        [*cluster_files(), ("policies.yaml", "---\n".join(unused_policy(n) for n in range(1, 6)))], name="unused"
    )
    monkeypatch.setattr(overview, "FINDINGS_PAGE_SIZE", 2)
    monkeypatch.setattr(overview, "POLICIES_PAGE_SIZE", 2)
    url = reverse("policies:snapshot", args=[snapshot.id])
    response = web.get(url, {"policies-page": "3", "findings-page": "2"})
    policies = response.context["policies"]
    assert (policies.total, policies.number, policies.count) == (5, 3, 3)
    assert [row.resource.name for row in policies.items] == ["p-5"]
    findings = response.context["findings"]
    assert findings.total == response.context["lint_count"] >= 5 and findings.number == 2
    assert len(findings.items) == 2
    # The page's findings by severity, each severity with its count in all.
    assert sum(len(shown) for _, shown, _ in response.context["lint_groups"]) == 2
    assert all(total >= len(shown) for _, shown, total in response.context["lint_groups"])
    html = response.content.decode()
    assert 'aria-label="Pages of the policies"' in html and 'aria-label="Pages of the findings"' in html
    # Moving the findings keeps the policies on their page.
    assert parse_qs(urlsplit(findings.urls["first"]).query) == {"policies-page": ["3"]}
    assert findings.urls["first"].endswith("#list-findings") and 'id="list-findings"' in html
