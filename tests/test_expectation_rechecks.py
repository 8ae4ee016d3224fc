"""A change of a team's expectations (API, page, file) is checked again in the background against the
latest analysis of every team snapshot and every open proposal; until then the overview and the
proposal page say "re-checking" instead of showing results of the outdated set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from policies import services
from policies.models import Analysis, Membership, Proposal, Snapshot, Team, TeamExpectation
from policies.services import analyses
from tests.conftest import FILES, OPEN_FILES, OPEN_POLICY
from tests.test_proposals_api import DB_CLOSED_TO_OTHER, WEB_REACHES_DB, client_for, member, review

DB_FILE = """\
expectations:
- name: db-closed-to-other
  from: {namespace: other}
  to: {namespace: prod, podSelector: {matchLabels: {app: db}}}
  expect: deny
"""


def names(report: dict[str, Any] | None) -> list[tuple[str, bool]]:
    return [(r["name"], r["ok"]) for r in (report or {}).get("expectations", [])]


def latest(snapshot: Snapshot) -> Analysis:
    analysis = snapshot.latest_analysis()
    assert analysis is not None
    return analysis


@pytest.fixture
def ada(db: None) -> User:
    return member("ada", Membership.Role.ADMIN)


@pytest.fixture
def open_snapshot(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    """A snapshot where other reaches db, analysed while the team had one expectation."""
    TeamExpectation.objects.create(team=Team.default(), name="web-reaches-db",
                                   spec={k: v for k, v in WEB_REACHES_DB.items() if k != "name"})
    return make_snapshot(OPEN_FILES, name="open")


@pytest.fixture
def open_proposal(api: APIClient, snapshot: Snapshot, open_snapshot: Snapshot) -> int:
    response = api.post("/api/proposals/", {"base": snapshot.id, "title": "open db", "manifests": OPEN_POLICY},
                        format="json")
    pid: int = response.json()["id"]
    services.run_proposal(proposal_id=pid)
    return pid


def test_an_added_expectation_is_checked_on_every_snapshot_and_open_proposal(
    ada: User, alice: User, bob: User, snapshot: Snapshot, open_snapshot: Snapshot, open_proposal: int,
    django_capture_on_commit_callbacks: Any,
) -> None:
    closed = Proposal.objects.create(team=Team.default(), title="closed one", base=snapshot, proposed=open_snapshot,
                                     state=Proposal.State.CLOSED, status=Proposal.Status.READY,
                                     expectations_version=0)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_for(ada).post("/api/expectations/", DB_CLOSED_TO_OTHER, format="json")
    assert response.status_code == 201
    assert Team.default().expectations_version == 1
    assert len(queued) == 1  # the re-check, after COMMIT

    # Until the re-check ran: nothing of the outdated set is shown as current.
    page = client_for(alice).get(f"/snapshots/{open_snapshot.id}/").content.decode()
    assert 'id="expectations-rechecking"' in page and 'data-expectation="web-reaches-db"' not in page
    data = client_for(alice).get(f"/api/proposals/{open_proposal}/").json()
    assert data["expectations_status"] == "rechecking" and data["expectations_version"] == 0
    page = client_for(alice).get(f"/proposals/{open_proposal}/").content.decode()
    assert 'id="expectations-rechecking"' in page and 'data-expectation=' not in page
    response = review(bob, open_proposal, "approve", body="fine", override=True)
    assert response.status_code == 409 and "checked again" in response.json()["detail"]

    for callback in queued:
        callback()  # the Celery task (eager in the tests)

    for s, expected in ((snapshot, [("db-closed-to-other", True), ("web-reaches-db", True)]),
                        (open_snapshot, [("db-closed-to-other", False), ("web-reaches-db", True)])):
        analysis = latest(s)
        assert analysis.result["expectations_version"] == 1
        assert names(analysis.result["expectations"]) == expected
    data = client_for(alice).get(f"/api/proposals/{open_proposal}/").json()
    assert data["expectations_status"] == "current" and data["expectations_version"] == 1
    assert data["broken_expectations"] == ["db-closed-to-other"]
    [current_revision] = client_for(alice).get(f"/api/proposals/{open_proposal}/revisions/").json()
    assert current_revision["broken_expectations"] == ["db-closed-to-other"]
    page = client_for(alice).get(f"/snapshots/{open_snapshot.id}/").content.decode()
    assert 'id="expectations-rechecking"' not in page and 'data-expectation="db-closed-to-other"' in page
    page = client_for(alice).get(f"/proposals/{open_proposal}/").content.decode()
    assert 'id="broken-expectations"' in page
    closed.refresh_from_db()
    assert closed.expectations_version == 0  # closed proposals keep the results they were closed with


def test_an_edit_and_a_delete_are_checked_again(ada: User, open_snapshot: Snapshot,
                                                django_capture_on_commit_callbacks: Any) -> None:
    item = TeamExpectation.objects.get(name="web-reaches-db")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ada).put(f"/api/expectations/{item.id}/", {**WEB_REACHES_DB, "expect": "deny"},
                                       format="json")
    assert response.status_code == 200
    analysis = latest(open_snapshot)
    assert (analysis.result["expectations_version"], names(analysis.result["expectations"])) == (
        1, [("web-reaches-db", False)])
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(ada).delete(f"/api/expectations/{item.id}/").status_code == 204
    analysis = latest(open_snapshot)
    assert (analysis.result["expectations_version"], analysis.result["expectations"]) == (2, None)


def test_the_expectations_page_and_file_upload_are_checked_again(ada: User, open_snapshot: Snapshot,
                                                                 django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    client.force_login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/teams/default/expectations/", {"text": DB_FILE})
    assert response.status_code == 302
    assert names(latest(open_snapshot).result["expectations"]) == [("db-closed-to-other", False),
                                                                   ("web-reaches-db", True)]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/teams/default/expectations/", {"delete": "db-closed-to-other"}).status_code == 302
    analysis = latest(open_snapshot)
    assert names(analysis.result["expectations"]) == [("web-reaches-db", True)]
    assert analysis.result["expectations_version"] == Team.default().expectations_version == 2


def test_an_analysis_running_while_the_expectations_change_ends_with_the_new_set(
    make_snapshot: Callable[..., Snapshot], monkeypatch: pytest.MonkeyPatch, db: None,
) -> None:
    compute = analyses._compute

    def compute_then_edit(analysis: Analysis) -> Any:
        result = compute(analysis)  # checked the expectations as they were: none
        services.save_expectation(team=Team.default(), data=DB_CLOSED_TO_OTHER, user=None)
        return result

    monkeypatch.setattr(analyses, "_compute", compute_then_edit)
    snapshot = make_snapshot(OPEN_FILES)
    analysis = latest(snapshot)
    assert analysis.result["expectations_version"] == 1
    assert names(analysis.result["expectations"]) == [("db-closed-to-other", False)]


@pytest.fixture
def thread_runner(settings: Any) -> Iterator[None]:
    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    yield
    assert services.wait_for_rechecks(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_the_thread_runner_rechecks_in_the_background(thread_runner: None) -> None:
    snapshot = services.create_snapshot(name="prod", files=FILES)  # analysed by the thread
    assert services.wait_for_analyses(timeout=60)
    assert latest(snapshot).result["expectations"] is None
    services.save_expectation(team=Team.default(), data=DB_CLOSED_TO_OTHER, user=None)  # autocommit: queued
    assert services.wait_for_rechecks(timeout=60)
    analysis = latest(snapshot)
    assert analysis.result["expectations_version"] == 1
    assert names(analysis.result["expectations"]) == [("db-closed-to-other", True)]


@pytest.mark.django_db(transaction=True)
def test_a_recheck_left_by_a_stopped_server_is_queued_when_a_page_shows_it(thread_runner: None) -> None:
    snapshot = services.create_snapshot(name="prod", files=FILES)  # analysed by the thread
    assert services.wait_for_analyses(timeout=60)
    TeamExpectation.objects.create(team=Team.default(), name="db-closed-to-other",
                                   spec={k: v for k, v in DB_CLOSED_TO_OTHER.items() if k != "name"})
    Team.objects.filter(id=Team.default().id).update(expectations_version=5)  # changed, its re-check lost
    viewer = User.objects.create_user("vera")
    Membership.objects.create(team=Team.default(), user=viewer, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(viewer)
    assert 'id="expectations-rechecking"' in client.get(f"/snapshots/{snapshot.id}/").content.decode()
    assert services.wait_for_rechecks(timeout=60)
    page = client.get(f"/snapshots/{snapshot.id}/").content.decode()
    assert 'id="expectations-rechecking"' not in page and 'data-expectation="db-closed-to-other"' in page
