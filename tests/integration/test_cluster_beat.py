"""Periodic cluster sync for real: Celery beat sends the due-sync round through Redis, a worker
syncs the cluster (the test Kubernetes API server) with the real client, the web app shows it.

    beat --sync_due_clusters--> redis --> worker --list--> test API server
                                             \\__ SQLite file __/ <-- gunicorn <-- test
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_celery_worker import Stack, wait_for
from tests.kube_cluster import allow_web_to_db
from tests.kubeapi import KubeAPI, RunningAPI, kubeconfig

pytestmark = [pytest.mark.integration]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    stack.env["NETPOL_SCHEDULER_SECONDS"] = "1"  # beat looks for due clusters every second
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_beat_and_a_worker_sync_a_due_cluster_and_its_changes(
    stack: Stack, server: RunningAPI, cluster: KubeAPI, tmp_path: Path
) -> None:
    status, body = stack.request(
        "POST", "/api/clusters/", {"name": "prod-eu", "kubeconfig_text": kubeconfig(server.url), "interval_minutes": 1}
    )
    assert status == 201, body
    stack.start_worker("worker1")
    stack.spawn("beat", [sys.executable, "-m", "celery", "-A", "netpol_site", "beat", "-l", "info",
                         "-s", str(tmp_path / "beat-schedule")])

    def synced() -> Any:
        return stack.request("GET", "/api/clusters/prod-eu/")[1]["latest_snapshot"]

    try:
        first = wait_for(synced, 60, "the first periodic sync", interval=0.5)
    except AssertionError:
        raise AssertionError(stack.log("beat") + stack.log("worker1")) from None
    detail = stack.request("GET", "/api/clusters/prod-eu/")[1]
    assert detail["last_error"] == "" and detail["last_checked"] is not None

    # A change in the cluster; made due now (the interval is a minute), beat's next round syncs it.
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = allow_web_to_db(port=6432)
    stack.manage("shell", "-c", "from policies.models import ClusterConnection as C; C.objects.update(next_sync=None)")
    second = wait_for(lambda: (synced() or first) != first and synced(), 60, "the second periodic sync", interval=0.5)
    assert second != first

    def compared() -> Any:
        history = stack.request("GET", "/api/clusters/prod-eu/syncs/")[1]
        return history[0]["changes"] if history[0]["snapshot"] == second else None

    changes = wait_for(compared, 60, "the comparison with the snapshot before", interval=0.5)
    assert changes["changed"] == 1 and changes["policies"] == 1
