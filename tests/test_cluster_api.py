"""The cluster API: register with a kubeconfig upload (never returned), sync now, the history."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from policies.models import AuditEvent, ClusterConnection
from tests.kube_cluster import allow_web_to_db, shop_cluster
from tests.kubeapi import TOKEN, Fault, KubeAPI, RunningAPI, kubeconfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster() -> KubeAPI:
    return shop_cluster()


@pytest.fixture
def server(cluster: KubeAPI) -> Iterator[RunningAPI]:
    running = RunningAPI(cluster)
    yield running
    running.close()


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
