"""The proposal pages: propose from a snapshot (pasted YAML or files), the proposal page with the
broken expectation at the top, the opened flow by namespace, the YAML diff, and the review form."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from policies import services
from policies.models import Membership, Proposal, Snapshot, Team, TeamExpectation
from tests.conftest import OPEN_FILES, OPEN_POLICY


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def db_closed(db: None) -> TeamExpectation:
    return TeamExpectation.objects.create(team=Team.default(), name="db-closed-to-other", spec={
        "from": {"namespace": "other"}, "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
        "expect": "deny"})


def propose(client: Client, snapshot: Snapshot, **data: object) -> Proposal:
    response = client.post(f"/snapshots/{snapshot.id}/propose/", {"title": "open db", **data})
    assert response.status_code == 302, response.content.decode()[:2000]
    proposal = Proposal.objects.get(id=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    services.run_proposal(proposal_id=proposal.id)
    return proposal


def test_propose_with_pasted_yaml_then_see_the_review_page(alice: User, bob: User, snapshot: Snapshot,
                                                         db_closed: TeamExpectation) -> None:
    proposal = propose(logged_in(alice), snapshot, manifests=OPEN_POLICY)
    html = logged_in(bob).get(f"/proposals/{proposal.id}/").content.decode()
    # The broken expectation comes first, with the violating flow and its explanation.
    assert html.index('id="broken-expectations"') < html.index('id="opened"') < html.index('id="yaml-diff"')
    assert "other/intruder → prod/db TCP/5432" in html
    assert "Allowed: other/intruder may reach prod/db on TCP 5432" in html
    opened = html[html.index('id="opened"'):html.index('id="closed"')]
    assert "Namespace prod" in opened and 'data-flow="other/Pod/intruder -&gt; prod/Pod/db"' in opened
    assert "+        - namespaceSelector: {}" in html
    assert 'value="approve"' in html and 'id="review-override"' in html


def test_propose_with_a_file_and_a_delete(alice: User, snapshot: Snapshot) -> None:
    upload = SimpleUploadedFile("open.yaml", OPEN_POLICY.encode())
    proposal = propose(logged_in(alice), snapshot, files=upload, delete="")
    assert [c["change"] for c in proposal.policy_changes] == ["changed"]
    deleted = propose(logged_in(alice), snapshot, delete="prod/db-same-namespace\n")
    assert [c["change"] for c in deleted.policy_changes] == ["removed"]


def test_a_bad_proposal_says_what_is_wrong(alice: User, snapshot: Snapshot) -> None:
    response = logged_in(alice).post(f"/snapshots/{snapshot.id}/propose/", {"title": "t", "delete": "prod/none"})
    assert response.status_code == 400
    assert "the base has no policy prod/none" in response.content.decode()


def test_review_through_the_page(alice: User, bob: User, snapshot: Snapshot, db_closed: TeamExpectation) -> None:
    proposal = propose(logged_in(alice), snapshot, manifests=OPEN_POLICY)
    reviewer = logged_in(bob)
    page = f"/proposals/{proposal.id}/"
    response = reviewer.post(f"{page}review/", {"decision": "approve", "body": ""}, follow=True)
    assert "breaks db-closed-to-other" in response.content.decode()
    reviewer.post(f"{page}review/", {"decision": "comment", "body": "why other?",
                                     "flow": "other/Pod/intruder -> prod/Pod/db"})
    reviewer.post(f"{page}review/", {"decision": "approve", "body": "the migration needs it", "override": "on"})
    html = reviewer.get(page).content.decode()
    assert re.search(r'id="proposal-state">\s*Approved', html)
    assert 'class="small flow-comment"><strong>bob</strong>: why other?' in html
    assert "overriding db-closed-to-other" in html
    assert Proposal.objects.get(id=proposal.id).state == "approved"


def test_the_author_and_a_viewer_get_no_approve_button(alice: User, snapshot: Snapshot) -> None:
    proposal = propose(logged_in(alice), snapshot, manifests=OPEN_POLICY)
    assert 'value="approve"' not in logged_in(alice).get(f"/proposals/{proposal.id}/").content.decode()
    viewer = User.objects.create_user("vera")
    Membership.objects.create(team=Team.default(), user=viewer, role=Membership.Role.VIEWER)
    html = logged_in(viewer).get(f"/proposals/{proposal.id}/").content.decode()
    assert 'id="review-form"' not in html
    assert logged_in(viewer).post(f"/proposals/{proposal.id}/review/", {"decision": "comment", "body": "x"}
                                  ).status_code == 302
    assert not proposal.reviews.exists()


def test_another_team_gets_404_on_the_pages(alice: User, snapshot: Snapshot) -> None:
    proposal = propose(logged_in(alice), snapshot, manifests=OPEN_POLICY)
    outsider = User.objects.create_user("oscar")
    Membership.objects.create(team=Team.objects.create(name="elsewhere"), user=outsider, role=Membership.Role.ADMIN)
    client = logged_in(outsider)
    for url in (f"/proposals/{proposal.id}/", f"/snapshots/{proposal.proposed_id}/",
                f"/snapshots/{snapshot.id}/propose/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/proposals/{proposal.id}/review/", {"decision": "comment", "body": "x"}).status_code == 404
    assert "open db" not in client.get("/proposals/").content.decode()


def test_the_overview_shows_the_teams_expectations(alice: User, db_closed: TeamExpectation,
                                                   make_snapshot: Callable[..., Snapshot]) -> None:
    opened = make_snapshot(OPEN_FILES)
    html = logged_in(alice).get(f"/snapshots/{opened.id}/").content.decode()
    section = html[html.index('id="expectations"'):]
    assert "some fail" in section and 'data-expectation="db-closed-to-other"' in section
    assert "other/intruder → prod/db TCP/5432" in section


def test_the_overview_says_nothing_of_expectations_when_the_team_has_none(alice: User, snapshot: Snapshot) -> None:
    assert 'id="expectations"' not in logged_in(alice).get(f"/snapshots/{snapshot.id}/").content.decode()


EXPECTATIONS_FILE = """\
expectations:
- name: db-closed-to-other
  from: {namespace: other}
  to: {namespace: prod, podSelector: {matchLabels: {app: db}}}
  expect: deny
