"""Proposals through the API: the proposed snapshot built from edits, its analysis in the
`netpol diff` JSON shape, the team's expectations before and after, and the review rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from policies import services
from policies.models import AuditEvent, Membership, Proposal, Snapshot, Team, TeamExpectation
from tests.conftest import NAMESPACES, OPEN_FILES, OPEN_POLICY, PODS, POLICY

DB_CLOSED_TO_OTHER = {
    "name": "db-closed-to-other",
    "from": {"namespace": "other"},
    "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
    "expect": "deny",
}
WEB_REACHES_DB = {
    "name": "web-reaches-db",
    "from": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "web"}}},
    "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
    "ports": ["TCP/5432"],
    "expect": "allow",
}


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def member(name: str, role: str, team: Team | None = None) -> User:
    user = User.objects.create_user(name, f"{name}@example.org", "password")
    Membership.objects.create(team=team or Team.default(), user=user, role=role)
    return user


def analysed(proposal_id: int) -> dict[str, Any]:
    """Run the proposal's background work as the worker would, then read it back as its author does."""
    services.run_proposal(proposal_id=proposal_id)
    proposal = Proposal.objects.get(id=proposal_id)
    data: dict[str, Any] = client_for(proposal.author).get(f"/api/proposals/{proposal_id}/").json()
    return data


@pytest.fixture
def expectations(db: None) -> None:
    for entry in (DB_CLOSED_TO_OTHER, WEB_REACHES_DB):
        TeamExpectation.objects.create(team=Team.default(), name=entry["name"],
                                       spec={k: v for k, v in entry.items() if k != "name"})


@pytest.fixture
def proposal(api: APIClient, snapshot: Snapshot, expectations: None) -> dict[str, Any]:
    """alice proposes db open to every namespace, which breaks db-closed-to-other."""
    response = api.post("/api/proposals/", {"base": snapshot.id, "title": "open db", "manifests": OPEN_POLICY},
                        format="json")
    assert response.status_code == 201, response.json()
    return analysed(response.json()["id"])


def test_a_proposal_starts_open_then_carries_its_diff(api: APIClient, snapshot: Snapshot, expectations: None) -> None:
    response = api.post("/api/proposals/", {"base": snapshot.id, "title": "open db", "manifests": OPEN_POLICY},
                        format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["state"] == "open" and created["diff"] is None and created["author"] == "alice"
    data = analysed(created["id"])
    assert data["status"] == "ready"
    assert [(e["source"], e["target"]) for e in data["diff"]["added"]] == [("other/Pod/intruder", "prod/Pod/db")]
    assert data["diff"]["removed"] == [] and data["diff"]["changed"] == []
    # The same JSON as `netpol diff` of the two snapshots.
    proposed = Snapshot.objects.get(id=data["proposed"])
    assert proposed.origin == "proposal" and proposed.team == snapshot.team
    assert data["diff"] == services.diff_snapshots(old=snapshot, new=proposed)


def test_the_replaced_policy_is_the_only_change(proposal: dict[str, Any], snapshot: Snapshot) -> None:
    [change] = proposal["policy_changes"]
    assert (change["kind"], change["policy"], change["change"]) == ("NetworkPolicy", "prod/db-same-namespace",
                                                                     "changed")
    assert "-        - podSelector: {}" in change["diff"] and "+        - namespaceSelector: {}" in change["diff"]
    proposed = Snapshot.objects.get(id=proposal["proposed"])
    assert sorted(proposed.resources.values_list("kind", "name")) == sorted(snapshot.resources.values_list(
        "kind", "name"))


def test_expectations_before_and_after(proposal: dict[str, Any]) -> None:
    results = {r["name"]: r for r in proposal["expectations"]}
    assert results["web-reaches-db"]["change"] == "holds"
    broken = results["db-closed-to-other"]
    assert (broken["change"], broken["was_ok"], broken["ok"]) == ("broken", True, False)
    [violation] = broken["violations"]
    assert (violation["source"], violation["target"], violation["protocol"], violation["port"]) == (
        "other/intruder", "prod/db", "TCP", 5432)
    assert violation["explanation"].startswith("Allowed: other/intruder may reach prod/db on TCP 5432")
    assert proposal["broken_expectations"] == ["db-closed-to-other"]


def test_delete_removes_the_policy(api: APIClient, snapshot: Snapshot) -> None:
    response = api.post("/api/proposals/", {"base": snapshot.id, "title": "drop the db policy",
                                            "delete": ["prod/db-same-namespace"]}, format="json")
    assert response.status_code == 201
    data = analysed(response.json()["id"])
    assert [c["change"] for c in data["policy_changes"]] == ["removed"]
    assert ("other/Pod/intruder", "prod/Pod/db") in [(e["source"], e["target"]) for e in data["diff"]["added"]]
    assert data["expectations"] == []  # the team has none


def test_proposed_snapshot_compares_two_snapshots(api: APIClient, snapshot: Snapshot,
                                                  make_snapshot: Callable[..., Snapshot]) -> None:
    opened = make_snapshot(OPEN_FILES, name="open")
    response = api.post("/api/proposals/", {"base": opened.id, "title": "close db", "proposed": snapshot.id},
                        format="json")
    assert response.status_code == 201
    data = analysed(response.json()["id"])
    assert [(e["source"], e["target"]) for e in data["diff"]["removed"]] == [("other/Pod/intruder", "prod/Pod/db")]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"title": "x", "manifests": "kind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  podSelector: 3\n"},
     None, "proposal.yaml"),
    ({"title": "x", "delete": ["prod/nothing-here"]}, None, "delete[0]: the base has no policy prod/nothing-here"),
    ({"title": "x"}, None, "a proposal changes something"),
    ({"title": "x", "manifests": POLICY, "proposed": 999999}, "proposed", "no snapshot 999999"),
])
def test_bad_proposals_are_400_naming_the_problem(api: APIClient, snapshot: Snapshot, body: dict[str, Any],
                                                  field: str | None, words: str) -> None:
    response = api.post("/api/proposals/", {"base": snapshot.id, **body}, format="json")
    assert response.status_code == 400
    text = str(response.json()[field] if field else response.json()["detail"])
    assert words in text


