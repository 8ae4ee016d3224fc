"""The OpenAPI schema says what the API answers."""

from __future__ import annotations

from typing import Any

import pytest
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


def test_every_operation_with_an_id_documents_its_404(api: APIClient, snapshot: Snapshot) -> None:
    paths = schema(api)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if "{" in path:
                assert "404" in operation["responses"], f"{method} {path}"
                assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
            if operation.get("security") != [{}]:
                assert {"401", "403", "429"} <= set(operation["responses"]), f"{method} {path}"


def test_a_list_answered_whole_refuses_a_page(api: APIClient, snapshot: Snapshot) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/pods/", {"page": "2"})
    assert response.status_code == 400
    assert "not paged" in response.json()["page"][0]


@pytest.mark.parametrize("page", ["", "0", "-1", "two"])
def test_a_page_that_is_not_a_whole_number_from_1_is_a_400(api: APIClient, snapshot: Snapshot, page: str) -> None:
    response = api.get("/api/snapshots/", {"page": page})
    assert response.status_code == 400
    assert "whole number" in response.json()["page"][0]
    assert api.get("/api/snapshots/", {"page": "1"}).status_code == 200
    assert api.get("/api/snapshots/", {"page": "9"}).status_code == 404  # past the last


def test_an_api_url_no_route_matches_is_a_json_404(api: APIClient, snapshot: Snapshot) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/pods/not-a-pod-id/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    page = api.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_text_fields_refuse_numbers(api: APIClient, snapshot: Snapshot) -> None:
    response = api.post("/api/snapshots/", {"name": 5, "manifests": "kind: Namespace"}, format="json")
    assert response.status_code == 400
    assert response.json()["name"] == ["Give text (a JSON string), not int."]