"""


def test_team_admins_edit_expectations_on_their_page(alice: User) -> None:
    admin = User.objects.create_user("ada")
    Membership.objects.create(team=Team.default(), user=admin, role=Membership.Role.ADMIN)
    url = "/teams/default/expectations/"
    assert logged_in(admin).post(url, {"text": EXPECTATIONS_FILE}).status_code == 302
    assert list(TeamExpectation.objects.values_list("name", flat=True)) == ["db-closed-to-other"]
    html = logged_in(alice).get(url).content.decode()
    assert 'data-expectation="db-closed-to-other"' in html and 'name="text"' not in html
    assert logged_in(alice).post(url, {"delete": "db-closed-to-other"}).status_code == 403
    bad = logged_in(admin).post(url, {"text": EXPECTATIONS_FILE.replace("deny", "never")})
    assert bad.status_code == 400
    assert "pasted text:5" in bad.content.decode() and "expectations[0].expect" in bad.content.decode()
    assert logged_in(admin).post(url, {"delete": "db-closed-to-other"}).status_code == 302
    assert not TeamExpectation.objects.exists()


def test_another_team_gets_404_on_the_expectations_page(db_closed: TeamExpectation) -> None:
    outsider = User.objects.create_user("oscar")
    Membership.objects.create(team=Team.objects.create(name="elsewhere"), user=outsider, role=Membership.Role.ADMIN)
    assert logged_in(outsider).get("/teams/default/expectations/").status_code == 404
    assert logged_in(outsider).post("/teams/default/expectations/", {"delete": db_closed.name}).status_code == 404
    assert TeamExpectation.objects.exists()
