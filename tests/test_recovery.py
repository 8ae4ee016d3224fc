"""Analyses never lost or stuck, in one process: merged re-analyse requests, a broker that is down
at upload (503, queued, sent by the sweep), the sweep over running analyses whose worker stopped,
and the message that carries no time limit. tests/integration does the same with real processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from celery.signals import before_task_publish
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from policies import services, tasks
from policies.models import Analysis, Snapshot

MakeSnapshot = Callable[..., Snapshot]


@pytest.fixture
def broker_down() -> Iterator[mock.MagicMock]:
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(tasks.compute_analysis, "apply_async", side_effect=refused) as apply_async:
        yield apply_async


def test_repeated_reanalyse_requests_merge_into_the_pending_analysis(
    api: APIClient, snapshot: Snapshot, django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch.object(tasks.compute_analysis, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            answers = [api.post(f"/api/snapshots/{snapshot.id}/analyze/") for _ in range(10)]

    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert snapshot.analyses.count() == 2  # the first, done, and one pending
    apply_async.assert_called_once()


def test_a_reanalyse_request_after_the_pending_one_finished_queues_a_new_one(
    api: APIClient, snapshot: Snapshot
) -> None:
    first = api.post(f"/api/snapshots/{snapshot.id}/analyze/").json()["id"]
    services.run_analysis(analysis_id=first)
    second = api.post(f"/api/snapshots/{snapshot.id}/analyze/").json()["id"]
    assert second != first


@pytest.mark.django_db(transaction=True)  # publishing happens after a real COMMIT
def test_an_upload_while_the_broker_is_down_is_503_and_its_analysis_waits_queued(
    api: APIClient, manifests: dict[str, Any], broker_down: mock.MagicMock
) -> None:
    response = api.post("/api/snapshots/", {"name": "prod", "manifests": manifests["pods"]}, format="json")

    assert response.status_code == 503, response.content
    body = response.json()
    snapshot = Snapshot.objects.get()
    assert body["snapshot"] == snapshot.id
    assert body["detail"] == (
        f"the analysis queue is unavailable; snapshot {snapshot.id} is stored and its analysis "
        f"{body['analysis']['id']} will start when the queue is back"
    )
    analysis = snapshot.analyses.get()
    assert (analysis.status, analysis.published) == ("queued", None)
    assert response["Retry-After"] == "60"


@pytest.mark.django_db(transaction=True)  # publishing happens after a real COMMIT
def test_the_sweep_sends_what_the_broker_could_not_take_once_it_is_back(
    api: APIClient, manifests: dict[str, Any], broker_down: mock.MagicMock
) -> None:
    api.post("/api/snapshots/", {"name": "prod", "manifests": manifests["pods"]}, format="json")
    analysis = Analysis.objects.get()

    assert services.sweep().unpublished == [analysis.id]  # still down
    broker_down.side_effect = None
    report = services.sweep()

    assert report.published == [analysis.id]
    broker_down.assert_called_with((analysis.id,), time_limit=None, soft_time_limit=None)
    analysis.refresh_from_db()
    assert analysis.published is not None
    assert services.sweep().published == []  # sent once, not at every sweep


@pytest.mark.django_db(transaction=True)  # publishing happens after a real COMMIT
def test_a_reanalyse_request_while_the_broker_is_down_is_503(
    api: APIClient, snapshot: Snapshot, broker_down: mock.MagicMock
) -> None:
    response = api.post(f"/api/snapshots/{snapshot.id}/analyze/")
    assert response.status_code == 503
    assert "will start when the queue is back" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)  # publishing happens after a real COMMIT
def test_the_upload_page_says_the_snapshot_is_stored_when_the_broker_is_down(
    api: APIClient, manifests: dict[str, Any], broker_down: mock.MagicMock
) -> None:
    response = api.post("/snapshots/upload/", {"name": "prod", "manifests": manifests["pods"]}, follow=True)
    assert response.status_code == 200
    assert "will start when the queue is back" in response.content.decode()
    assert Snapshot.objects.get().analyses.get().status == "queued"


def stopped_running(make_snapshot: MakeSnapshot, *, attempts: int, beat_age: float) -> Analysis:
    analysis = make_snapshot(analyse=False).analyses.get()
    beat = timezone.now() - timedelta(seconds=beat_age)
    Analysis.objects.filter(id=analysis.id).update(
        status="running", attempts=attempts, started=beat, heartbeat=beat, progress=0.21
    )
    return Analysis.objects.get(id=analysis.id)


def test_the_sweep_queues_again_an_analysis_whose_worker_stopped(
    make_snapshot: MakeSnapshot, settings: Any
) -> None:
    analysis = stopped_running(make_snapshot, attempts=1, beat_age=settings.NETPOL_HEARTBEAT_STALE + 1)

    with mock.patch.object(tasks.compute_analysis, "apply_async") as apply_async:
        report = services.sweep()

    assert report.requeued == [analysis.id]
    assert report.published == [analysis.id]
    apply_async.assert_called_once_with((analysis.id,), time_limit=None, soft_time_limit=None)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.progress) == ("queued", 0.0)
    assert analysis.progress_message == "queued again: the worker running it stopped"

    services.run_analysis(analysis_id=analysis.id)  # what the worker does with the message
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == ("done", 2)


def test_the_sweep_fails_an_analysis_whose_workers_stopped_too_often(
    make_snapshot: MakeSnapshot, settings: Any
) -> None:
    settings.NETPOL_MAX_ATTEMPTS = 3
    analysis = stopped_running(make_snapshot, attempts=3, beat_age=settings.NETPOL_HEARTBEAT_STALE + 1)

    assert services.sweep().failed == [analysis.id]

    analysis.refresh_from_db()
    assert analysis.status == "failed"
    assert analysis.error == (
        "the analysis was started 3 times and each time its worker stopped "
        "(killed, out of memory or restarted) before it finished"
    )


def test_a_live_run_is_left_alone_by_the_sweep_and_by_a_duplicate_message(
    make_snapshot: MakeSnapshot, settings: Any
) -> None:
    analysis = stopped_running(make_snapshot, attempts=1, beat_age=1)
    settings.NETPOL_HEARTBEAT_STALE = 60

    assert services.sweep().requeued == []
    services.run_analysis(analysis_id=analysis.id)  # a duplicate delivery

    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts, analysis.progress) == ("running", 1, 0.21)


def test_a_redelivered_message_of_a_run_whose_worker_died_starts_it_over(
    make_snapshot: MakeSnapshot, settings: Any
) -> None:
    analysis = stopped_running(make_snapshot, attempts=1, beat_age=settings.NETPOL_HEARTBEAT_STALE + 1)
    services.run_analysis(analysis_id=analysis.id)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == ("done", 2)


def test_the_published_message_carries_no_time_limit(make_snapshot: MakeSnapshot) -> None:
    """Published through the in-memory broker: the headers are what a worker would receive."""
    analysis = make_snapshot(analyse=False).analyses.get()
    seen: list[dict[str, Any]] = []

    def capture(headers: dict[str, Any], **_: Any) -> None:
        seen.append(headers)

    before_task_publish.connect(capture, weak=False)
    app = tasks.compute_analysis.app
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        assert services.publish(analysis_id=analysis.id)
    finally:
        app.conf.task_always_eager = eager
        before_task_publish.disconnect(capture)

    assert seen[0]["task"] == "policies.tasks.compute_analysis"
    assert list(seen[0]["timelimit"]) == [None, None]
