"""On the embedded default (no REDIS_URL) a proposal's POST answers at once: a background thread of
the web process analyses the proposed snapshot and computes the diff and the expectation results,
while the proposal page shows the progress of both analyses. (With Redis, a Celery worker does it:
tests/integration/test_celery_worker.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from policies import services
from policies.models import Membership, Proposal, ProposalRevision, Team
from policies.services import analyses, proposals
from tests.conftest import FILES, OPEN_POLICY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def thread_runner(settings: Any) -> Iterator[None]:
    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    yield
    assert services.wait_for_proposals(timeout=60)
    assert services.wait_for_analyses(timeout=60)


@pytest.fixture
def held(thread_runner: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, list[str]]]:
    """Every analysis held until the test sets the event; the names of the threads proposals ran on."""
    release = threading.Event()
    compute, run = analyses._compute, proposals.run_proposal
    ran_on: list[str] = []

    def held_compute(analysis: Any) -> Any:
        assert release.wait(timeout=60)
        return compute(analysis)

    def recorded_run(*, proposal_id: int) -> None:
        ran_on.append(threading.current_thread().name)
        run(proposal_id=proposal_id)

    monkeypatch.setattr(analyses, "_compute", held_compute)
    monkeypatch.setattr(proposals, "run_proposal", recorded_run)
    yield release, ran_on
    release.set()


@pytest.fixture
def author(db: None) -> User:
    user = User.objects.create_user("ann")
    Membership.objects.create(team=Team.default(), user=user, role=Membership.Role.AUTHOR)
    return user


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_post_answers_at_once_and_the_page_shows_both_analyses_progress(
    held: tuple[threading.Event, list[str]], author: User,
) -> None:
    release, ran_on = held
    base = services.create_snapshot(name="prod", files=FILES)  # its analysis is held too
    response = api_for(author).post("/api/proposals/", {"base": base.id, "title": "open db",
                                                        "manifests": OPEN_POLICY}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["status"], created["diff"]) == ("pending", None)  # answered while nothing is analysed

    client = Client()
    client.force_login(author)
    page = client.get(f"/proposals/{created['id']}/").content.decode()
    assert 'id="proposal-waiting"' in page and 'http-equiv="refresh"' in page
    assert 'data-waiting="base"' in page and 'data-waiting="proposed"' in page
    assert 'id="progress-proposed"' in page  # its analysis is queued or running, with a progress bar

    release.set()
    assert services.wait_for_proposals(timeout=60)
    assert ran_on == ["netpol-proposals"]  # not the request's thread
    data = api_for(author).get(f"/api/proposals/{created['id']}/").json()
    assert data["status"] == "ready", data
    assert [(e["source"], e["target"]) for e in data["diff"]["added"]] == [("other/Pod/intruder", "prod/Pod/db")]
    page = client.get(f"/proposals/{created['id']}/").content.decode()
    assert 'id="proposal-waiting"' not in page and "other/intruder" in page


def test_a_revision_submitted_before_the_first_ran_is_the_only_one_computed(
    held: tuple[threading.Event, list[str]], author: User,
) -> None:
    """The thread is busy with another proposal while a second one gets its revision 2: revision 1
    of the second is skipped (no longer current), revision 2 computed."""
    release, ran_on = held
    base = services.create_snapshot(name="prod", files=FILES)
    api = api_for(author)
    busy = api.post("/api/proposals/", {"base": base.id, "title": "keeps the thread busy",
                                        "manifests": OPEN_POLICY}, format="json").json()
    created = api.post("/api/proposals/", {"base": base.id, "title": "open db", "manifests": OPEN_POLICY},
                       format="json").json()
    revised = api.post(f"/api/proposals/{created['id']}/revisions/", {"delete": ["prod/db-same-namespace"]},
                       format="json")
    assert revised.status_code == 201, revised.json()
    release.set()
    assert services.wait_for_proposals(timeout=60)
    assert ran_on == ["netpol-proposals"] * 2  # the busy one, then revision 2 only
    same_as_revision_1 = api.get(f"/api/proposals/{busy['id']}/").json()
    assert same_as_revision_1["status"] == "ready"
    data = api.get(f"/api/proposals/{created['id']}/").json()
    assert (data["status"], data["revision"]) == ("ready", 2), data
    assert data["diff"] != same_as_revision_1["diff"]  # the deletion's diff, not the first revision's
    first = ProposalRevision.objects.get(proposal_id=created["id"], number=1)
    assert first.status == Proposal.Status.PENDING and first.diff is None  # superseded before it ran


def test_a_run_left_by_a_stopped_server_is_queued_again_when_its_page_shows_it(
    thread_runner: None, author: User,
) -> None:
    base = services.create_snapshot(name="prod", files=FILES)
    assert services.wait_for_analyses(timeout=60)
    with mock.patch.object(proposals._background, "submit"):  # the server stops before running it
        created = api_for(author).post("/api/proposals/", {"base": base.id, "title": "open db",
                                                           "manifests": OPEN_POLICY}, format="json").json()
    assert services.wait_for_analyses(timeout=60)
    earlier = timezone.now() - timedelta(hours=1)  # submitted before this process started
    ProposalRevision.objects.filter(proposal_id=created["id"]).update(created=earlier)
    assert Proposal.objects.get(id=created["id"]).status == Proposal.Status.PENDING

    client = Client()
    client.force_login(author)
    assert 'id="proposal-waiting"' in client.get(f"/proposals/{created['id']}/").content.decode()
    assert services.wait_for_proposals(timeout=60)
    assert Proposal.objects.get(id=created["id"]).status == Proposal.Status.READY