def review(user: User, proposal_id: int, decision: str, **more: Any) -> Any:
    return client_for(user).post(f"/api/proposals/{proposal_id}/reviews/", {"decision": decision, **more},
                                 format="json")


def test_the_author_cannot_approve_their_own_proposal(proposal: dict[str, Any], alice: User) -> None:
    Membership.objects.filter(user=alice).update(role=Membership.Role.REVIEWER)
    response = review(alice, proposal["id"], "approve", body="fine", override=True)
    assert response.status_code == 403
    assert "own proposal" in response.json()["detail"]


def test_a_viewer_can_neither_comment_nor_approve(proposal: dict[str, Any]) -> None:
    viewer = member("vera", Membership.Role.VIEWER)
    assert review(viewer, proposal["id"], "comment", body="hm").status_code == 403
    assert review(viewer, proposal["id"], "approve", body="ok", override=True).status_code == 403
    assert client_for(viewer).get(f"/api/proposals/{proposal['id']}/").status_code == 200


def test_an_author_comments_but_does_not_approve(proposal: dict[str, Any]) -> None:
    carol = member("carol", Membership.Role.AUTHOR)
    assert review(carol, proposal["id"], "comment", body="looks risky", flow="other/Pod/intruder -> prod/Pod/db"
                  ).status_code == 201
    assert review(carol, proposal["id"], "approve", body="ok", override=True).status_code == 403


def test_a_broken_expectation_needs_an_overriding_comment(proposal: dict[str, Any], bob: User) -> None:
    response = review(bob, proposal["id"], "approve")
    assert response.status_code == 400
    assert "breaks db-closed-to-other" in response.json()["detail"]
    assert review(bob, proposal["id"], "approve", body="ok", override=False).status_code == 400
    response = review(bob, proposal["id"], "approve", body="other needs the db for the migration", override=True)
    assert response.status_code == 201
    assert response.json()["overrides"] == ["db-closed-to-other"]
    assert Proposal.objects.get(id=proposal["id"]).state == "approved"


