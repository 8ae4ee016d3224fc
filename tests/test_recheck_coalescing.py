"""Several changes of a team's expectations in a row check each snapshot once: a re-check waiting to
start takes every change made before it starts, and a change made while one runs stops it (the
re-check that change queued takes over) instead of letting it finish a pass over an outdated set."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from policies import services, tasks
from policies.models import Analysis, Snapshot, Team
from policies.services import rechecks, recovery
from policies.services.expectations import ExpectationSet
from tests.conftest import FILES, OPEN_FILES
from tests.test_proposals_api import DB_CLOSED_TO_OTHER, WEB_REACHES_DB

CHANGES = [DB_CLOSED_TO_OTHER, WEB_REACHES_DB, {**DB_CLOSED_TO_OTHER, "name": "db-closed-again"}]


def checks_of(calls: list[tuple[int, int]], snapshot: Snapshot) -> list[int]:
    """The versions the snapshot's latest analysis was checked with, in order."""
    analysis = snapshot.latest_analysis()
    assert analysis is not None
    return [version for analysis_id, version in calls if analysis_id == analysis.id]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(analysis id, version) of every expectation check of a stored analysis."""
    calls: list[tuple[int, int]] = []
    refresh = rechecks.refresh_analysis

    def counting(*, analysis: Analysis, checked: ExpectationSet | None = None) -> Any:
        if checked is not None and rechecks.stored_version(analysis) != checked.version:
            calls.append((analysis.id, checked.version))
        return refresh(analysis=analysis, checked=checked)

    monkeypatch.setattr(rechecks, "refresh_analysis", counting)
    return calls


@pytest.fixture
def snapshots(db: None) -> list[Snapshot]:
    made = []
    for name, files in (("a", FILES), ("b", OPEN_FILES)):  # one at a time: SQLite takes one writer
        snapshot = services.create_snapshot(name=name, files=files)
        assert services.wait_for_analyses(timeout=60)  # analysed by the thread
        latest = snapshot.latest_analysis()
        assert latest is not None and latest.status == Analysis.Status.DONE, latest
        made.append(snapshot)
    return made


@pytest.fixture
def thread_runner(settings: Any) -> Iterator[None]:
    settings.NETPOL_ANALYSIS_RUNNER = "thread"
    settings.NETPOL_RECHECK_DELAY = 0
    yield
    assert services.wait_for_rechecks(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_changes_made_while_a_recheck_waits_make_one_recheck_per_snapshot(
    thread_runner: None, snapshots: list[Snapshot], counted: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The re-check thread is busy with another team while three changes arrive: one re-check
    checks each snapshot once, with the last version."""
    other = Team.objects.create(name="busy")
    busy, release = threading.Event(), threading.Event()
    recheck = rechecks.recheck_expectations

    def held(*, team_id: int) -> None:
        if team_id == other.id:
            busy.set()
            assert release.wait(timeout=60)
        recheck(team_id=team_id)

    monkeypatch.setattr(rechecks, "recheck_expectations", held)
    rechecks.queue_recheck(team_id=other.id)
    assert busy.wait(timeout=60)
    for change in CHANGES:  # autocommit: each queues its re-check after its COMMIT
        services.save_expectation(team=Team.default(), data=change, user=None)
    release.set()
    assert services.wait_for_rechecks(timeout=60)
    assert [checks_of(counted, s) for s in snapshots] == [[3], [3]]


@pytest.mark.django_db(transaction=True)
def test_the_delay_gathers_changes_made_one_after_the_other(
    thread_runner: None, settings: Any, snapshots: list[Snapshot], counted: list[tuple[int, int]],
) -> None:
    """Each change pushes the start of the waiting re-check NETPOL_RECHECK_DELAY seconds on."""
    settings.NETPOL_RECHECK_DELAY = 3600
    with mock.patch.object(rechecks.time, "monotonic", return_value=1000.0) as clock:
        for change in CHANGES:
            services.save_expectation(team=Team.default(), data=change, user=None)
            clock.return_value += 3000  # under the delay since the previous change
        assert not services.wait_for_rechecks(timeout=0.5)  # still waiting for the last change's delay
        clock.return_value += 3600
        assert services.wait_for_rechecks(timeout=60)
    assert [checks_of(counted, s) for s in snapshots] == [[3], [3]]


@pytest.mark.django_db(transaction=True)
def test_a_change_during_a_recheck_stops_it_and_the_next_one_takes_over(
    thread_runner: None, snapshots: list[Snapshot], counted: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.save_expectation(team=Team.default(), data=DB_CLOSED_TO_OTHER, user=None)
    assert services.wait_for_rechecks(timeout=60)
    assert [checks_of(counted, s) for s in snapshots] == [[1], [1]]
    counted.clear()
    refresh, changed = rechecks.refresh_analysis, []

    def change_during_the_first_check(*, analysis: Analysis, checked: ExpectationSet | None = None) -> Any:
        if not changed:
            changed.append(True)
            services.save_expectation(team=Team.default(), data=WEB_REACHES_DB, user=None)  # version 3
        return refresh(analysis=analysis, checked=checked)

    monkeypatch.setattr(rechecks, "refresh_analysis", change_during_the_first_check)
    services.save_expectation(team=Team.default(), data={**DB_CLOSED_TO_OTHER, "name": "db-closed-again"},
                              user=None)  # version 2
    assert services.wait_for_rechecks(timeout=60)
    newest, oldest = snapshots[1], snapshots[0]  # snapshots are re-checked newest first
    assert checks_of(counted, newest) == [2, 3]  # checked with version 2, then the change came
    assert checks_of(counted, oldest) == [3]  # never with the outdated version 2
    for snapshot in snapshots:
        latest = snapshot.latest_analysis()
        assert latest is not None and latest.result["expectations_version"] == 3


def test_with_celery_changes_before_the_task_starts_send_one_message(db: None, settings: Any) -> None:
    settings.NETPOL_ANALYSIS_RUNNER = "celery"
    settings.NETPOL_RECHECK_DELAY = 2
    team = Team.objects.create(name="pay")
    with mock.patch.object(tasks.recheck_expectations, "apply_async") as apply_async:
        for _ in range(3):
            rechecks.queue_recheck(team_id=team.id)
        apply_async.assert_called_once_with((team.id,), countdown=2.0)
        team.refresh_from_db()
        assert team.recheck_queued is not None

        rechecks.recheck_expectations(team_id=team.id)  # the worker starts it: later changes send another
        team.refresh_from_db()
        assert team.recheck_queued is None
        rechecks.queue_recheck(team_id=team.id)
        assert apply_async.call_count == 2

        # A message sent longer than NETPOL_REPUBLISH_AFTER ago that no worker started may be lost:
        # the next change sends another, and so does the sweep without one.
        lost = timezone.now() - timedelta(seconds=settings.NETPOL_REPUBLISH_AFTER + 1)
        Team.objects.filter(id=team.id).update(recheck_queued=lost)
        rechecks.queue_recheck(team_id=team.id)
        assert apply_async.call_count == 3
        Team.objects.filter(id=team.id).update(recheck_queued=lost)
        assert recovery.sweep().rechecks == [team.id]
        assert recovery.sweep().rechecks == []  # sent once
        assert apply_async.call_count == 4
