"""Revisions of a proposal through the API: after a review asks for changes, the author submits the
change again; the proposal keeps every revision's change, diff and expectation results, each review
names the revision it was made on, and an approval of an earlier revision does not carry over."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from policies import services
from policies.models import AuditEvent, Membership, Proposal, Snapshot, Team, TeamExpectation
from tests.conftest import OPEN_POLICY, POLICY
from tests.test_proposals_api import DB_CLOSED_TO_OTHER, WEB_REACHES_DB, analysed, client_for, member, review

# web may reach db on 5432 and 5433: a change that opens a port, and breaks no expectation.
TWO_PORTS = POLICY.replace("          port: 5432\n",
                           "          port: 5432\n        - protocol: TCP\n          port: 5433\n")


def revise(user: User, proposal_id: int, **body: Any) -> Any:
    return client_for(user).post(f"/api/proposals/{proposal_id}/revisions/", body, format="json")


@pytest.fixture
def proposal(api: APIClient, snapshot: Snapshot) -> dict[str, Any]:
    """alice proposes db open to every namespace, which breaks db-closed-to-other."""
    for entry in (DB_CLOSED_TO_OTHER, WEB_REACHES_DB):
        TeamExpectation.objects.create(team=Team.default(), name=entry["name"],
                                       spec={k: v for k, v in entry.items() if k != "name"})
    response = api.post("/api/proposals/", {"base": snapshot.id, "title": "open db", "manifests": OPEN_POLICY},
                        format="json")
    assert response.status_code == 201, response.json()
    return analysed(response.json()["id"])


@pytest.fixture
def asked_to_change(proposal: dict[str, Any], bob: User) -> dict[str, Any]:
    """alice's proposal (it opens db to every namespace), on which bob requested changes."""
    assert review(bob, proposal["id"], "request_changes", body="keep other out").status_code == 201
    return proposal


def test_a_revision_reopens_the_proposal_and_keeps_the_history(asked_to_change: dict[str, Any], alice: User,
                                                               bob: User) -> None:
    pid = asked_to_change["id"]
    response = revise(alice, pid, manifests=TWO_PORTS, body="only web, on a second port")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["number"], created["status"], created["diff"], created["author"]) == (2, "pending", None, "alice")
    assert [r["decision"] for r in created["reviews"]] == ["revise"]

    data = analysed(pid)
    assert (data["state"], data["revision"], data["revisions"], data["status"]) == ("open", 2, [1, 2], "ready")
    assert data["proposed"] == created["proposed"] != asked_to_change["proposed"]
    assert [(e["source"], e["target"]) for e in data["diff"]["changed"]] == [("prod/Pod/web", "prod/Pod/db")]
    assert data["diff"]["added"] == [] and data["broken_expectations"] == []
    assert [(r["decision"], r["revision"], r["from_state"], r["to_state"]) for r in data["reviews"]] == [
        ("request_changes", 1, "open", "changes_requested"),
        ("revise", 2, "changes_requested", "open"),
    ]

    revisions = client_for(bob).get(f"/api/proposals/{pid}/revisions/").json()
    first, second = revisions
    assert (first["number"], second["number"]) == (1, 2)
    assert first["manifests"] == OPEN_POLICY and second["manifests"] == TWO_PORTS
    assert [(e["source"], e["target"]) for e in first["diff"]["added"]] == [("other/Pod/intruder", "prod/Pod/db")]
    assert first["broken_expectations"] == ["db-closed-to-other"] and second["broken_expectations"] == []
    assert [r["decision"] for r in first["reviews"]] == ["request_changes"]
    assert [(r["decision"], r["body"]) for r in second["reviews"]] == [("revise", "only web, on a second port")]
    # The snapshot of the first revision stays: its history points at it.
    assert Snapshot.objects.filter(id=asked_to_change["proposed"]).exists()
    events = AuditEvent.objects.filter(object_type="policies.proposal", object_id=str(pid))
    assert "revised" in list(events.values_list("verb", flat=True))


def test_an_approval_does_not_carry_over_to_a_new_revision(proposal: dict[str, Any], alice: User, bob: User) -> None:
    pid = proposal["id"]
    assert review(bob, pid, "approve", body="other needs it for the migration", override=True).status_code == 201
    assert revise(alice, pid, manifests=TWO_PORTS).status_code == 201
    pending = Proposal.objects.get(id=pid)
    assert (pending.state, pending.revision) == ("open", 2)
    assert review(bob, pid, "approve", body="ok").status_code == 409  # its analysis is pending
    analysed(pid)
    assert review(bob, pid, "apply").status_code == 409  # open, not approved
    assert review(bob, pid, "approve", body="ok", revision=1).status_code == 409  # read an earlier revision
    response = review(bob, pid, "approve", body="fine now", revision=2)
    assert response.status_code == 201 and response.json()["revision"] == 2
    data = client_for(bob).get(f"/api/proposals/{pid}/").json()
    assert [(r["decision"], r["revision"]) for r in data["reviews"]] == [
        ("approve", 1), ("revise", 2), ("approve", 2)]


