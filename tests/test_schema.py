"""The OpenAPI schema says what the API answers."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from policies.models import Snapshot


def schema(api: APIClient) -> dict[str, Any]:
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


def test_created_by_is_nullable_as_for_demo_snapshots(api: APIClient, snapshot: Snapshot) -> None:
    assert snapshot.created_by is None
    assert api.get(f"/api/snapshots/{snapshot.id}/").json()["created_by"] is None
    assert schema(api)["components"]["schemas"]["Snapshot"]["properties"]["created_by"]["nullable"] is True


def test_pods_are_documented_as_the_list_they_are(api: APIClient, snapshot: Snapshot) -> None:
    body = api.get(f"/api/snapshots/{snapshot.id}/pods/").json()
    assert isinstance(body, list)
    operation = schema(api)["paths"]["/api/snapshots/{id}/pods/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "page" not in {p["name"] for p in operation.get("parameters", [])}
