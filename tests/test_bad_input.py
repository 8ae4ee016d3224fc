"""Every bad input to the API is a 400 that says what is wrong, checked before the database
(SQLite does not enforce column lengths; PostgreSQL would answer a 500 DataError)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from policies.api.parsers import MAX_DEPTH
from policies.models import Snapshot

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n"


def post_json(api: APIClient, body: str) -> Any:
    return api.post("/api/snapshots/", data=body, content_type="application/json")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1500, 100_000])
def test_json_nested_too_deep_is_400(api: APIClient, depth: int) -> None:
    response = post_json(api, '{"manifests": ' + "[" * depth + "]" * depth + "}")
    assert response.status_code == 400
    assert response.json()["detail"] == f"JSON parse error - JSON nested deeper than {MAX_DEPTH} levels"
    assert Snapshot.objects.count() == 0


def test_a_manifest_object_nested_too_deep_is_400(api: APIClient) -> None:
    spec: dict[str, Any] = {"a": 1}
    for _ in range(900):
        spec = {"x": spec}
    body = {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": spec}]}
    response = post_json(api, json.dumps(body))
    assert response.status_code == 400
    assert Snapshot.objects.count() == 0


def test_brackets_inside_strings_do_not_count_as_nesting(api: APIClient) -> None:
    text = NAMESPACE.replace("name: prod}", "name: prod, annotations: {a: '" + "[" * 500 + "'}}")
    response = post_json(api, json.dumps({"manifests": text}))
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"manifests": "kind: Pod\\nmetadata: {name: \\ud800}"}', "manifests"),
        ('{"name": "a\\udfff", "manifests": "x: 1"}', "name"),
        ('{"manifests": [{"kind": "Namespace", "metadata": {"\\ud800": "x"}}]}', "manifests[0].metadata"),
    ],
)
def test_a_lone_surrogate_is_400_naming_where(api: APIClient, body: str, where: str) -> None:
    response = post_json(api, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - a lone UTF-16 surrogate")
    assert where in response.json()["detail"]
    assert Snapshot.objects.count() == 0


def test_a_file_name_over_500_characters_is_400(api: APIClient) -> None:
    name = "f" * 600 + ".yaml"
    response = post_json(api, json.dumps({"manifests": [{"name": name, "text": NAMESPACE}]}))
    assert response.status_code == 400
    assert response.json()["detail"].endswith("a file name is 605 characters long; at most 500 are allowed")
    assert Snapshot.objects.count() == 0


def test_long_file_names_and_no_snapshot_name_give_a_name_that_fits(api: APIClient) -> None:
    files = [{"name": f"{i}-" + "n" * 78 + ".yaml", "text": NAMESPACE.replace("prod", f"ns{i}")} for i in range(3)]
    response = post_json(api, json.dumps({"manifests": files}))
    assert response.status_code == 201, response.content
    name = Snapshot.objects.get().name
    assert len(name) == 200
    assert name.startswith("0-nnn") and name.endswith("...")


def test_a_body_that_is_not_utf8_is_400(api: APIClient) -> None:
    response = api.post("/api/snapshots/", data=b'{"manifests": "\xff"}', content_type="application/json")
    assert response.status_code == 400


def test_the_upload_page_has_the_apis_limit_and_echoes_nothing_back(
    api: APIClient, settings: Any, manifests: dict[str, Any]
) -> None:
    settings.NETPOL_MAX_UPLOAD_BYTES = 300
    assert len(manifests["pods"]) > 300
    response = api.post("/snapshots/upload/", {"name": "big", "manifests": manifests["pods"]})

    assert response.status_code == 413
    page = response.content.decode()
    assert "the limit is 300 bytes" in page
    assert "intruder" not in page  # none of the manifests comes back
    assert Snapshot.objects.count() == 0
