"""manage.py add_cluster and sync_cluster [--json], against the test Kubernetes API server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from policies import teams
from policies.models import ClusterConnection, Snapshot, Team
from tests.kubeapi import TOKEN, Fault, KubeAPI, RunningAPI, write_kubeconfig

pytestmark = pytest.mark.django_db(transaction=True)  # the sync commits, then its analysis runs


@pytest.fixture
def kubeconfig_file(server: RunningAPI, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "config", server.url, context="eu")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_add_then_sync_with_json(kubeconfig_file: Path, cluster: KubeAPI) -> None:
    added = run("add_cluster", "prod", "--kubeconfig", str(kubeconfig_file), "--context", "eu", "--interval", "15")
    assert added.startswith("added cluster prod (http://127.0.0.1:")
    connection = ClusterConnection.objects.get(name="prod")
    assert (connection.context, connection.interval_minutes, connection.in_cluster) == ("eu", 15, False)
    assert TOKEN not in connection.kubeconfig_encrypted

    first = json.loads(run("sync_cluster", "prod", "--json"))
    snapshot = Snapshot.objects.get()
    assert first == {"snapshot": snapshot.id, "created": True, "warnings": []}
    assert snapshot.latest_analysis().status == "done"

    second = json.loads(run("sync_cluster", "prod", "--json"))
    assert second == {"snapshot": snapshot.id, "created": False, "warnings": []}

    cluster.faults["/apis/projectcalico.org/v3/tiers"] = Fault(status=403)
    third = json.loads(run("sync_cluster", "prod", "--json"))
    assert third["created"] is False  # no tiers before either: the same content
    assert third["warnings"] == ["tiers.projectcalico.org/v3: forbidden, this account may not list them (403); "
                                 "the snapshot has none"]


def test_sync_without_json_says_what_happened(kubeconfig_file: Path) -> None:
    run("add_cluster", "prod", "--kubeconfig", str(kubeconfig_file))
    assert "new snapshot #" in run("sync_cluster", "prod")
    assert "unchanged since snapshot #" in run("sync_cluster", "prod")


def test_a_failed_sync_exits_1_with_the_reason(kubeconfig_file: Path, cluster: KubeAPI) -> None:
    run("add_cluster", "prod", "--kubeconfig", str(kubeconfig_file))
    cluster.faults["/api/v1/pods"] = Fault(status=500)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"cluster prod: http://127\.0\.0\.1:\d+ answered 500") as info:
        call_command("sync_cluster", "prod", "--json", stdout=out)
    assert info.value.returncode == 1
    assert json.loads(out.getvalue())["snapshot"] is None
    assert not Snapshot.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add_cluster", "prod", "--kubeconfig", "/nonexistent/config"], "cannot read the kubeconfig"),
        (["add_cluster", "prod", "--kubeconfig", "KUBECONFIG", "--context", "us"], "no context 'us'"),
        (["sync_cluster", "nope"], "no cluster named 'nope'"),
        (["add_cluster", "prod", "--in-cluster", "--team", "red"], "no team named 'red'"),
    ],
)
def test_bad_arguments_exit_2(kubeconfig_file: Path, args: list[str], message: str) -> None:
    args = [str(kubeconfig_file) if a == "KUBECONFIG" else a for a in args]
    with pytest.raises(CommandError, match=message) as info:
        run(*args)
    assert info.value.returncode == 2


def test_in_cluster_registration(db: None) -> None:
    assert "in-cluster service account" in run("add_cluster", "self", "--in-cluster")
    assert ClusterConnection.objects.get(name="self").in_cluster


def test_add_cluster_team_puts_it_and_its_snapshots_in_that_team(kubeconfig_file: Path) -> None:
    Team.default()
    blue = teams.create_team(name="blue")
    added = run("add_cluster", "prod", "--kubeconfig", str(kubeconfig_file), "--team", "blue")
    assert added.rstrip().endswith("team blue)")
    connection = ClusterConnection.objects.get(name="prod")
    assert connection.team == blue
    run("sync_cluster", "prod")
    assert Snapshot.objects.get().team == blue


def test_add_cluster_without_team_takes_the_only_team_else_the_default(db: None) -> None:
    only = teams.create_team(name="blue")
    run("add_cluster", "first", "--in-cluster")
    assert ClusterConnection.objects.get(name="first").team == only
    teams.create_team(name="green")
    run("add_cluster", "second", "--in-cluster")
    assert ClusterConnection.objects.get(name="second").team.name == Team.DEFAULT_NAME