def test_a_revision_can_name_another_proposed_snapshot_or_delete(asked_to_change: dict[str, Any], alice: User,
                                                                  snapshot: Snapshot) -> None:
    pid = asked_to_change["id"]
    response = revise(alice, pid, delete=["prod/db-same-namespace"])
    assert response.status_code == 201
    data = analysed(pid)
    assert [c["change"] for c in data["policy_changes"]] == ["removed"]
    response = revise(alice, pid, proposed=snapshot.id)  # the base itself: nothing changes
    assert response.status_code == 201
    data = analysed(pid)
    assert (data["revision"], data["proposed"]) == (3, snapshot.id)
    assert data["diff"]["added"] == data["diff"]["removed"] == data["diff"]["changed"] == []


@pytest.mark.parametrize(("body", "field", "words"), [
    ({}, None, "a proposal changes something"),
    ({"manifests": "kind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  podSelector: 3\n"}, None, "proposal.yaml"),
    ({"delete": ["prod/nothing-here"]}, None, "delete[0]: the base has no policy prod/nothing-here"),
    ({"manifests": POLICY, "proposed": 1}, None, 'either "proposed" or "manifests"'),
    ({"proposed": 999999}, "proposed", "no snapshot 999999"),
])
def test_bad_revisions_are_400_naming_the_problem(asked_to_change: dict[str, Any], alice: User, snapshot: Snapshot,
                                                  body: dict[str, Any], field: str | None, words: str) -> None:
    if body.get("proposed") == 1:
        body = {**body, "proposed": snapshot.id}
    response = revise(alice, asked_to_change["id"], **body)
    assert response.status_code == 400
    assert words in str(response.json()[field] if field else response.json()["detail"])
    assert Proposal.objects.get(id=asked_to_change["id"]).revision == 1


def test_who_may_revise(asked_to_change: dict[str, Any], alice: User, bob: User) -> None:
    pid = asked_to_change["id"]
    assert revise(bob, pid, manifests=TWO_PORTS).status_code == 403  # a reviewer, not its author
    viewer = member("vera", Membership.Role.VIEWER)
    assert revise(viewer, pid, manifests=TWO_PORTS).status_code == 403
    outsider = member("oscar", Membership.Role.ADMIN, Team.objects.create(name="elsewhere"))
    assert revise(outsider, pid, manifests=TWO_PORTS).status_code == 404
    assert client_for(outsider).get(f"/api/proposals/{pid}/revisions/").status_code == 404
    admin = member("ada", Membership.Role.ADMIN)
    assert revise(admin, pid, manifests=TWO_PORTS).status_code == 201  # a team admin may


def test_a_closed_proposal_takes_no_revision(proposal: dict[str, Any], alice: User) -> None:
    assert review(alice, proposal["id"], "close").status_code == 201
    response = revise(alice, proposal["id"], manifests=TWO_PORTS)
    assert response.status_code == 409 and "reopen it first" in response.json()["detail"]


def test_the_revision_page_form(asked_to_change: dict[str, Any], alice: User, bob: User) -> None:
    pid = asked_to_change["id"]
    client = Client()
    client.force_login(alice)
    page = client.get(f"/proposals/{pid}/").content.decode()
    assert 'id="revise-form"' in page and "Submit revision 2" in page
    bad = client.post(f"/proposals/{pid}/revise/", {"manifests": "kind: [", "delete": ""})
    assert bad.status_code == 302
    assert "proposal.yaml" in client.get(f"/proposals/{pid}/").content.decode()
    response = client.post(f"/proposals/{pid}/revise/", {"manifests": TWO_PORTS, "delete": "", "body": "narrower"})
    assert response.status_code == 302 and response["Location"] == f"/proposals/{pid}/"
    services.run_proposal(proposal_id=pid)
    page = client.get(f"/proposals/{pid}/").content.decode()
    assert "Revision 2 of 2" in page
    assert 'data-revision="1"' in page and 'data-revision="2"' in page
    reviewer = Client()
    reviewer.force_login(bob)
    page = reviewer.get(f"/proposals/{pid}/").content.decode()
    assert 'id="revise-form"' not in page  # bob is not its author
    assert 'name="revision" value="2"' in page  # the review form names the revision bob read
    earlier = reviewer.get(f"/proposals/{pid}/?revision=1").content.decode()
    assert "other/Pod/intruder" in earlier and "an earlier revision" in earlier
