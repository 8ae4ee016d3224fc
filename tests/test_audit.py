"""The audit trail: audit.record stores who did what to which object; uploads are recorded."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.test import Client
from rest_framework.test import APIClient

from policies import audit
from policies.models import AuditEvent, Snapshot


def test_record_keeps_actor_verb_object_and_details(alice: User, snapshot: Snapshot) -> None:
    event = audit.record(alice, "approved", snapshot, {"comment": 12})

    event.refresh_from_db()
    assert (event.actor, event.actor_name, event.verb) == (alice, "alice", "approved")
    assert (event.object_type, event.object_id, event.object_repr) == ("policies.snapshot", str(snapshot.id), "prod")
    assert event.details == {"comment": 12}
    assert str(event) == "alice approved prod"
    assert list(audit.events_for(snapshot)) == [event]


def test_record_redacts_credentials_in_details(alice: User) -> None:
    event = audit.record(
        alice,
        "changed connection",
        None,
        {"server": "https://k8s", "token": "abc", "auth": {"kubeconfig": "apiVersion: v1", "user": "ci"}},
    )
    assert event.details == {
        "server": "https://k8s",
        "token": "[redacted]",
        "auth": {"kubeconfig": "[redacted]", "user": "ci"},
    }


def test_the_system_and_anonymous_users_are_recorded_without_a_name(snapshot: Snapshot) -> None:
    for actor in (None, AnonymousUser()):
        event = audit.record(actor, "synced", snapshot)
        assert (event.actor, event.actor_name) == (None, "")
        assert str(event) == "system synced prod"


def test_an_entry_outlives_its_actor_and_its_object(alice: User, snapshot: Snapshot) -> None:
    event = audit.record(alice, "uploaded", snapshot)
    snapshot.delete()
    alice.delete()
    event.refresh_from_db()
    assert (event.actor, event.actor_name, event.object_repr) == (None, "alice", "prod")


def test_an_api_upload_is_recorded(api: APIClient, alice: User, manifests: dict[str, object]) -> None:
    response = api.post("/api/snapshots/", {"name": "audited", "manifests": manifests["policy"]}, format="json")
    assert response.status_code == 201
    event = AuditEvent.objects.get()
    assert (event.actor, event.verb, event.object_id) == (alice, "uploaded", str(response.json()["id"]))
    assert event.details == {"files": 1, "via": "api"}


def test_a_rejected_upload_records_nothing(api: APIClient, manifests: dict[str, object]) -> None:
    broken = str(manifests["policy"]).replace("podSelector:", "podSelector: [", 1)
    response = api.post("/api/snapshots/", {"manifests": broken}, format="json")
    assert response.status_code == 400
    assert "YAML syntax error" in response.json()["detail"]
    assert not AuditEvent.objects.exists()


def test_the_admin_lists_the_trail_read_only(alice: User, snapshot: Snapshot) -> None:
    alice.is_staff = alice.is_superuser = True
    alice.save()
    audit.record(alice, "uploaded", snapshot)
    client = Client()
    client.force_login(alice)

    listing = client.get("/admin/policies/auditevent/")
    event = AuditEvent.objects.get()
    change = client.get(f"/admin/policies/auditevent/{event.id}/change/")
    delete = client.get(f"/admin/policies/auditevent/{event.id}/delete/")

    assert listing.status_code == 200
    assert b"uploaded" in listing.content
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert delete.status_code == 403
    assert client.get("/admin/policies/auditevent/add/").status_code == 403
