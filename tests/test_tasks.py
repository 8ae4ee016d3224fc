from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from policies import engine, tasks
from policies.models import Analysis, Snapshot

pytestmark = pytest.mark.django_db


def test_compute_analysis_runs_the_engine_and_stores_the_result(
    make_snapshot: Callable[..., Snapshot],
) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()

    tasks.compute_analysis(analysis.id)

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    assert (analysis.graph("pod") or {})["nodes"]


def test_compute_analysis_is_safe_to_run_twice(make_snapshot: Callable[..., Snapshot]) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()
    tasks.compute_analysis(analysis.id)
    analysis.refresh_from_db()
    first = (analysis.result, analysis.finished)

    with mock.patch.object(engine, "build_graph") as build_graph:
        tasks.compute_analysis(analysis.id)

    build_graph.assert_not_called()
    analysis.refresh_from_db()
    assert (analysis.result, analysis.finished) == first
    assert analysis.attempts == 1


def test_compute_analysis_records_an_engine_error(make_snapshot: Callable[..., Snapshot]) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()
    with mock.patch.object(engine, "build_graph", side_effect=engine.PolicyError("too many pods")):
        tasks.compute_analysis(analysis.id)  # a bad input is a result, not a task failure
    analysis.refresh_from_db()
    assert (analysis.status, analysis.error) == (Analysis.Status.FAILED, "too many pods")


def test_the_task_is_acknowledged_late_and_redelivered_when_the_worker_is_lost() -> None:
    assert tasks.compute_analysis.acks_late is True
    assert tasks.compute_analysis.reject_on_worker_lost is True
    assert tasks.compute_analysis.ignore_result is True


def read_settings(**env: str) -> dict[str, Any]:
    """Settings as a fresh process with exactly these NETPOL-relevant variables sees them."""
    chosen = ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "NETPOL_ANALYSIS_RUNNER")
    clean = {k: v for k, v in os.environ.items() if k not in chosen}
    code = (
        "import json; from netpol_site import settings as s; from netpol_site.celery import app;"
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        "'broker': s.CELERY_BROKER_URL, 'eager': s.CELERY_TASK_ALWAYS_EAGER, 'runner': s.NETPOL_ANALYSIS_RUNNER,"
        "'acks_late': app.conf.task_acks_late, 'prefetch': app.conf.worker_prefetch_multiplier,"
        "'reject': app.conf.task_reject_on_worker_lost, 'soft': app.conf.task_soft_time_limit,"
        "'hard': app.conf.task_time_limit, 'visibility': app.conf.broker_transport_options['visibility_timeout']}))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=root, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_with_no_environment_the_site_uses_sqlite_and_runs_tasks_in_process() -> None:
    conf = read_settings()
    assert conf["db"] == "django.db.backends.sqlite3"
    assert conf["name"].endswith("db.sqlite3")
    assert conf["eager"] is True
    assert conf["runner"] == "thread", "uploads return at once; a thread of the server analyses"


def test_database_and_redis_urls_switch_to_postgres_a_broker_and_workers() -> None:
    conf = read_settings(DATABASE_URL="postgres://u:p@db:5432/netpol", REDIS_URL="redis://redis:6379/0")
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["broker"] == "redis://redis:6379/0"
    assert conf["eager"] is False
    assert conf["runner"] == "celery"
    assert (conf["acks_late"], conf["reject"], conf["prefetch"]) == (True, True, 1)
    assert conf["soft"] < conf["hard"] < conf["visibility"]


def test_database_url_may_name_a_sqlite_file(tmp_path: Path) -> None:
    conf = read_settings(DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert conf["db"] == "django.db.backends.sqlite3"
    assert conf["name"] == f"{tmp_path}/x.db"
