"""The graph of a proposal's change: the proposed graph with the edges the change opens, closes and
changes marked by kind and by words, closed edges drawn although the proposed graph lacks them, at
workload or namespace level, through /api/proposals/{id}/graph/ and the page that draws it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from policies import services
from policies.models import Membership, Snapshot, Team
from tests.conftest import NAMESPACES, OPEN_POLICY, PODS, POLICY
from tests.test_proposal_revisions import TWO_PORTS
from tests.test_proposals_api import TRUSTED_POLICY, WEB_RELABELLED, client_for, member


def propose(api: APIClient, base: Snapshot, manifests: str) -> int:
    response = api.post("/api/proposals/", {"base": base.id, "title": "t", "manifests": manifests}, format="json")
    assert response.status_code == 201, response.json()
    pid: int = response.json()["id"]
    services.run_proposal(proposal_id=pid)
    return pid


def edges(graph: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): e for e in graph["edges"]}


def test_an_opened_edge_is_marked_with_its_words(api: APIClient, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    response = api.get(f"/api/proposals/{pid}/graph/")
    assert response.status_code == 200
    graph = response.json()
    assert (graph["level"], graph["revision"], graph["totals"]) == ("workload", 1, {"opened": 1, "closed": 0,
                                                                                    "changed": 0})
    by_pair = edges(graph)
    opened = by_pair[("other/Pod/intruder", "prod/Pod/db")]
    assert (opened["change"], opened["label"]) == ("opened", "opened: TCP 5432")
    unchanged = by_pair[("prod/Pod/web", "prod/Pod/db")]
    assert (unchanged["change"], unchanged["label"]) == ("unchanged", "TCP 5432")
    assert {n["id"] for n in graph["nodes"]} >= {"other/Pod/intruder", "prod/Pod/db", "prod/Pod/web"}
    assert api.get(f"/proposals/{pid}/").content.decode().count(f'href="/proposals/{pid}/graph/"') == 1


def test_a_closed_edge_is_drawn_although_the_proposed_graph_lacks_it(
    api: APIClient, make_snapshot: Callable[..., Snapshot]
) -> None:
    base = make_snapshot([("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", TRUSTED_POLICY)])
    pid = propose(api, base, WEB_RELABELLED)
    proposed = services.get_graph(snapshot=Snapshot.objects.get(id=api.get(f"/api/proposals/{pid}/").json()[
        "proposed"]), level="workload")
    assert ("prod/Pod/web", "prod/Pod/db") not in {(e["source"], e["target"]) for e in proposed["edges"]}
    graph = api.get(f"/api/proposals/{pid}/graph/").json()
    closed = edges(graph)[("prod/Pod/web", "prod/Pod/db")]
    assert (closed["change"], closed["label"], closed["connections"]) == (
        "closed", "closed: TCP 5432", "No Connections")


def test_a_narrowed_edge_says_what_it_opened_and_closed(api: APIClient, make_snapshot: Callable[..., Snapshot]
                                                        ) -> None:
    base = make_snapshot([("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", POLICY)])
    pid = propose(api, base, TWO_PORTS)
    changed = edges(api.get(f"/api/proposals/{pid}/graph/").json())[("prod/Pod/web", "prod/Pod/db")]
    assert (changed["change"], changed["label"]) == ("changed", "changed: opened TCP 5433")


def test_the_namespace_level_counts_the_changed_flows(api: APIClient, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    graph = api.get(f"/api/proposals/{pid}/graph/", {"level": "namespace"}).json()
    assert graph["level"] == "namespace"
    assert {n["id"] for n in graph["nodes"] if n["kind"] == "namespace"} == {"other", "prod"}
    edge = edges(graph)[("other", "prod")]
    assert (edge["change"], edge["label"], edge["flow_count"]) == ("opened", "opened: 1 flow", 1)
    assert edge["flows"] == ["other/Pod/intruder → prod/Pod/db: opened: TCP 5432"]


def test_a_large_cluster_opens_at_namespace_level(api: APIClient, snapshot: Snapshot, settings: Any) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    settings.NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE = 2  # the test cluster has three workloads
    assert api.get(f"/api/proposals/{pid}/graph/").json()["level"] == "namespace"
    assert api.get(f"/api/proposals/{pid}/graph/", {"level": "workload"}).json()["level"] == "workload"


def test_only_what_changed(api: APIClient, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    graph = api.get(f"/api/proposals/{pid}/graph/", {"only": "changed"}).json()
    assert [(e["source"], e["target"], e["change"]) for e in graph["edges"]] == [
        ("other/Pod/intruder", "prod/Pod/db", "opened")]
    assert sorted(n["id"] for n in graph["nodes"]) == ["other/Pod/intruder", "prod/Pod/db"]


def test_an_earlier_revision_keeps_its_graph(api: APIClient, alice: User, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    assert api.post(f"/api/proposals/{pid}/revisions/", {"manifests": TWO_PORTS}, format="json").status_code == 201
    assert api.get(f"/api/proposals/{pid}/graph/").status_code == 409  # the revision is being analysed
    services.run_proposal(proposal_id=pid)
    current = edges(api.get(f"/api/proposals/{pid}/graph/").json())
    assert current[("prod/Pod/web", "prod/Pod/db")]["change"] == "changed"
    first = api.get(f"/api/proposals/{pid}/graph/", {"revision": 1}).json()
    assert first["revision"] == 1 and edges(first)[("other/Pod/intruder", "prod/Pod/db")]["change"] == "opened"


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"level": "pod"}, "detail", "level must be one of workload, namespace"),
    ({"only": "all"}, "only", 'only takes "changed"'),
    ({"revision": "x"}, "revision", "a revision number"),
    ({"revision": "9" * 30}, "revision", "a revision number"),
    ({"revision": "7"}, "detail", "has no revision 7"),
])
def test_bad_graph_queries_are_400(api: APIClient, snapshot: Snapshot, query: dict[str, str], field: str,
                                   words: str) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    response = api.get(f"/api/proposals/{pid}/graph/", query)
    assert response.status_code == 400
    assert words in str(response.json()[field])


def test_another_team_gets_404(api: APIClient, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    outsider = member("oscar", Membership.Role.ADMIN, Team.objects.create(name="elsewhere"))
    assert client_for(outsider).get(f"/api/proposals/{pid}/graph/").status_code == 404
    page = Client()
    page.force_login(outsider)
    assert page.get(f"/proposals/{pid}/graph/").status_code == 404


def test_the_page_carries_the_legend_and_the_api_address(api: APIClient, alice: User, snapshot: Snapshot) -> None:
    pid = propose(api, snapshot, OPEN_POLICY)
    client = Client()
    client.force_login(alice)
    page = client.get(f"/proposals/{pid}/graph/").content.decode()
    assert 'id="change-legend"' in page and "“opened: …”" in page and "“closed: …”" in page
    assert f'"url": "/api/proposals/{pid}/graph/"' in page and "change-graph.js" in page


def test_the_schema_documents_revisions_and_the_graph(api: APIClient) -> None:
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    graph = paths["/api/proposals/{id}/graph/"]["get"]
    assert {p["name"] for p in graph["parameters"]} >= {"level", "only", "revision"}
    assert "opened" in graph["description"]
    assert set(paths["/api/proposals/{id}/revisions/"]) >= {"get", "post"}
