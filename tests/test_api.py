from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from policies import services, tasks
from policies.models import Analysis, Membership, Resource, Snapshot, Team

pytestmark = pytest.mark.django_db

MakeSnapshot = Callable[..., Snapshot]


def upload(files: list[tuple[str, str]]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, text.encode(), content_type="application/yaml") for name, text in files]


def analysed(api: APIClient, response: Any) -> dict[str, Any]:
    """Run the analysis an upload queued (a worker's job) and return it as the API shows it."""
    assert response.status_code == 201, response.content
    analysis_id = response.json()["analysis"]["id"]
    services.run_analysis(analysis_id=analysis_id)
    body: dict[str, Any] = api.get(f"/api/analyses/{analysis_id}/").json()
    return body


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/snapshots/",
        "/api/analyses/",
        "/api/resources/",
        "/api/policies/",
        "/api/schema/",
        "/api/snapshots/1/graph/",
    ],
)
def test_everything_requires_a_logged_in_user(anonymous: APIClient, db: None, url: str) -> None:
    response = anonymous.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_upload_is_refused_and_stores_nothing(anonymous: APIClient, manifests: dict[str, Any]) -> None:
    response = anonymous.post("/api/snapshots/", {"manifests": manifests["pods"]}, format="json")
    assert response.status_code == 401
    assert Snapshot.objects.count() == 0


def test_token_authentication(alice: User, snapshot: Snapshot) -> None:
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(f"/api/snapshots/{snapshot.id}/")
    assert response.status_code == 200
    assert response.json()["name"] == "prod"

    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(f"/api/snapshots/{snapshot.id}/").status_code == 401


def test_drf_create_token_makes_a_working_token(alice: User) -> None:
    out = io.StringIO()
    call_command("drf_create_token", "alice", stdout=out)
    key = Token.objects.get(user=alice).key
    assert key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/snapshots/").status_code == 200


def test_health_needs_no_login(anonymous: APIClient, db: None) -> None:
    response = anonymous.get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_schema_and_its_browsable_ui(api: APIClient) -> None:
    schema = api.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/snapshots/",
        "/api/snapshots/{id}/graph/",
        "/api/snapshots/{id}/explain/",
        "/api/snapshots/{id}/diff/",
        "/api/analyses/{id}/",
        "/api/policies/{id}/",
    ]:
        assert path in paths
    explain = {p["name"] for p in paths["/api/snapshots/{id}/explain/"]["get"]["parameters"]}
    assert {"from", "to", "port", "protocol"} <= explain
    ui = api.get("/api/schema/swagger-ui/")
    assert ui.status_code == 200
    assert b"swagger" in ui.content.lower()


# --- uploads ----------------------------------------------------------------------------------


def test_multipart_upload_returns_the_snapshot_and_its_queued_analysis(
    api: APIClient, alice: User, manifests: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch.object(tasks.compute_analysis, "apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/snapshots/", {"name": "prod", "files": upload(manifests["files"])}, format="multipart"
            )

    assert response.status_code == 201, response.content
    body = response.json()
    snapshot = Snapshot.objects.get()
    assert body["id"] == snapshot.id
    assert body["name"] == "prod"
    assert body["created_by"] == "alice"
    assert [f["name"] for f in body["files"]] == ["namespaces.yaml", "pods.yaml", "policy.yaml"]
    assert body["resource_count"] is None  # the analysis reads the objects
    assert not snapshot.resources.exists()
    assert body["analysis"]["status"] == "queued"
    assert body["analysis"]["url"].endswith(f"/api/analyses/{body['analysis']['id']}/")
    # No time limit travels in the message: the worker's own settings apply.
    delay.assert_called_once_with((body["analysis"]["id"],), time_limit=None, soft_time_limit=None)

    services.run_analysis(analysis_id=body["analysis"]["id"])
    assert api.get(body["url"]).json()["resource_count"] == 6
    policy = Resource.objects.get(kind="NetworkPolicy")
    assert (policy.file.name, policy.policy_key) == ("policy.yaml", "NetworkPolicy/prod/db-same-namespace")


def test_json_upload_of_manifest_text(api: APIClient, manifests: dict[str, Any]) -> None:
    text = manifests["namespaces"] + "---\n" + manifests["pods"]
    response = api.post("/api/snapshots/", {"name": "pasted", "manifests": text}, format="json")
    assert analysed(api, response)["status"] == "done"
    snapshot = Snapshot.objects.get()
    assert snapshot.files.get().name == "manifests.yaml"
    assert snapshot.resources.filter(kind="Pod").count() == 3


def test_json_upload_of_objects(api: APIClient) -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a", "labels": {"app": "p"}}},
    ]
    response = api.post("/api/snapshots/", {"manifests": objects}, format="json")
    assert analysed(api, response)["status"] == "done"
    pod = Resource.objects.get(kind="Pod")
    assert (pod.namespace, pod.name, pod.document) == ("a", "p", 1)