def test_every_transition_and_comment_is_kept(proposal: dict[str, Any], alice: User, bob: User) -> None:
    pid = proposal["id"]
    assert review(bob, pid, "request_changes", body="keep other out").status_code == 201
    assert review(alice, pid, "comment", body="other must reach it").status_code == 201
    assert review(bob, pid, "approve", body="agreed after the call", override=True).status_code == 201
    assert review(bob, pid, "apply").status_code == 201
    assert review(alice, pid, "close").status_code == 409  # applied is final
    data = client_for(alice).get(f"/api/proposals/{pid}/").json()
    assert data["state"] == "applied"
    assert [(r["author"], r["decision"], r["from_state"], r["to_state"]) for r in data["reviews"]] == [
        ("bob", "request_changes", "open", "changes_requested"),
        ("alice", "comment", "changes_requested", "changes_requested"),
        ("bob", "approve", "changes_requested", "approved"),
        ("bob", "apply", "approved", "applied"),
    ]
    assert all(r["created"] for r in data["reviews"])
    verbs = list(AuditEvent.objects.filter(object_type="policies.proposal", object_id=str(pid))
                 .order_by("id").values_list("actor_name", "verb"))
    assert verbs == [("alice", "proposed"), ("bob", "requested changes on"), ("alice", "commented on"),
                     ("bob", "approved"), ("bob", "applied")]


def test_approving_waits_for_the_analysis(api: APIClient, snapshot: Snapshot, bob: User) -> None:
    pid = api.post("/api/proposals/", {"base": snapshot.id, "title": "t", "manifests": OPEN_POLICY},
                   format="json").json()["id"]
    response = review(bob, pid, "approve")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]


def test_close_and_reopen_by_the_author_only(proposal: dict[str, Any], alice: User) -> None:
    carol = member("carol", Membership.Role.REVIEWER)
    assert review(carol, proposal["id"], "close").status_code == 403
    assert review(alice, proposal["id"], "close").status_code == 201
    assert review(alice, proposal["id"], "reopen").status_code == 201
    assert Proposal.objects.get(id=proposal["id"]).state == "open"


def test_a_viewer_cannot_propose(snapshot: Snapshot) -> None:
    viewer = member("vera", Membership.Role.VIEWER)
    response = client_for(viewer).post("/api/proposals/", {"base": snapshot.id, "title": "t",
                                                           "manifests": OPEN_POLICY}, format="json")
    assert response.status_code == 403


# --- expectations ---------------------------------------------------------------------------------


def test_admins_manage_expectations(db: None, alice: User) -> None:
    admin = member("ada", Membership.Role.ADMIN)
    response = client_for(admin).post("/api/expectations/", WEB_REACHES_DB, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["team"], created["name"], created["expect"], created["ports"]) == (
        "default", "web-reaches-db", "allow", ["TCP/5432"])
    assert client_for(alice).post("/api/expectations/", DB_CLOSED_TO_OTHER, format="json").status_code == 403
    assert [e["name"] for e in client_for(alice).get("/api/expectations/").json()["results"]] == ["web-reaches-db"]
    changed = client_for(admin).put(created["url"], {**WEB_REACHES_DB, "expect": "deny"}, format="json")
    assert changed.status_code == 200 and changed.json()["expect"] == "deny"
    assert client_for(alice).delete(created["url"]).status_code == 403
    assert client_for(admin).delete(created["url"]).status_code == 204


