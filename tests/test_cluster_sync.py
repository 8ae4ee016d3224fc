"""Cluster connections and syncs (policies.services.clusters) against the test Kubernetes API server."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from policies import tasks, teams
from policies.models import (
    Analysis,
    AuditEvent,
    ClusterConnection,
    ClusterSync,
    Resource,
    Snapshot,
    SnapshotFile,
    Team,
)
from policies.services import clusters, history
from tests.kube_cluster import allow_web_to_db, pod
from tests.kubeapi import TOKEN, Fault, KubeAPI, RunningAPI, kubeconfig, refused_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(server: RunningAPI) -> ClusterConnection:
    return clusters.add_cluster(name="prod-eu", kubeconfig=kubeconfig(server.url), interval_minutes=30)


@pytest.fixture
def sync(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[ClusterConnection], Any]:
    def run(connection: ClusterConnection) -> clusters.SyncOutcome:
        with django_capture_on_commit_callbacks(execute=True):
            return clusters.sync_cluster(connection=connection)

    return run


def stored_counts() -> tuple[int, int, int, int]:
    return (Snapshot.objects.count(), SnapshotFile.objects.count(), Resource.objects.count(),
            Analysis.objects.count())


def test_a_full_sync_stores_an_analysed_snapshot(connection: ClusterConnection, sync: Any) -> None:
    outcome = sync(connection)

    assert outcome.created and outcome.warnings == []
    snapshot = outcome.snapshot
    assert snapshot.origin == Snapshot.Origin.CLUSTER and snapshot.cluster == connection
    assert snapshot.name.startswith("prod-eu at ")
    kinds = sorted(snapshot.resources.values_list("kind", flat=True))
    assert kinds.count("Pod") == 3 and kinds.count("NetworkPolicy") == 2 and "GlobalNetworkPolicy" in kinds
    db = snapshot.resources.get(kind="Pod", name="db-0")
    assert db.resource_version.isdigit() and db.file.name == "pods/shop.yaml" and db.line > 0
    analysis = snapshot.analyses.get()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    edges = {(e["source"], e["target"]) for e in (analysis.graph("workload") or {})["edges"]}
    assert ("shop/Deployment/web", "shop/StatefulSet/db") in edges
    connection.refresh_from_db()
    assert connection.last_checked is not None and connection.last_error == "" and connection.failures == 0
    assert connection.next_sync == connection.last_checked + timedelta(minutes=30)
    assert connection.syncing_since is None


def test_unchanged_content_creates_no_snapshot_only_a_checked_time(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any
) -> None:
    first = sync(connection)
    connection.refresh_from_db()
    checked = connection.last_checked
    for item in cluster.items["/api/v1/pods"]:  # bookkeeping moves, the meaning does not
        item["metadata"]["resourceVersion"] = str(int(item["metadata"]["resourceVersion"]) + 7)
        item["status"]["conditions"][0]["lastTransitionTime"] = "2026-12-03T09:00:00Z"
    before = stored_counts()

    second = sync(connection)

    assert not second.created and second.snapshot == first.snapshot
    assert stored_counts() == before
    connection.refresh_from_db()
    assert connection.last_checked > checked


def test_changed_content_creates_a_new_snapshot(connection: ClusterConnection, cluster: KubeAPI, sync: Any) -> None:
    first = sync(connection)
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = allow_web_to_db(port=6432)

    second = sync(connection)

    assert second.created and second.snapshot.id != first.snapshot.id
    assert second.snapshot.content_hash != first.snapshot.content_hash
    assert list(connection.snapshots.order_by("created", "id")) == [first.snapshot, second.snapshot]


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        ("/apis/networking.k8s.io/v1/networkpolicies", Fault(status=500)),
        ("/api/v1/pods", Fault(break_after=100, on_continue_only=True)),
        ("/apis/projectcalico.org/v3/globalnetworkpolicies", Fault(delay=1.5)),
    ],
    ids=["server-error-late", "broken-on-second-page", "slow-last-kind"],
)
def test_a_sync_that_fails_part_way_stores_nothing(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any, settings: Any, path: str, fault: Fault
) -> None:
    settings.NETPOL_SYNC_PAGE_SIZE = 2
    settings.NETPOL_SYNC_READ_TIMEOUT = 0.5
    first = sync(connection)
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"].pop()  # a change the failed sync must not store
    cluster.faults[path] = fault
    before = stored_counts()

    with pytest.raises(clusters.SyncFailed) as failed:
        sync(connection)

    assert stored_counts() == before
    assert connection.snapshots.get() == first.snapshot
    connection.refresh_from_db()
    assert connection.last_error == str(failed.value) and connection.failures == 1
    assert connection.syncing_since is None


def test_a_forbidden_calico_kind_is_a_warning_on_the_snapshot(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any
) -> None:
    cluster.faults["/apis/projectcalico.org/v3/globalnetworkpolicies"] = Fault(status=403)

    outcome = sync(connection)

    assert outcome.created
    assert outcome.snapshot.warnings == outcome.warnings == [
        "globalnetworkpolicies.projectcalico.org/v3: forbidden, this account may not list them (403); "
        "the snapshot has none"]
    assert not outcome.snapshot.resources.filter(kind="GlobalNetworkPolicy").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("unreachable", r"^cannot reach http://127\.0\.0\.1:\d+ while reading the served API groups"),
        ("unauthorized", r"refused the credentials \(401 Unauthorized\)"),
        ("timeout", r"did not answer within 0\.5 seconds while listing pods"),
    ],
)
def test_errors_are_recorded_with_a_clear_message_and_retried_with_backoff(
    server: RunningAPI, cluster: KubeAPI, sync: Any, settings: Any, setup: str, message: str
) -> None:
    settings.NETPOL_SYNC_READ_TIMEOUT = 0.5
    token = "expired" if setup == "unauthorized" else TOKEN
    refused = ExitStack()
    url = refused.enter_context(refused_url()) if setup == "unreachable" else server.url
    connection = clusters.add_cluster(name="c", kubeconfig=kubeconfig(url, token=token), interval_minutes=60)
    if setup == "timeout":
        cluster.faults["/api/v1/pods"] = Fault(delay=1.5)

    delays = []
    for _ in range(3):
        with pytest.raises(clusters.SyncFailed, match=message):
            sync(connection)
        connection.refresh_from_db()
        delays.append(round((connection.next_sync - connection.last_error_at).total_seconds()))
    refused.close()
    assert connection.failures == 3
    assert delays == [60, 120, 240]
    assert connection.last_error_at is not None


def test_backoff_stops_growing_at_four_intervals() -> None:
    connection = ClusterConnection(name="x", interval_minutes=5, failures=12)
    assert connection.retry_delay() == timedelta(minutes=20)


def test_a_success_after_failures_resets_the_backoff(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any
) -> None:
    cluster.faults["/api/v1/pods"] = Fault(status=500)
    with pytest.raises(clusters.SyncFailed):
        sync(connection)
    del cluster.faults["/api/v1/pods"]
    sync(connection)
    connection.refresh_from_db()
    assert connection.failures == 0 and connection.last_error == ""


def test_a_second_sync_waits_for_the_first(connection: ClusterConnection, sync: Any) -> None:
    ClusterConnection.objects.filter(id=connection.id).update(syncing_since=timezone.now())
    with pytest.raises(clusters.SyncInProgress):
        sync(connection)
    ClusterConnection.objects.filter(id=connection.id).update(syncing_since=timezone.now() - timedelta(hours=1))
    assert sync(connection).created  # a sync that died long ago holds nothing


def test_the_kubeconfig_is_never_readable_in_the_database(connection: ClusterConnection) -> None:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM policies_clusterconnection")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert TOKEN not in row and "test-user" in row  # the user's name is shown, its token is not
    assert "clusters" not in row


def test_a_changed_encryption_key_is_a_clear_error(connection: ClusterConnection, sync: Any, settings: Any) -> None:
    settings.NETPOL_ENCRYPTION_KEY = "Qk5hX3Rlc3Rfa2V5X19fX19fX19fX19fX19fX19fX18="
    with pytest.raises(clusters.SyncFailed, match="cannot be decrypted: NETPOL_ENCRYPTION_KEY"):
        sync(connection)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "Prod EU"}, "use lower-case letters"),
        ({"kubeconfig": "not: [valid"}, "not valid YAML"),
        ({"context": "staging"}, "no context 'staging'"),
        ({"interval_minutes": 0}, "at least 1 minute"),
    ],
)
def test_bad_connections_are_refused_clearly(server: RunningAPI, options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"name": "prod", "kubeconfig": kubeconfig(server.url), **options}
    with pytest.raises(clusters.InvalidConnection, match=message):
        clusters.add_cluster(**arguments)
    assert not ClusterConnection.objects.exists()


def test_due_connections_are_queued_by_the_periodic_task(connection: ClusterConnection) -> None:
    later = clusters.add_cluster(name="later", kubeconfig=kubeconfig("http://127.0.0.1:1"))
    ClusterConnection.objects.filter(id=later.id).update(next_sync=timezone.now() + timedelta(minutes=5))
    clusters.add_cluster(name="off", kubeconfig=kubeconfig("http://127.0.0.1:1"))
    ClusterConnection.objects.filter(name="off").update(enabled=False)
    with mock.patch.object(tasks.sync_cluster, "delay") as delay:
        tasks.sync_due_clusters()
    delay.assert_called_once_with(connection.id)


def test_the_sync_task_records_a_failure_instead_of_raising() -> None:
    with refused_url() as url:
        connection = clusters.add_cluster(name="gone", kubeconfig=kubeconfig(url))
        tasks.sync_cluster(connection.id)
    connection.refresh_from_db()
    assert connection.last_error.startswith("cannot reach") and not Snapshot.objects.exists()


# --- History: every sync kept, each new snapshot compared with the one before -----------------


def test_every_sync_is_kept_in_the_history(connection: ClusterConnection, cluster: KubeAPI, sync: Any) -> None:
    first = sync(connection)
    sync(connection)
    cluster.faults["/api/v1/pods"] = Fault(status=500)
    with pytest.raises(clusters.SyncFailed):
        sync(connection)

    failed, unchanged, created = connection.syncs.all()
    assert created.outcome == ClusterSync.Outcome.CREATED and created.snapshot == first.snapshot
    assert created.previous is None and created.changes is None  # the first snapshot: nothing before it
    assert created.counts["pods"] == 3
    assert unchanged.outcome == ClusterSync.Outcome.UNCHANGED and unchanged.snapshot == first.snapshot
    assert failed.outcome == ClusterSync.Outcome.FAILED and failed.snapshot is None
    assert "answered 500" in failed.error
    verbs = list(AuditEvent.objects.filter(object_id=str(connection.id)).values_list("verb", flat=True))
    assert verbs == ["sync failed", "synced", "synced", "added a cluster connection"]


def test_a_new_snapshot_is_compared_with_the_one_before(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any
) -> None:
    first = sync(connection)
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = allow_web_to_db(port=6432)
    cluster.add("v1", "pods", pod("debug", {"app": "debug"}, "10.1.2.10"))

    second = sync(connection)

    latest = connection.syncs.first()
    assert latest.snapshot == second.snapshot and latest.previous == first.snapshot
    changes = latest.changes  # filled in when the new snapshot's analysis finished
    assert changes is not None and changes["policies"] == 1
    assert changes["changed"] == 1  # web -> db: TCP 5432 before, TCP 6432 now
    opened = {(f["source"], f["target"]) for f in changes["opened"]}
    assert ("shop/Pod/debug", "shop/StatefulSet/db") not in opened  # default deny: db is closed to debug
    assert any(f["source"] == "shop/Pod/debug" for f in changes["opened"])  # debug egress is open
    assert changes["added"] == len(changes["opened"]) and changes["removed"] == 0


def test_a_comparison_waiting_for_the_earlier_analysis_is_filled_in_later(
    connection: ClusterConnection, cluster: KubeAPI, sync: Any
) -> None:
    first = sync(connection)
    first.snapshot.analyses.update(status=Analysis.Status.RUNNING)  # not finished yet
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"].pop()  # db-from-web: default deny closes it

    sync(connection)
    latest = connection.syncs.first()
    assert latest.changes is None

    first.snapshot.analyses.update(status=Analysis.Status.DONE)
    history.fill_changes([latest])
    latest.refresh_from_db()
    assert latest.changes is not None and latest.changes["removed"] == 1 and latest.changes["added"] == 0
    assert latest.changes["closed"] == [{"source": "shop/Deployment/web", "target": "shop/StatefulSet/db",
                                         "connections": "TCP 5432", "cause": "policy"}]


# --- Periodic sync on the embedded default (tasks in-process, no beat) ------------------------


def test_the_embedded_scheduler_syncs_due_clusters_in_process(
    connection: ClusterConnection, cluster: KubeAPI, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_scheduler", "--once", stdout=out)

    assert f"synced or queued 1 due cluster(s): {connection.id}" in out.getvalue()
    connection.refresh_from_db()
    assert connection.snapshots.count() == 1 and connection.next_sync > timezone.now()

    out = io.StringIO()
    call_command("run_scheduler", "--rounds", "2", "--every", "0", stdout=out)
    assert out.getvalue() == ""  # not due again before its interval
    assert connection.syncs.count() == 1


def test_synced_snapshots_belong_to_the_connections_team(server: RunningAPI, sync: Any) -> None:
    blue = teams.create_team(name="blue")
    connection = clusters.add_cluster(name="blue-eu", kubeconfig=kubeconfig(server.url), team=blue)
    outcome = sync(connection)
    assert outcome.created and outcome.snapshot.team == blue
    assert Snapshot.objects.get().team == blue  # not the default team an upload naming none gets


@pytest.mark.django_db(transaction=True)
def test_existing_connections_migrate_into_the_default_team() -> None:
    before = [("policies", "0009_analysis_part")]
    executor = MigrationExecutor(db_connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldConnection = old_apps.get_model("policies", "ClusterConnection")
    old = OldConnection.objects.create(name="before-teams", in_cluster=True)
    executor = MigrationExecutor(db_connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes("policies"))
    moved = ClusterConnection.objects.get(id=old.id)
    assert moved.team.name == Team.DEFAULT_NAME
    with db_connection.cursor() as cursor:
        columns = db_connection.introspection.get_table_description(cursor, ClusterConnection._meta.db_table)
    assert [c.null_ok for c in columns if c.name == "team_id"] == [False]  # then made required
