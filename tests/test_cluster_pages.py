"""The cluster pages: connect with a kubeconfig upload, sync now, the state and history, drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from policies import teams
from policies.models import ClusterConnection, ClusterSync, Membership, Snapshot, Team
from policies.services import clusters
from tests.conftest import FILES
from tests.kube_cluster import allow_web_to_db
from tests.kubeapi import TOKEN, Fault, KubeAPI, RunningAPI, kubeconfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[..., Any]:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def add(web: Client, server: RunningAPI, on_commit: Callable[..., Any], name: str = "prod-eu") -> Any:
    upload = SimpleUploadedFile("config", kubeconfig(server.url).encode())
    with on_commit():
        return web.post(reverse("policies:cluster-list"),
                        {"name": name, "kubeconfig": upload, "interval_minutes": 15})


def test_adding_a_cluster_with_a_kubeconfig_upload_syncs_it(
    web: Client, server: RunningAPI, on_commit: Callable[..., Any]
) -> None:
    response = add(web, server, on_commit)

    connection = ClusterConnection.objects.get(name="prod-eu")
    assert response.status_code == 302 and response["Location"] == reverse("policies:cluster", args=["prod-eu"])
    assert connection.snapshots.count() == 1 and connection.interval_minutes == 15
    page = web.get(response["Location"]).content.decode()
    assert "Synced" in page and server.url in page and "the first snapshot" in page
    assert TOKEN not in page  # the kubeconfig is never shown again, in part or whole
    listing = web.get(reverse("policies:cluster-list")).content.decode()
    assert "prod-eu" in listing and TOKEN not in listing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "Upload a kubeconfig file, or choose the in-cluster service account."),
        ({"name": "x", "kubeconfig": b"\xff\xfe", "in_cluster": "on"}, "Choose one"),
        ({"name": "x", "kubeconfig": b"\xff\xfeoops"}, "config: not UTF-8 text (byte 0)"),
        ({"name": "x", "kubeconfig": b"apiVersion: v1\nkind: Config\n"}, "the kubeconfig"),
        ({"name": "Bad Name!", "in_cluster": "on"}, "Enter a valid"),
    ],
    ids=["nothing", "both", "binary", "no-context", "bad-name"],
)
def test_bad_connections_are_a_400_naming_the_problem(web: Client, data: dict[str, Any], message: str) -> None:
    if "kubeconfig" in data:
        data = {**data, "kubeconfig": SimpleUploadedFile("config", data["kubeconfig"])}
    response = web.post(reverse("policies:cluster-list"), {"interval_minutes": 60, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClusterConnection.objects.exists()


def test_a_failing_cluster_shows_its_error_checked_time_and_next_retry(
    web: Client, server: RunningAPI, cluster: KubeAPI, on_commit: Callable[..., Any]
) -> None:
    add(web, server, on_commit)
    cluster.faults["/api/v1/pods"] = Fault(status=403)
    for path in cluster.items:
        cluster.faults[path] = Fault(status=403)
    with on_commit():
        response = web.post(reverse("policies:cluster-sync", args=["prod-eu"]))

    page = web.get(response["Location"]).content.decode()
    connection = ClusterConnection.objects.get()
    assert "The last sync failed; the next try backs off (1 failed sync in a row)" in page
    assert "may list none of the kinds" in page
    assert connection.next_sync is not None and connection.next_sync.isoformat() in page  # when it retries
    assert connection.last_checked.isoformat() in page  # the last good check


def test_the_history_lists_the_flows_a_change_opened_and_closed(
    web: Client, server: RunningAPI, cluster: KubeAPI, on_commit: Callable[..., Any]
) -> None:
    add(web, server, on_commit)
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = allow_web_to_db(port=6432)
    with on_commit():
        web.post(reverse("policies:cluster-sync", args=["prod-eu"]))
    with on_commit():
        web.post(reverse("policies:cluster-sync", args=["prod-eu"]))  # unchanged

    page = web.get(reverse("policies:cluster", args=["prod-eu"])).content.decode()
    first, second = ClusterConnection.objects.get().snapshots.order_by("id")
    assert "0 flows opened, 0 closed, 1 changed; 1 policy changed" in page
    assert f"{reverse('policies:compare', args=[second.id])}?against={first.id}" in page
    assert "nothing changed" in page


def test_a_change_that_closes_a_flow_names_it(
    web: Client, server: RunningAPI, cluster: KubeAPI, on_commit: Callable[..., Any]
) -> None:
    add(web, server, on_commit)
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"].pop()
    with on_commit():
        web.post(reverse("policies:cluster-sync", args=["prod-eu"]))

    page = web.get(reverse("policies:cluster", args=["prod-eu"])).content.decode()
    assert "0 flows opened, 1 closed" in page
    assert "closed shop/web → shop/db: TCP 5432" in page


def test_drift_compares_the_cluster_with_an_upload(
    web: Client, server: RunningAPI, on_commit: Callable[..., Any], make_snapshot: Callable[..., Snapshot]
) -> None:
    add(web, server, on_commit)
    upload = make_snapshot(FILES, name="from git")
    synced = ClusterConnection.objects.get().snapshots.get()

    response = web.get(reverse("policies:cluster-drift", args=["prod-eu"]), {"against": upload.id})

    assert response["Location"] == f"{reverse('policies:compare', args=[synced.id])}?against={upload.id}"
    page = web.get(response["Location"]).content.decode()
    assert "Drift" in page and "Flows opened" in page
    assert "shop/web" in page  # the cluster's workloads the manifests do not have


def test_drift_without_a_choice_says_so(web: Client, server: RunningAPI, on_commit: Callable[..., Any]) -> None:
    add(web, server, on_commit)
    response = web.get(reverse("policies:cluster-drift", args=["prod-eu"]), {"against": "nope"}, follow=True)
    assert "Choose an uploaded snapshot to compare the cluster with." in response.content.decode()


def test_cluster_pages_need_a_login(client: Client) -> None:
    clusters.add_cluster(name="prod-eu", kubeconfig=None)
    for url in (reverse("policies:cluster-list"), reverse("policies:cluster", args=["prod-eu"])):
        assert client.get(url).status_code == 302


def test_the_admin_never_shows_the_kubeconfig(server: RunningAPI, admin_client: Client) -> None:
    connection = clusters.add_cluster(name="prod-eu", kubeconfig=kubeconfig(server.url))
    page = admin_client.get(reverse("admin:policies_clusterconnection_change", args=[connection.id])).content.decode()
    assert "prod-eu" in page and server.url in page
    assert TOKEN not in page and connection.kubeconfig_encrypted[:40] not in page


# --- Teams: a connection belongs to one; only its members see it --------------------------------


def member(username: str, team: str, role: str = Membership.Role.AUTHOR) -> Client:
    user = User.objects.create_user(username, f"{username}@example.org", "password")
    found = Team.objects.filter(name=team).first() or teams.create_team(name=team)
    teams.add_member(team=found, username=username, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_another_team_gets_404_on_every_cluster_page(
    web: Client, server: RunningAPI, on_commit: Callable[..., Any], make_snapshot: Callable[..., Snapshot]
) -> None:
    add(web, server, on_commit)
    connection = ClusterConnection.objects.get()
    assert connection.team == Team.default() and connection.snapshots.get().team == Team.default()
    upload = make_snapshot(FILES, name="from git")
    dave = member("dave", "blue")

    assert "prod-eu" not in dave.get(reverse("policies:cluster-list")).content.decode()
    assert dave.get(reverse("policies:cluster", args=["prod-eu"])).status_code == 404
    assert dave.get(reverse("policies:cluster-drift", args=["prod-eu"]), {"against": upload.id}).status_code == 404
    with on_commit():
        assert dave.post(reverse("policies:cluster-sync", args=["prod-eu"])).status_code == 404
    assert ClusterSync.objects.count() == 1  # only the first sync, when alice added it


def test_a_viewer_sees_a_cluster_but_cannot_sync_it(
    web: Client, server: RunningAPI, on_commit: Callable[..., Any]
) -> None:
    add(web, server, on_commit)
    carol = member("carol", Team.DEFAULT_NAME, Membership.Role.VIEWER)
    assert carol.get(reverse("policies:cluster", args=["prod-eu"])).status_code == 200
    with on_commit():
        assert carol.post(reverse("policies:cluster-sync", args=["prod-eu"])).status_code == 403
    assert ClusterSync.objects.count() == 1


def test_drift_offers_only_the_teams_uploads(
    web: Client, server: RunningAPI, on_commit: Callable[..., Any], make_snapshot: Callable[..., Snapshot]
) -> None:
    add(web, server, on_commit)
    theirs = make_snapshot(FILES, name="blue's manifests", analyse=False)
    theirs.team = teams.create_team(name="blue")
    theirs.save()
    assert "blue&#x27;s manifests" not in web.get(reverse("policies:cluster", args=["prod-eu"])).content.decode()
    response = web.get(reverse("policies:cluster-drift", args=["prod-eu"]), {"against": theirs.id}, follow=True)
    assert "Choose an uploaded snapshot to compare the cluster with." in response.content.decode()


def test_adding_a_cluster_names_the_team_as_uploads_do(
    web: Client, alice: User, server: RunningAPI, on_commit: Callable[..., Any]
) -> None:
    blue = teams.create_team(name="blue")
    teams.add_member(team=blue, username="alice", role=Membership.Role.AUTHOR)
    assert '<select name="team"' in web.get(reverse("policies:cluster-list")).content.decode()
    refused = web.post(reverse("policies:cluster-list"), {"name": "self", "in_cluster": "on", "interval_minutes": 60})
    assert refused.status_code == 400 and "several teams" in refused.content.decode()
    with on_commit():
        added = web.post(reverse("policies:cluster-list"),
                         {"name": "self", "in_cluster": "on", "interval_minutes": 60, "team": "blue"})
    assert added.status_code == 302 and ClusterConnection.objects.get(name="self").team == blue

    carol = member("carol", "green", Membership.Role.VIEWER)
    page = carol.post(reverse("policies:cluster-list"), {"name": "other", "in_cluster": "on", "interval_minutes": 60})
    assert page.status_code == 400
    assert "only a team author or above may add clusters to team green" in page.content.decode()
    assert not ClusterConnection.objects.filter(name="other").exists()
