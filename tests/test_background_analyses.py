"""Uploads never wait for their analysis: on the embedded default a background thread of the web
process runs it ("thread" runner) while the snapshot page shows its progress, then the answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from policies import services, tasks
from policies.models import Analysis, Snapshot
from policies.services import analyses
from policies.services.background import BackgroundRunner


def test_the_runner_runs_what_it_is_given_and_survives_a_failure() -> None:
    done: list[int] = []

    def run(analysis_id: int) -> None:
        if analysis_id == 2:
            raise RuntimeError("boom")
        done.append(analysis_id)

    runner = BackgroundRunner(run)
    for analysis_id in (1, 2, 3):
        runner.submit(analysis_id)
    assert runner.wait(timeout=30)
    assert done == [1, 3]
    assert not runner.knows(3)


def test_the_runner_resumes_only_what_an_earlier_process_left() -> None:
    ran: list[int] = []
    runner = BackgroundRunner(ran.append)
    assert not runner.resume(1, runner.started_at + timedelta(seconds=1)), "created by this process"
    assert runner.resume(2, runner.started_at - timedelta(seconds=1))
    assert runner.wait(timeout=30)
    assert ran == [2]


@pytest.fixture
def held(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The thread runner with every analysis held until the test sets the event."""
    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    release = threading.Event()
    compute = analyses._compute

    def held_compute(analysis: Analysis) -> Any:
        assert release.wait(timeout=60)
        return compute(analysis)

    monkeypatch.setattr(analyses, "_compute", held_compute)
    yield release
    release.set()
    assert services.wait_for_analyses(timeout=60)


@pytest.fixture
def browser(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def files(manifests: dict[str, Any]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(n, t.encode(), content_type="application/yaml") for n, t in manifests["files"]]


@pytest.mark.django_db(transaction=True)
def test_an_api_upload_returns_before_its_analysis_and_the_page_shows_progress_then_answers(
    held: threading.Event, browser: Client, manifests: dict[str, Any]
) -> None:
    response = browser.post("/api/snapshots/", {"name": "prod", "files": files(manifests)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["analysis"]["status"] in ("queued", "running")

    page = browser.get(f"/snapshots/{body['id']}/")
    assert b'id="analysis-progress"' in page.content
    assert browser.get(f"/api/snapshots/{body['id']}/graph/").status_code == 409

    held.set()
    assert services.wait_for_analyses(timeout=60)
    assert Analysis.objects.get(id=body["analysis"]["id"]).status == Analysis.Status.DONE
    page = browser.get(f"/snapshots/{body['id']}/")
    assert b'id="analysis-progress"' not in page.content
    assert browser.get(f"/api/snapshots/{body['id']}/graph/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_page_upload_redirects_before_its_analysis(
    held: threading.Event, browser: Client, manifests: dict[str, Any]
) -> None:
    response = browser.post("/snapshots/upload/", {"name": "prod", "files": files(manifests)})
    assert response.status_code == 302, response.content
    snapshot = Snapshot.objects.get()
    assert response["Location"] == f"/snapshots/{snapshot.id}/"
    assert snapshot.latest_analysis().status in ("queued", "running")
    held.set()
    assert services.wait_for_analyses(timeout=60)
    assert snapshot.latest_analysis().status == Analysis.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_an_analysis_left_by_a_stopped_server_runs_when_its_page_is_shown(
    settings: Any, browser: Client, manifests: dict[str, Any]
) -> None:
    settings.NETPOL_ANALYSIS_RUNNER = "celery"
    with mock.patch.object(tasks.compute_analysis, "apply_async"):  # sent to a worker that never came
        snapshot = services.create_snapshot(name="prod", files=manifests["files"])
    analysis = snapshot.latest_analysis()
    Analysis.objects.filter(id=analysis.id).update(created=timezone.now() - timedelta(days=1))

    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    browser.get(f"/snapshots/{snapshot.id}/")
    assert services.wait_for_analyses(timeout=60)
    assert snapshot.latest_analysis().status == Analysis.Status.DONE