@pytest.mark.parametrize(("entry", "words"), [
    ({**WEB_REACHES_DB, "ports": ["TCP/http"]}, "ports[0]"),
    ({**WEB_REACHES_DB, "expect": "maybe"}, "expect must be allow or deny"),
    ({**WEB_REACHES_DB, "to": {"workload": "Deployment/db"}}, "a workload needs its namespace"),
    ({**WEB_REACHES_DB, "colour": "red"}, "unknown field 'colour'"),
])
def test_bad_expectations_are_400(db: None, entry: dict[str, Any], words: str) -> None:
    admin = member("ada", Membership.Role.ADMIN)
    response = client_for(admin).post("/api/expectations/", entry, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_every_analysis_checks_the_teams_expectations(expectations: None,
                                                      make_snapshot: Callable[..., Snapshot]) -> None:
    analysis = make_snapshot(OPEN_FILES).analyses.get()
    report = analysis.result["expectations"]
    assert report["ok"] is False
    assert [(r["name"], r["ok"]) for r in report["expectations"]] == [
        ("db-closed-to-other", False), ("web-reaches-db", True)]


# --- another team sees none of it -------------------------------------------------------------------


def test_another_team_gets_404_on_every_url(proposal: dict[str, Any], snapshot: Snapshot) -> None:
    outsider = member("oscar", Membership.Role.ADMIN, Team.objects.create(name="elsewhere"))
    client = client_for(outsider)
    expectation = TeamExpectation.objects.get(name="web-reaches-db")
    urls = [
        f"/api/proposals/{proposal['id']}/",
        f"/api/snapshots/{proposal['proposed']}/",
        f"/api/snapshots/{snapshot.id}/",
        f"/api/expectations/{expectation.id}/",
        f"/proposals/{proposal['id']}/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert review(outsider, proposal["id"], "comment", body="hi").status_code == 404
    assert review(outsider, proposal["id"], "approve", body="hi", override=True).status_code == 404
    assert client.put(f"/api/expectations/{expectation.id}/", WEB_REACHES_DB, format="json").status_code == 404
    assert client.delete(f"/api/expectations/{expectation.id}/").status_code == 404
    assert client.get("/api/proposals/").json()["results"] == []
    assert client.get("/api/expectations/").json()["results"] == []
    response = client.post("/api/proposals/", {"base": snapshot.id, "title": "t", "manifests": OPEN_POLICY},
                           format="json")
    assert response.status_code == 400 and "no snapshot" in str(response.json()["base"])


# --- what a change opens, closes and narrows, labels included ---------------------------------------

TRUSTED_POLICY = POLICY.replace("        - podSelector: {}\n",
                                "        - namespaceSelector: {matchLabels: {trusted: \"yes\"}}\n"
                                "        - podSelector: {matchLabels: {app: web}}\n")
TRUSTED_OTHER = """\
apiVersion: v1
kind: Namespace
metadata:
  name: other
  labels: {trusted: "yes"}
"""
WEB_RELABELLED = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
  labels: {app: frontend}
spec:
  containers: [{name: web, image: "web:1"}]
"""
TWO_PORTS = POLICY.replace("          port: 5432\n",
                           "          port: 5432\n        - protocol: TCP\n          port: 5433\n")


def flows(data: dict[str, Any], key: str) -> list[tuple[str, str]]:
    return [(e["source"], e["target"]) for e in data["diff"][key]]


def test_a_namespace_label_alone_opens_a_flow(api: APIClient, make_snapshot: Callable[..., Snapshot]) -> None:
    base = make_snapshot([("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", TRUSTED_POLICY)])
    response = api.post("/api/proposals/", {"base": base.id, "title": "trust other", "manifests": TRUSTED_OTHER},
                        format="json")
    data = analysed(response.json()["id"])
    assert flows(data, "added") == [("other/Pod/intruder", "prod/Pod/db")]
    assert data["policy_changes"] == []  # no policy changed: the flow opened through a label
    assert data["diff"]["added"][0]["cause"] == "endpoints"


def test_a_pod_label_alone_closes_a_flow(api: APIClient, make_snapshot: Callable[..., Snapshot]) -> None:
    base = make_snapshot([("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", TRUSTED_POLICY)])
    response = api.post("/api/proposals/", {"base": base.id, "title": "rename web", "manifests": WEB_RELABELLED},
                        format="json")
    data = analysed(response.json()["id"])
    assert flows(data, "removed") == [("prod/Pod/web", "prod/Pod/db")]
    proposed = Snapshot.objects.get(id=data["proposed"])
    assert proposed.resources.filter(kind="Pod", name="web").get().text.count("frontend") == 1
    assert proposed.resources.filter(kind="Pod").count() == 3  # the other pods of the file are kept


def test_a_narrowed_port_list_changes_a_flow(api: APIClient, make_snapshot: Callable[..., Snapshot]) -> None:
    base = make_snapshot([("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", TWO_PORTS)])
    response = api.post("/api/proposals/", {"base": base.id, "title": "only 5432", "manifests": POLICY},
                        format="json")
    data = analysed(response.json()["id"])
    [changed] = data["diff"]["changed"]
    assert (changed["source"], changed["target"]) == ("prod/Pod/web", "prod/Pod/db")
    assert changed["closed"]["ports"] == [{"protocol": "TCP", "from": 5433, "to": 5433}]
    assert data["diff"]["added"] == [] and data["diff"]["removed"] == []


def test_a_snapshot_under_review_is_not_deleted(proposal: dict[str, Any], api: APIClient) -> None:
    for snapshot_id in (proposal["base"], proposal["proposed"]):
        response = api.delete(f"/api/snapshots/{snapshot_id}/")
        assert response.status_code == 409
        assert f"proposals {proposal['id']} review this snapshot" in response.json()["detail"]
    assert Snapshot.objects.filter(id=proposal["base"]).exists()
