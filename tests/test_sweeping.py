"""Who sweeps for lost or stuck analyses: Celery workers (tests/integration), Celery beat (a task on
the sweep interval) and, on the embedded default, the web process that runs the analyses."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from netpol_site.celery import app
from policies import services, tasks, worker
from policies.models import Analysis, Snapshot, Team
from policies.services import analyses, rechecks, recovery
from tests.conftest import FILES


def stuck(snapshot: Snapshot, stale: float) -> Analysis:
    """An analysis that says "running" although its runner stopped beating long ago."""
    beat = timezone.now() - timedelta(seconds=stale + 1)
    return Analysis.objects.create(
        snapshot=snapshot, status="running", attempts=1, started=beat, heartbeat=beat, progress=0.21
    )


def test_beat_sends_the_sweep_every_sweep_interval(settings: Any) -> None:
    entry = app.conf.beat_schedule["sweep-analyses"]
    assert entry["task"] == tasks.sweep_analyses.name == "policies.tasks.sweep_analyses"
    assert entry["schedule"] == settings.NETPOL_SWEEP_INTERVAL


def test_the_beat_task_sweeps(make_snapshot: Any, settings: Any) -> None:
    analysis = stuck(make_snapshot(), settings.NETPOL_HEARTBEAT_STALE)
    with mock.patch.object(tasks.compute_analysis, "apply_async") as apply_async:
        tasks.sweep_analyses.delay()  # as a worker runs beat's message (eager in the tests)
    apply_async.assert_called_once_with((analysis.id,), time_limit=None, soft_time_limit=None)
    analysis.refresh_from_db()
    assert analysis.status == "queued"
    assert analysis.progress_message == "queued again: the worker running it stopped"


@pytest.mark.django_db(transaction=True)
def test_the_web_process_sweeps_on_the_embedded_default(settings: Any) -> None:
    snapshot = services.create_snapshot(name="prod", files=FILES)  # analysed (Celery eager)
    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    analysis = stuck(snapshot, settings.NETPOL_HEARTBEAT_STALE)
    assert not worker.sweeping()

    assert Client().get("/api/health/").status_code == 200  # any request starts the sweep
    assert worker.sweeping()
    deadline = timezone.now() + timedelta(seconds=60)
    while timezone.now() < deadline and Analysis.objects.get(id=analysis.id).status != "done":
        services.wait_for_analyses(timeout=1)
        time.sleep(0.1)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == ("done", 2)  # queued again and run by this process


def test_with_celery_workers_the_web_process_leaves_the_sweep_to_them(db: None) -> None:
    assert Client().get("/api/health/").status_code == 200
    assert not worker.sweeping()


def test_a_worker_sweeps_from_ready_to_shutdown(db: None, settings: Any) -> None:
    settings.NETPOL_SWEEP_INTERVAL = 3600
    with mock.patch.object(services, "sweep") as sweep:
        worker.start_sweeping()  # celery's worker_ready
        worker.start_sweeping()  # once only
        assert worker.sweeping()
        worker.stop_sweeping()  # worker_shutdown
    assert not worker.sweeping()
    sweep.assert_called_once_with()


def test_a_heartbeat_the_database_refuses_once_keeps_beating(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared SQLite file is locked now and then: a heartbeat that died with it would make a
    live run look stopped to the sweep."""
    settings.NETPOL_HEARTBEAT_INTERVAL = 0.01
    beats: list[dict[str, Any]] = []

    class Rows:
        def update(self, **fields: Any) -> int:
            beats.append(fields)
            if len(beats) == 1:
                raise OperationalError("database table is locked")
            return 1

    monkeypatch.setattr(analyses.Analysis.objects, "filter", lambda **_: Rows())
    with analyses._heartbeat(1):
        deadline = time.monotonic() + 30
        while len(beats) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(beats) >= 3


def test_a_recheck_the_broker_refused_is_queued_again_by_the_sweep(db: None, settings: Any) -> None:
    settings.NETPOL_ANALYSIS_RUNNER = "celery"
    team = Team.objects.create(name="pay")
    with mock.patch.object(tasks.recheck_expectations, "apply_async", side_effect=BrokerError("down")):
        rechecks.queue_recheck(team_id=team.id)
        team.refresh_from_db()
        assert team.recheck_pending  # nothing lost: the team remembers its re-check
        report = recovery.sweep()  # the broker is still down: it stays pending
    team.refresh_from_db()
    assert team.recheck_pending and report.rechecks == []

    with mock.patch.object(tasks.recheck_expectations, "apply_async") as apply_async:
        report = recovery.sweep()
        assert recovery.sweep().rechecks == []  # sent once, not at every sweep
    apply_async.assert_called_once_with((team.id,))
    team.refresh_from_db()
    assert not team.recheck_pending and report.rechecks == [team.id]


@pytest.mark.django_db(transaction=True)
def test_work_that_needs_an_analysis_waits_for_the_worker_running_it(settings: Any) -> None:
    snapshot = services.create_snapshot(name="prod", files=FILES)  # analysed (Celery eager)
    now = timezone.now()
    elsewhere = Analysis.objects.create(snapshot=snapshot, status="running", attempts=1, started=now, heartbeat=now)

    def worker_gives_up() -> None:  # the other worker stops; the analysis is queued again
        time.sleep(1.0)
        Analysis.objects.filter(id=elsewhere.id).update(status="queued", heartbeat=None, started=None)

    thread = threading.Thread(target=worker_gives_up)
    thread.start()
    finished = analyses.finish_analysis(analysis_id=elsewhere.id, poll=0.1)
    thread.join()
    assert finished.status == "done"  # waited while it ran elsewhere, then ran it here
