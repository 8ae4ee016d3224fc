"""The cluster API: register with a kubeconfig upload (never returned), sync now, the history."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from policies import teams
from policies.models import AuditEvent, ClusterConnection, ClusterSync, Membership, Team
from tests.kube_cluster import allow_web_to_db
from tests.kubeapi import TOKEN, Fault, KubeAPI, RunningAPI, kubeconfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(api: APIClient, server: RunningAPI) -> dict[str, Any]:
    upload = SimpleUploadedFile("config", kubeconfig(server.url).encode())
    response = api.post("/api/clusters/", {"name": "prod-eu", "kubeconfig": upload, "interval_minutes": 5},
                        format="multipart")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_a_kubeconfig_upload_registers_a_cluster_and_is_never_returned(
    api: APIClient, registered: dict[str, Any], server: RunningAPI
) -> None:
    assert registered["name"] == "prod-eu" and registered["source"] == "kubeconfig"
    assert registered["server"] == server.url and registered["interval_minutes"] == 5
    for body in (registered, api.get("/api/clusters/").json(), api.get("/api/clusters/prod-eu/").json()):
        text = json.dumps(body)
        assert TOKEN not in text and "kubeconfig_encrypted" not in text and "apiVersion" not in text
    stored = ClusterConnection.objects.get().kubeconfig_encrypted
    assert TOKEN not in stored and server.url not in stored  # encrypted at rest
    event = AuditEvent.objects.get(verb="added a cluster connection")
    assert event.actor_name == "alice" and TOKEN not in json.dumps(event.details)


def test_kubeconfig_as_json_text_and_in_cluster(api: APIClient, server: RunningAPI) -> None:
    text = api.post("/api/clusters/", {"name": "a", "kubeconfig_text": kubeconfig(server.url)}, format="json")
    inside = api.post("/api/clusters/", {"name": "b", "in_cluster": True}, format="json")
    assert text.status_code == 201 and inside.status_code == 201
    assert inside.json()["source"] == "in-cluster service account"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "x"}, "non_field_errors", "Give a kubeconfig (file or text), or in_cluster: true."),
        ({"name": "x", "in_cluster": True, "kubeconfig_text": "a"}, "non_field_errors", "Choose one"),
        ({"name": "x", "kubeconfig_text": "::: not yaml"}, "detail", "kubeconfig"),
        ({"name": "Bad Name", "in_cluster": True}, "name", "Enter a valid"),
        ({"name": "x", "in_cluster": True, "interval_minutes": 0}, "interval_minutes", "greater than or equal to 1"),
    ],
    ids=["nothing", "both", "not-yaml", "bad-name", "interval"],
)
def test_bad_registrations_are_400_naming_the_field(
    api: APIClient, data: dict[str, Any], field: str, message: str
) -> None:
    response = api.post("/api/clusters/", data, format="json")
    assert response.status_code == 400
    assert message in json.dumps(response.json()[field])
    assert not ClusterConnection.objects.exists()


def test_a_binary_kubeconfig_upload_is_a_400(api: APIClient) -> None:
    upload = SimpleUploadedFile("config", b"\xff\xfe\x00")
    response = api.post("/api/clusters/", {"name": "x", "kubeconfig": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["kubeconfig"] == ["config: not UTF-8 text (byte 0)"]


def test_sync_now_answers_like_the_command_line(
    api: APIClient, registered: dict[str, Any], cluster: KubeAPI,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/api/clusters/prod-eu/sync/")
    again = api.post("/api/clusters/prod-eu/sync/")
    assert first.status_code == 200 and again.status_code == 200
    assert first.json()["created"] is True and isinstance(first.json()["snapshot"], int)
    assert again.json() == {"snapshot": first.json()["snapshot"], "created": False, "warnings": []}

    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = allow_web_to_db(port=6432)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/clusters/prod-eu/sync/")
    history = api.get("/api/clusters/prod-eu/syncs/").json()
    assert [h["outcome"] for h in history] == ["created", "unchanged", "created"]
    assert history[0]["previous"] == first.json()["snapshot"]
    assert history[0]["changes"]["changed"] == 1 and history[0]["changes"]["policies"] == 1


def test_a_failed_sync_is_a_502_with_the_reason(api: APIClient, registered: dict[str, Any], cluster: KubeAPI) -> None:
    cluster.faults["/api/v1/pods"] = Fault(status=401)
    response = api.post("/api/clusters/prod-eu/sync/")
    assert response.status_code == 502
    assert "refused the credentials (401 Unauthorized)" in response.json()["detail"]
    detail = api.get("/api/clusters/prod-eu/").json()
    assert detail["last_error"] == response.json()["detail"] and detail["failures"] == 1
    assert detail["next_sync"] is not None


def test_clusters_need_credentials(anonymous: APIClient) -> None:
    assert anonymous.get("/api/clusters/").status_code == 401


# --- Teams: a connection belongs to one; only its members see it --------------------------------


def client_for(username: str, *, team: str | None = None, role: str = Membership.Role.AUTHOR,
               staff: bool = False) -> APIClient:
    user = User.objects.create_user(username, f"{username}@example.org", "password", is_staff=staff)
    if team is not None:
        found = Team.objects.filter(name=team).first() or teams.create_team(name=team)
        teams.add_member(team=found, username=username, role=role)
    client = APIClient()
    client.force_login(user)
    return client


def test_another_team_gets_404_on_every_cluster_url(registered: dict[str, Any]) -> None:
    assert registered["team"] == Team.DEFAULT_NAME
    dave = client_for("dave", team="blue")
    listed = dave.get("/api/clusters/")
    assert listed.status_code == 200 and listed.json()["count"] == 0
    assert dave.get("/api/clusters/prod-eu/").status_code == 404
    assert dave.get("/api/clusters/prod-eu/syncs/").status_code == 404
    assert dave.post("/api/clusters/prod-eu/sync/").status_code == 404
    assert not ClusterSync.objects.exists()

    staff = client_for("root", staff=True)
    assert [c["name"] for c in staff.get("/api/clusters/").json()["results"]] == ["prod-eu"]
    assert staff.get("/api/clusters/prod-eu/syncs/").status_code == 200


def test_a_viewer_sees_a_cluster_but_cannot_sync_it(registered: dict[str, Any]) -> None:
    carol = client_for("carol", team=Team.DEFAULT_NAME, role=Membership.Role.VIEWER)
    assert carol.get("/api/clusters/prod-eu/").status_code == 200
    assert carol.get("/api/clusters/prod-eu/syncs/").json() == []
    response = carol.post("/api/clusters/prod-eu/sync/")
    assert response.status_code == 403
    assert "only a team author or above may sync clusters in team default" in response.json()["detail"]
    assert not ClusterSync.objects.exists()


def test_registering_names_the_team_as_uploads_do(api: APIClient, alice: User) -> None:
    teams.create_team(name="blue")
    teams.add_member(team=Team.objects.get(name="blue"), username="alice", role=Membership.Role.AUTHOR)
    unnamed = api.post("/api/clusters/", {"name": "a", "in_cluster": True}, format="json")
    assert unnamed.status_code == 400 and "several teams" in unnamed.json()["team"][0]
    named = api.post("/api/clusters/", {"name": "a", "in_cluster": True, "team": "blue"}, format="json")
    assert named.status_code == 201 and named.json()["team"] == "blue"
    assert ClusterConnection.objects.get(name="a").team.name == "blue"

    carol = client_for("carol", team="blue", role=Membership.Role.VIEWER)
    refused = carol.post("/api/clusters/", {"name": "b", "in_cluster": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["team"] == ["only a team author or above may add clusters to team blue"]
    dave = client_for("dave", team="green")
    outsider = dave.post("/api/clusters/", {"name": "c", "in_cluster": True, "team": "blue"}, format="json")
    assert outsider.status_code == 400 and "not a member of a team named 'blue'" in outsider.json()["team"][0]
    assert list(ClusterConnection.objects.values_list("name", flat=True)) == ["a"]