def test_json_upload_of_named_files(api: APIClient, manifests: dict[str, Any]) -> None:
    files = [{"name": name, "text": text} for name, text in manifests["files"]]
    response = api.post("/api/snapshots/", {"name": "files", "manifests": files}, format="json")
    assert response.status_code == 201, response.content
    assert [f["name"] for f in response.json()["files"]] == ["namespaces.yaml", "pods.yaml", "policy.yaml"]


@pytest.mark.django_db(transaction=True)
def test_in_process_default_finishes_the_analysis_before_answering(
    manifests: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded default (no REDIS_URL): the task runs in-process when the upload commits."""
    from netpol_site.celery import app

    # Celery's settings are a mapping; setitem works whatever attribute lookup pytest uses.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    client = APIClient()
    carol = User.objects.create_user("carol")
    Membership.objects.create(team=Team.default(), user=carol, role=Membership.Role.AUTHOR)
    client.force_login(carol)

    response = client.post("/api/snapshots/", {"manifests": manifests["pods"]}, format="json")

    assert response.status_code == 201
    assert response.json()["analysis"]["status"] == "done"
    assert response.json()["analysis"]["progress"] == 1.0


@pytest.mark.django_db(transaction=True)
def test_an_engine_crash_during_an_in_process_analysis_is_not_a_500(
    manifests: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from netpol_site.celery import app
    from policies import engine

    # Celery's settings are a mapping; setitem works whatever attribute lookup pytest uses.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setattr(engine, "lint", mock.Mock(side_effect=RuntimeError("bug")))
    client = APIClient()
    dave = User.objects.create_user("dave")
    Membership.objects.create(team=Team.default(), user=dave, role=Membership.Role.AUTHOR)
    client.force_login(dave)

    response = client.post("/api/snapshots/", {"manifests": manifests["pods"]}, format="json")

    assert response.status_code == 201
    assert response.json()["analysis"]["status"] == "failed"
    assert response.json()["analysis"]["error"] == "internal error: RuntimeError"


def test_invalid_manifests_fail_the_analysis_with_the_engine_message_and_store_no_object(
    api: APIClient, manifests: dict[str, Any]
) -> None:
    """Valid YAML with an invalid field is stored and answered at once; its analysis reads the
    objects and fails naming file, line and field, and no object of it is stored."""
    files = upload([("namespaces.yaml", manifests["namespaces"]), ("bad.yaml", manifests["bad_policy"])])
    response = api.post("/api/snapshots/", {"files": files}, format="multipart")

    analysis = analysed(api, response)
    assert analysis["status"] == "failed"
    assert analysis["error"].startswith("bad.yaml:")
    error = analysis["error_detail"]
    assert (error["file"], error["path"]) == ("bad.yaml", "spec.ingress[0].ports[0].port")
    assert manifests["bad_policy"].splitlines()[error["line"] - 1].strip() == "port: 99999"
    snapshot = Snapshot.objects.get()
    assert not snapshot.resources.exists()
    assert api.get(f"/api/snapshots/{snapshot.id}/").json()["resource_count"] is None
    # The pages' answers say why there are none.
    graph = api.get(f"/api/snapshots/{snapshot.id}/graph/")
    assert graph.status_code == 409
    assert "bad.yaml:" in graph.json()["detail"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: prod\n", 4, "YAML syntax error"),
        ("apiVersion: v1\nkind: Namespace\n---\n- a\n- b\n", 4, "not a list"),
        ("apiVersion: v1\nkind: Namespace\n---\nmetadata: {name: x}\n", 4, "the object has no kind"),
    ],
)
def test_yaml_that_is_not_objects_is_400_at_once_naming_file_and_line(
    api: APIClient, text: str, line: int, message: str
) -> None:
    response = api.post("/api/snapshots/", {"files": upload([("bad.yaml", text)])}, format="multipart")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["file"], error["line"]) == ("bad.yaml", line)
    assert message in error["message"]
    assert Snapshot.objects.count() == 0


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + "p" * 254 + "\n  namespace: prod\n", "metadata.name"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: " + "n" * 80 + "\n", "metadata.namespace"),
        ("apiVersion: v1\nkind: " + "K" * 101 + "\nmetadata:\n  name: x\n", "kind"),
        ("apiVersion: " + "g" * 201 + "\nkind: Thing\nmetadata:\n  name: x\n", "apiVersion"),
    ],
)
def test_names_kubernetes_refuses_fail_the_analysis_naming_file_line_and_field(
    api: APIClient, document: str, field: str
) -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n---\n" + document
    response = api.post("/api/snapshots/", {"files": upload([("names.yaml", text)])}, format="multipart")

    analysis = analysed(api, response)
    assert analysis["status"] == "failed"
    error = analysis["error_detail"]
    assert (error["file"], error["path"], error["document"]) == ("names.yaml", field, 1)
    assert text.splitlines()[error["line"] - 1].strip().startswith(field.split(".")[-1] + ":")
    assert not Resource.objects.exists()  # nothing too long for a column was stored


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "nothing"},
        {"manifests": ""},
        {"manifests": 42},
        {"manifests": [1, 2]},
        {"manifests": [{"name": "a.yaml", "text": 3}]},
        {"manifests": "kind: [unclosed"},
        {"manifests": "just a string"},
    ],
)
def test_bad_uploads_are_400(api: APIClient, payload: dict[str, Any]) -> None:
    response = api.post("/api/snapshots/", payload, format="json")
    assert response.status_code == 400, response.content
    assert Snapshot.objects.count() == 0


def test_a_file_that_is_not_utf8_is_400(api: APIClient) -> None:
    bad = SimpleUploadedFile("latin1.yaml", "name: café".encode("latin-1"))
    response = api.post("/api/snapshots/", {"files": [bad]}, format="multipart")
    assert response.status_code == 400
    assert "latin1.yaml" in response.json()["detail"]


def test_uploads_over_the_limit_are_413(api: APIClient, manifests: dict[str, Any], settings: Any) -> None:
    settings.NETPOL_MAX_UPLOAD_BYTES = 300
    assert len(manifests["pods"]) > 300

    multipart = api.post("/api/snapshots/", {"files": upload([("pods.yaml", manifests["pods"])])}, format="multipart")
    json = api.post("/api/snapshots/", {"manifests": manifests["pods"]}, format="json")

    assert multipart.status_code == 413
    assert json.status_code == 413
    assert "the limit is 300 bytes" in json.json()["detail"]
    assert Snapshot.objects.count() == 0


def test_the_limit_counts_the_files_not_only_the_request(
    api: APIClient, manifests: dict[str, Any], settings: Any
) -> None:
    """A body without Content-Length (chunked) is still measured after it is read."""
    from policies.api import serializers

    settings.NETPOL_MAX_UPLOAD_BYTES = 300
    upload_serializer = serializers.SnapshotUploadSerializer(data={"manifests": manifests["pods"]})
    with pytest.raises(serializers.PayloadTooLarge):
        upload_serializer.is_valid()


# --- analyses ---------------------------------------------------------------------------------


def test_analysis_detail_gives_status_progress_and_results(api: APIClient, analysis: Analysis) -> None:
    response = api.get(f"/api/analyses/{analysis.id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    assert body["progress"] == 1.0
    assert body["snapshot"] == analysis.snapshot_id
    assert set(body["timings"]) == {"parse", "graph", "lint", "parts", "total", "cpu", "store", "store_cpu"}
    assert body["summary"]["counts"]
    assert body["pod_graph_stored"] is True
    assert "result" not in body  # graphs come from the graph endpoint


def test_a_running_analysis_reports_its_progress(api: APIClient, make_snapshot: MakeSnapshot) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()
    analysis.start()
    Analysis.objects.filter(id=analysis.id).update(progress=0.42, progress_message="computing the pod graph")

    body = api.get(f"/api/analyses/{analysis.id}/").json()

    assert (body["status"], body["progress"], body["progress_message"]) == (
        "running",
        0.42,
        "computing the pod graph",
    )
    assert body["summary"] is None


def test_a_failed_analysis_reports_the_engine_message(api: APIClient, make_snapshot: MakeSnapshot) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()
    analysis.fail("policy.yaml:3: bad", detail={"line": 3})
    body = api.get(f"/api/analyses/{analysis.id}/").json()
    assert (body["status"], body["error"], body["error_detail"]) == ("failed", "policy.yaml:3: bad", {"line": 3})


def test_analyses_filter_by_snapshot(api: APIClient, make_snapshot: MakeSnapshot) -> None:
    one, two = make_snapshot(name="one"), make_snapshot(name="two")
    body = api.get("/api/analyses/", {"snapshot": two.id}).json()
    assert [a["snapshot"] for a in body["results"]] == [two.id]
    assert body["count"] == 1
    assert api.get("/api/analyses/").json()["count"] == 2
    assert one.id != two.id


def test_analyze_again_returns_202(api: APIClient, snapshot: Snapshot, django_capture_on_commit_callbacks: Any) -> None:
    with mock.patch.object(tasks.compute_analysis, "apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/snapshots/{snapshot.id}/analyze/")
    assert response.status_code == 202
    new = snapshot.analyses.order_by("-id").first()
    assert response.json()["id"] == new.id
    assert response["Location"].endswith(f"/api/analyses/{new.id}/")
    delay.assert_called_once_with((new.id,), time_limit=None, soft_time_limit=None)


# --- snapshots, graph, explain, diff ----------------------------------------------------------


def test_snapshot_list_and_detail(api: APIClient, snapshot: Snapshot) -> None:
    listing = api.get("/api/snapshots/").json()
    assert listing["count"] == 1
    item = listing["results"][0]
    assert (item["id"], item["resource_count"], item["analysis"]["status"]) == (snapshot.id, 6, "done")
    assert api.get(f"/api/snapshots/{snapshot.id}/").json() == item


def test_unknown_objects_are_404(api: APIClient, snapshot: Snapshot) -> None:
    for url in [
        "/api/snapshots/999999/",
        "/api/snapshots/999999/graph/",
        "/api/snapshots/999999/explain/?from=prod/web&to=prod/db",
        f"/api/snapshots/{snapshot.id}/diff/?against=999999",
        "/api/analyses/999999/",
        "/api/resources/999999/",
        "/api/policies/999999/",
        f"/api/snapshots/{snapshot.id}/pods/prod/nope/",
    ]:
        assert api.get(url).status_code == 404, url


def test_graph_in_the_design_form(api: APIClient, snapshot: Snapshot) -> None:
    workload = api.get(f"/api/snapshots/{snapshot.id}/graph/").json()
    pod = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "pod"}).json()

    assert (workload["level"], pod["level"]) == ("workload", "pod")
    for graph in (workload, pod):
        assert {"evaluator", "nodes", "edges"} <= set(graph)
        for node in graph["nodes"]:
            assert {"id", "kind", "namespace", "name", "labels", "cidrs"} <= set(node)
        for edge in graph["edges"]:
            assert {"source", "target", "all", "ports"} <= set(edge)
    edges = {(e["source"], e["target"]) for e in pod["edges"]}
    assert ("prod/web", "prod/db") in edges
    assert ("other/intruder", "prod/db") not in edges


def test_graph_level_is_validated(api: APIClient, snapshot: Snapshot) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "galaxy"})
    assert response.status_code == 400
    assert "level" in response.json()


def test_graph_of_an_unfinished_analysis_is_409(api: APIClient, make_snapshot: MakeSnapshot) -> None:
    snapshot = make_snapshot(analyse=False)
    response = api.get(f"/api/snapshots/{snapshot.id}/graph/")
    assert response.status_code == 409
    assert response.json()["analysis"]["status"] == "queued"


def test_explain(api: APIClient, snapshot: Snapshot) -> None:
    url = f"/api/snapshots/{snapshot.id}/explain/"
    allowed = api.get(url, {"from": "prod/web", "to": "prod/db", "port": 5432, "protocol": "tcp"})
    denied = api.get(url, {"from": "other/intruder", "to": "prod/db", "port": 5432})

    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["allowed"] is True
    assert denied.json()["allowed"] is False
    assert {"egress", "ingress", "summary"} <= set(denied.json())
    assert "prod/db-same-namespace" in str(denied.json()["ingress"])


def test_explain_takes_any_protocol_with_icmp_type_and_code(api: APIClient, snapshot: Snapshot) -> None:
    """ICMP toward an isolated pod is UNDEFINED under the k8s evaluator (SEMANTICS.md 4.9)."""
    url = f"/api/snapshots/{snapshot.id}/explain/"
    response = api.get(url, {"from": "prod/web", "to": "prod/db", "protocol": "icmp", "icmp_type": 8, "icmp_code": 0})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] == "UNDEFINED" and body["flow"]["protocol"] == "ICMP"
    assert body["flow"]["icmp_type"] == 8
    assert api.get(url, {"from": "prod/web", "to": "prod/db", "protocol": "6", "port": 5432}).json()["allowed"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "prod/db"}, "from"),
        ({"from": "prod/web"}, "to"),
        ({"from": "prod/web", "to": "prod/db", "port": "http"}, "port"),
        ({"from": "prod/web", "to": "prod/db", "port": 70000}, "port"),
        ({"from": "prod/web", "to": "prod/db", "protocol": "QUIC"}, "protocol"),
        ({"from": "prod/web", "to": "prod/db", "evaluator": "cilium"}, "evaluator"),
    ],
)
def test_explain_parameters_are_validated(
    api: APIClient, snapshot: Snapshot, params: dict[str, Any], field: str
) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/explain/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_explain_an_unknown_endpoint_is_400_with_the_engine_message(api: APIClient, snapshot: Snapshot) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/explain/", {"from": "prod/ghost", "to": "prod/db", "port": 1})
    assert response.status_code == 400
    assert "prod/ghost" in response.json()["detail"]


def test_diff(api: APIClient, make_snapshot: MakeSnapshot, manifests: dict[str, Any]) -> None:
    old = make_snapshot(name="before")
    new = make_snapshot(manifests["open_files"], name="after")

    response = api.get(f"/api/snapshots/{new.id}/diff/", {"against": old.id, "level": "pod"})

    assert response.status_code == 200
    body = response.json()
    assert ("other/intruder", "prod/db") in {(e["source"], e["target"]) for e in body["added"]}
    assert body["removed"] == []
    assert api.get(f"/api/snapshots/{new.id}/diff/", {"against": "x"}).status_code == 400
    assert api.get(f"/api/snapshots/{new.id}/diff/").status_code == 400


# --- resources, policies, pods ----------------------------------------------------------------


def test_resources_list_filters_and_detail(api: APIClient, snapshot: Snapshot, make_snapshot: MakeSnapshot) -> None:
    make_snapshot(name="another")
    body = api.get("/api/resources/", {"snapshot": snapshot.id, "kind": "Pod"}).json()
    assert sorted(r["name"] for r in body["results"]) == ["db", "intruder", "web"]
    assert {r["snapshot"] for r in body["results"]} == {snapshot.id}

    in_prod = api.get("/api/resources/", {"snapshot": snapshot.id, "namespace": "prod"}).json()
    assert in_prod["count"] == 3

    db = next(r for r in body["results"] if r["name"] == "db")
    detail = api.get(f"/api/resources/{db['id']}/").json()
    assert detail["file"] == "pods.yaml"
    assert detail["line"] > 1
    assert "postgres:16" in detail["text"]


def test_policies_with_the_pods_each_selects(api: APIClient, snapshot: Snapshot) -> None:
    body = api.get("/api/policies/", {"snapshot": snapshot.id}).json()
    assert body["count"] == 1
    policy = body["results"][0]
    assert (policy["kind"], policy["namespace"], policy["name"]) == ("NetworkPolicy", "prod", "db-same-namespace")
    assert policy["selected_pods"] == ["prod/db"]
    assert api.get(f"/api/policies/{policy['id']}/").json()["selected_pods"] == ["prod/db"]


def test_pods_with_their_neighbours(api: APIClient, snapshot: Snapshot) -> None:
    pods = api.get(f"/api/snapshots/{snapshot.id}/pods/").json()
    assert {p["id"] for p in pods} == {"prod/web", "prod/db", "other/intruder"}
    in_prod = api.get(f"/api/snapshots/{snapshot.id}/pods/", {"namespace": "prod"}).json()
    assert {p["id"] for p in in_prod} == {"prod/web", "prod/db"}

    db = api.get(f"/api/snapshots/{snapshot.id}/pods/prod/db/").json()
    assert db["policies"]["ingress"] == ["NetworkPolicy/prod/db-same-namespace"]
    assert {n["id"] for n in db["ingress"]} >= {"prod/web"}
    assert "other/intruder" not in {n["id"] for n in db["ingress"]}


def test_pods_from_workload_templates_have_three_part_ids(api: APIClient, make_snapshot: MakeSnapshot) -> None:
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: web:1
"""
    snapshot = make_snapshot([("web.yaml", deployment)])
    pods = api.get(f"/api/snapshots/{snapshot.id}/pods/").json()
    assert [p["id"] for p in pods] == ["shop/Deployment/web"]
    assert api.get(f"/api/snapshots/{snapshot.id}/pods/shop/Deployment/web/").json()["id"] == "shop/Deployment/web"


def test_delete_a_snapshot(api: APIClient, snapshot: Snapshot) -> None:
    assert api.delete(f"/api/snapshots/{snapshot.id}/").status_code == 204
    assert (Snapshot.objects.count(), Resource.objects.count(), Analysis.objects.count()) == (0, 0, 0)


def test_graph_at_namespace_level(api: APIClient, snapshot: Snapshot) -> None:
    pod = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "pod"}).json()
    graph = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "namespace"}).json()

    assert graph["level"] == "namespace"
    namespaces = {n["id"]: n for n in graph["nodes"] if n["kind"] == "namespace"}
    pods = [n for n in pod["nodes"] if n["kind"] == "pod"]
    assert set(namespaces) >= {n["namespace"] for n in pods}
    for name, node in namespaces.items():
        assert node["pod_count"] == sum(1 for n in pods if n["namespace"] == name)
    by_id = {n["id"]: n for n in pod["nodes"]}
    expected = {(by_id[e["source"]].get("namespace") or e["source"], by_id[e["target"]].get("namespace") or e["target"])
                for e in pod["edges"]}
    assert {(e["source"], e["target"]) for e in graph["edges"]} == expected


def test_the_api_root_describes_the_api_and_links_its_schema(api: APIClient) -> None:
    response = api.get("/api/", HTTP_ACCEPT="text/html")
    html = response.content.decode()
    assert response.status_code == 200
    assert "what your network policies allow" in html
    assert "/api/snapshots/{id}/explain/" in html
    data = api.get("/api/", HTTP_ACCEPT="application/json").json()
    assert data["snapshots"].endswith("/api/snapshots/")
    assert data["schema"].endswith("/api/schema/")


def test_the_favicon_is_served(anonymous: APIClient) -> None:
    response = anonymous.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("policies/favicon.svg")
