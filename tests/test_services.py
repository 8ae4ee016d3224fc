from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from policies import engine, services, tasks
from policies.models import Analysis, Resource, Snapshot, SnapshotFile, Team, TeamExpectation
from tests.test_proposals_api import DB_CLOSED_TO_OTHER, WEB_REACHES_DB

pytestmark = pytest.mark.django_db

MakeSnapshot = Callable[..., Snapshot]


def edge_pairs(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(edge["source"], edge["target"]) for edge in graph["edges"]}


# --- create_snapshot --------------------------------------------------------------------------


def test_create_snapshot_stores_files_and_its_analysis_the_resources_with_their_lines(
    manifests: dict[str, Any],
) -> None:
    snapshot = services.create_snapshot(name="prod", files=manifests["files"])

    assert [f.name for f in snapshot.files.all()] == ["namespaces.yaml", "pods.yaml", "policy.yaml"]
    assert snapshot.files.get(name="pods.yaml").text == manifests["pods"]
    # An upload answers before its objects are read: its analysis reads and stores them.
    assert not snapshot.objects_stored and not snapshot.resources.exists()
    services.run_analysis(analysis_id=snapshot.analyses.get().id)
    snapshot.refresh_from_db()
    assert snapshot.objects_stored
    kinds = sorted((r.kind, r.namespace, r.name) for r in snapshot.resources.all())
    assert kinds == [
        ("Namespace", "", "other"),
        ("Namespace", "", "prod"),
        ("NetworkPolicy", "prod", "db-same-namespace"),
        ("Pod", "other", "intruder"),
        ("Pod", "prod", "db"),
        ("Pod", "prod", "web"),
    ]
    db = snapshot.resources.get(kind="Pod", name="db")
    assert db.file is not None and db.file.name == "pods.yaml"
    assert db.document == 1
    lines = manifests["pods"].splitlines()
    # The resource's line is the first line of its document in the file it came from.
    assert lines[db.line - 1] == "apiVersion: v1"
    assert lines[db.line + 2] == "  name: db"
    assert "postgres:16" in db.text


def test_create_snapshot_queues_one_analysis_after_commit(
    manifests: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch.object(tasks.compute_analysis, "apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            snapshot = services.create_snapshot(name="prod", files=manifests["files"])
        analysis = snapshot.analyses.get()
        assert analysis.status == Analysis.Status.QUEUED
        delay.assert_not_called()  # nothing is sent before COMMIT

        for callback in callbacks:
            callback()
    delay.assert_called_once_with((analysis.id,), time_limit=None, soft_time_limit=None)


def test_invalid_manifests_fail_the_analysis_and_store_no_object(manifests: dict[str, Any]) -> None:
    files = [("namespaces.yaml", manifests["namespaces"]), ("bad.yaml", manifests["bad_policy"])]

    snapshot = services.create_snapshot(name="bad", files=files)
    services.run_analysis(analysis_id=snapshot.analyses.get().id)

    analysis = snapshot.analyses.get()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error.startswith("bad.yaml:")
    assert analysis.error_detail is not None
    detail = analysis.error_detail
    assert (detail["file"], detail["path"]) == ("bad.yaml", "spec.ingress[0].ports[0].port")
    assert SnapshotFile.objects.count() == 2
    assert Resource.objects.count() == 0
    snapshot.refresh_from_db()
    assert not snapshot.objects_stored


def test_invalid_manifests_of_a_proposal_or_demo_store_nothing(manifests: dict[str, Any]) -> None:
    files = [("namespaces.yaml", manifests["namespaces"]), ("bad.yaml", manifests["bad_policy"])]

    with pytest.raises(engine.PolicyError) as info:
        services.create_snapshot(name="bad", files=files, origin=Snapshot.Origin.DEMO)

    assert "bad.yaml" in str(info.value)
    assert (Snapshot.objects.count(), SnapshotFile.objects.count(), Resource.objects.count()) == (0, 0, 0)
    assert Analysis.objects.count() == 0


def test_a_demo_stores_its_objects_at_once(manifests: dict[str, Any]) -> None:
    snapshot = services.create_snapshot(name="demo", files=manifests["files"], origin=Snapshot.Origin.DEMO)
    assert snapshot.objects_stored
    assert snapshot.resources.get(kind="NetworkPolicy").policy_key == "NetworkPolicy/prod/db-same-namespace"


def test_yaml_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(engine.PolicyError) as info:
        services.create_snapshot(name="x", files=[("broken.yaml", "kind: Pod\nmetadata: [unclosed\n")])
    assert info.value.file == "broken.yaml"
    assert info.value.line is not None and info.value.line >= 1


@pytest.mark.parametrize("files", [[], [("a.yaml", "")], [("a.yaml", "  \n"), ("b.yaml", "")]])
def test_an_upload_without_manifests_is_refused(files: list[tuple[str, str]]) -> None:
    with pytest.raises(engine.PolicyError):
        services.create_snapshot(name="empty", files=files)
    assert Snapshot.objects.count() == 0


def test_the_name_defaults_to_the_file_names(manifests: dict[str, Any]) -> None:
    snapshot = services.create_snapshot(name="  ", files=manifests["files"])
    assert snapshot.name == "namespaces.yaml, pods.yaml, policy.yaml"


def test_duplicate_file_names_are_made_unique() -> None:
    files = [("a.yaml", "1"), ("a.yaml", "2"), ("a.yaml", "3"), ("README", "4"), ("README", "5"), ("", "6")]
    assert services.unique_file_names(files) == [
        ("a.yaml", "1"),
        ("a (2).yaml", "2"),
        ("a (3).yaml", "3"),
        ("README", "4"),
        ("README (2)", "5"),
        ("manifests.yaml", "6"),
    ]


def test_decode_file_refuses_bytes_that_are_not_utf8() -> None:
    assert services.decode_file(name="a.yaml", data="\ufeffkind: Pod".encode()) == "kind: Pod"
    with pytest.raises(engine.PolicyError) as info:
        services.decode_file(name="latin1.yaml", data="name: café".encode("latin-1"))
    assert info.value.file == "latin1.yaml"


# --- run_analysis -----------------------------------------------------------------------------


def test_run_analysis_stores_both_graphs_summary_lint_and_timings(
    make_snapshot: MakeSnapshot,
) -> None:
    snapshot = make_snapshot()
    analysis = snapshot.analyses.get()

    assert analysis.status == Analysis.Status.DONE, analysis.error
    assert analysis.progress == 1.0
    assert analysis.attempts == 1
    assert analysis.engine_version == engine.ENGINE_VERSION
    assert set(analysis.timings) == {"parse", "graph", "lint", "parts", "total", "cpu", "store", "store_cpu"}
    assert all(seconds >= 0 for seconds in analysis.timings.values())
    assert analysis.timings["total"] >= analysis.timings["graph"]
    assert set(analysis.result) == {"summary", "lint", "notes", "pod_graph_stored", "parts", "expectations",
                                    "expectations_version"}
    assert analysis.result["expectations"] is None  # the team has none
    assert analysis.result["pod_graph_stored"] is True
    assert analysis.result["parts"] == sorted(analysis.parts.values_list("key", flat=True))
    assert {"graph:workload", "graph:pod", "graph:namespace", "slice:workload:prod", "nodes:pod"} <= set(
        analysis.result["parts"])
    assert {"slice:pod:prod", "endpoints"} <= set(analysis.result["parts"])  # stored: a lookup when asked

    pod = analysis.graph("pod")
    assert pod is not None and pod["level"] == "pod"
    assert ("prod/web", "prod/db") in edge_pairs(pod)
    assert ("other/intruder", "prod/db") not in edge_pairs(pod)
    assert (analysis.graph("workload") or {})["level"] == "workload"
    assert "counts" in analysis.result["summary"]
    assert isinstance(analysis.result["lint"], list)


def test_run_analysis_writes_the_same_result_as_the_engine(make_snapshot: MakeSnapshot) -> None:
    snapshot = make_snapshot()
    parsed = engine.parse_files([(f.name, f.text) for f in snapshot.files.all()])
    analysis = snapshot.analyses.get()
    for level in ("workload", "pod", "namespace"):
        expected = engine.build_graph(parsed.cluster, level=level).to_dict()
        assert json.dumps(analysis.graph(level)) == json.dumps(expected), level  # the same keys in the same order


def test_a_finished_analysis_is_not_run_again(make_snapshot: MakeSnapshot) -> None:
    analysis = make_snapshot().analyses.get()
    finished = analysis.finished

    with mock.patch.object(engine, "build_graph") as build_graph:
        services.run_analysis(analysis_id=analysis.id)  # a redelivered message

    build_graph.assert_not_called()
    analysis.refresh_from_db()
    assert (analysis.status, analysis.finished, analysis.attempts) == (Analysis.Status.DONE, finished, 1)


def test_an_interrupted_analysis_starts_over_and_finishes(make_snapshot: MakeSnapshot, settings: Any) -> None:
    """A worker died mid-task: the row says running, its heartbeat stopped; the redelivered message
    finishes it."""
    analysis = make_snapshot(analyse=False).analyses.get()
    analysis.start()
    analysis.progress = 0.4
    analysis.heartbeat = analysis.started = timezone.now() - timedelta(seconds=settings.NETPOL_HEARTBEAT_STALE + 1)
    analysis.save()

    services.run_analysis(analysis_id=analysis.id)

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.attempts == 2
    assert (analysis.graph("pod") or {})["nodes"]


def test_an_engine_error_fails_the_analysis_with_its_message(make_snapshot: MakeSnapshot) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()
    error = engine.PolicyError("selector is invalid", file="policy.yaml", line=9, path="spec.podSelector")

    with mock.patch.object(engine, "build_graph", side_effect=error):
        services.run_analysis(analysis_id=analysis.id)

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "policy.yaml:9, field spec.podSelector: selector is invalid"
    assert analysis.error_detail["line"] == 9
    assert analysis.result is None


def test_an_internal_error_fails_the_analysis_and_is_raised(make_snapshot: MakeSnapshot) -> None:
    analysis = make_snapshot(analyse=False).analyses.get()

    with mock.patch.object(engine, "lint", side_effect=RuntimeError("bug")):
        with pytest.raises(RuntimeError):
            services.run_analysis(analysis_id=analysis.id)

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "internal error: RuntimeError"


def test_an_analysis_over_the_time_limit_fails_with_a_clear_message(make_snapshot: MakeSnapshot, settings: Any) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    settings.CELERY_TASK_SOFT_TIME_LIMIT = 60
    analysis = make_snapshot(analyse=False).analyses.get()
    with mock.patch.object(engine, "build_graph", side_effect=SoftTimeLimitExceeded()):
        services.run_analysis(analysis_id=analysis.id)
    analysis.refresh_from_db()
    assert (analysis.status, analysis.error) == (Analysis.Status.FAILED, "the analysis took longer than 60 seconds")


def test_a_deleted_analysis_is_ignored() -> None:
    services.run_analysis(analysis_id=123456)  # its snapshot was deleted before the task ran


def fake_build_graph(seen: list[tuple[float, str]], analysis_id: int) -> Callable[..., Any]:
    """A build_graph that reports progress ten times and records what the row says each time."""
    real = engine.build_graph

    def build(cluster: Any, *, level: str, progress: Callable[[float, str], None]) -> Any:
        for step in range(10):
            progress(step / 10, f"{level} step {step}")
            row = Analysis.objects.get(id=analysis_id)
            seen.append((row.progress, row.progress_message))
        return real(cluster, level=level)

    return build


def test_progress_is_written_as_the_engine_advances(make_snapshot: MakeSnapshot, settings: Any) -> None:
    settings.NETPOL_PROGRESS_INTERVAL = 0
    analysis = make_snapshot(analyse=False).analyses.get()
    seen: list[tuple[float, str]] = []

    with mock.patch.object(engine, "build_graph", fake_build_graph(seen, analysis.id)):
        services.run_analysis(analysis_id=analysis.id)

    progress = [value for value, _ in seen]
    assert progress == sorted(progress)
    assert len(set(progress)) == 30
    assert 0.05 <= progress[0] < progress[-1] < 0.9
    assert seen[0][1] == "workload step 0"
    assert seen[-1][1] == "namespace step 9"


def test_progress_writes_are_throttled(make_snapshot: MakeSnapshot, settings: Any) -> None:
    settings.NETPOL_PROGRESS_INTERVAL = 3600
    analysis = make_snapshot(analyse=False).analyses.get()
    seen: list[tuple[float, str]] = []

    with mock.patch.object(engine, "build_graph", fake_build_graph(seen, analysis.id)):
        services.run_analysis(analysis_id=analysis.id)

    # Only the start of each phase is written; the engine's own reports are dropped.
    assert {message for _, message in seen} == {"computing the workload graph", "computing the pod graph",
                                                  "computing the namespace graph"}


def test_a_pod_graph_over_the_limit_is_stored_as_nodes_and_compact_edges(
    make_snapshot: MakeSnapshot, settings: Any
) -> None:
    settings.NETPOL_MAX_STORED_GRAPH_BYTES = 10
    snapshot = make_snapshot()
    analysis = snapshot.analyses.get()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.graph("pod") is None
    assert analysis.result["pod_graph_stored"] is False
    assert analysis.graph("workload") is not None

    assert {"nodes:pod", "edges:pod", "header:pod"} <= set(analysis.result["parts"])

    with mock.patch.object(engine, "build_graph", side_effect=AssertionError("computed again")):
        graph = services.get_graph(snapshot=snapshot, level="pod")
        other = services.get_graph(snapshot=snapshot, level="pod", namespace="other")

    # Read back from its nodes and compact edges: the graph the engine computes.
    parsed = services.load_manifests(snapshot=snapshot)
    assert graph == engine.build_graph(parsed.cluster, level="pod").to_dict()
    assert ("prod/web", "prod/db") in edge_pairs(graph)
    assert analysis.graph_nodes("pod") == graph["nodes"]
    # A namespace's slice was stored by the analysis.
    assert {n["id"] for n in other["nodes"] if n["kind"] == "pod"} == {"other/intruder"}
    assert analysis.part("slice:pod:other") == other


@pytest.mark.parametrize("limit", [10, 100_000_000])
def test_expectations_are_checked_against_the_pod_graph_however_it_is_stored(
    make_snapshot: MakeSnapshot, settings: Any, limit: int
) -> None:
    """The check reads every pod edge: of the pod graph stored whole, or read back from its compact
    edges when it is over the limit (not computed again either way)."""
    settings.NETPOL_MAX_STORED_GRAPH_BYTES = limit
    for spec in (WEB_REACHES_DB, DB_CLOSED_TO_OTHER):
        TeamExpectation.objects.create(team=Team.default(), name=spec["name"],
                                       spec={k: v for k, v in spec.items() if k != "name"})
    analysis = make_snapshot().analyses.get()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.result["pod_graph_stored"] is (limit > 10)
    report = analysis.result["expectations"]
    assert sorted((r["name"], r["ok"]) for r in report["expectations"]) == [
        ("db-closed-to-other", True), ("web-reaches-db", True)]


# --- answers ----------------------------------------------------------------------------------


def test_get_graph_waits_for_a_finished_analysis(make_snapshot: MakeSnapshot) -> None:
    snapshot = make_snapshot(analyse=False)
    with pytest.raises(services.AnalysisNotReady) as info:
        services.get_graph(snapshot=snapshot, level="workload")
    assert info.value.analysis == snapshot.analyses.get()
    assert "queued" in str(info.value)


def test_get_graph_refuses_an_unknown_level(snapshot: Snapshot) -> None:
    with pytest.raises(engine.PolicyError):
        services.get_graph(snapshot=snapshot, level="galaxy")


def test_get_graph_answers_from_the_stored_result(snapshot: Snapshot) -> None:
    with mock.patch.object(engine, "build_graph") as build_graph:
        graph = services.get_graph(snapshot=snapshot, level="pod")
    build_graph.assert_not_called()
    assert graph == snapshot.analyses.get().graph("pod")


@pytest.mark.parametrize(
    ("source", "destination", "port", "allowed"),
    [
        ("prod/web", "prod/db", 5432, True),
        ("other/intruder", "prod/db", 5432, False),
        ("prod/web", "prod/db", 80, False),
        ("prod/db", "other/intruder", 80, True),
    ],
)
def test_explain_flow(snapshot: Snapshot, source: str, destination: str, port: int, allowed: bool) -> None:
    explanation = services.explain_flow(snapshot=snapshot, source=source, destination=destination, port=port)
    assert explanation["allowed"] is allowed
    assert explanation["summary"]


def test_explain_flow_names_an_unknown_pod(snapshot: Snapshot) -> None:
    with pytest.raises(engine.PolicyError) as info:
        services.explain_flow(snapshot=snapshot, source="prod/nope", destination="prod/db", port=5432)
    assert "prod/nope" in str(info.value)


def test_parsed_manifests_are_reused(make_snapshot: MakeSnapshot) -> None:
    snapshot = make_snapshot(analyse=False)  # no stored explainer yet: the explainer is built from the parse
    services.load_manifests(snapshot=snapshot)
    with CaptureQueriesContext(connection) as queries, mock.patch.object(engine, "parse_files") as parse:
        services.explain_flow(snapshot=snapshot, source="prod/web", destination="prod/db", port=5432)
        again = len(queries)
        services.explain_flow(snapshot=snapshot, source="prod/web", destination="prod/db", port=80)
    parse.assert_not_called()
    assert again == 1  # the look for a finished analysis with a stored explainer
    assert len(queries) == again  # the explainer is kept


def test_diff_snapshots_shows_what_the_change_opens(make_snapshot: MakeSnapshot, manifests: dict[str, Any]) -> None:
    old = make_snapshot(name="before")
    new = make_snapshot(manifests["open_files"], name="after")

    diff = services.diff_snapshots(old=old, new=new, level="pod")

    added = {(edge["source"], edge["target"]) for edge in diff["added"]}
    assert ("other/intruder", "prod/db") in added
    assert diff["removed"] == []
    same = services.diff_snapshots(old=old, new=old, level="pod")
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])


def test_an_analysis_stores_the_diff_against_the_snapshot_before_it_of_the_same_name(
    make_snapshot: MakeSnapshot, manifests: dict[str, Any]
) -> None:
    old = make_snapshot(name="shop")
    new = make_snapshot(manifests["open_files"], name="shop")
    before, after = old.analyses.get(), new.analyses.get()
    stored = after.part(f"diff:workload:{before.id}")
    assert stored is not None, "computed when the analysis finished"
    assert stored == services.answers._diff(old, new, "workload") and stored["added"]
    services.answers._diffs.clear()
    with mock.patch.object(services.answers, "_diff", side_effect=AssertionError("computed again")):
        assert services.diff_snapshots(old=old, new=new) == stored
    other = make_snapshot(name="elsewhere")
    assert not other.analyses.get().parts.filter(key__startswith="diff:").exists()


EGRESS_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-partners, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 203.0.113.0/24}
"""


def test_a_diff_that_computes_both_versions_reads_no_file(
    make_snapshot: MakeSnapshot, manifests: dict[str, Any]
) -> None:
    # A new ipBlock cuts the address space anew: the stored graphs do not compare, both versions are
    # evaluated again, from the clusters their analyses stored (no file is read).
    old = make_snapshot(name="before")
    new = make_snapshot([*manifests["files"], ("egress.yaml", EGRESS_POLICY)], name="after")
    from policies.engine import parse as engine_parse

    with mock.patch.object(engine_parse, "load_text", wraps=engine_parse.load_text) as read:
        diff = services.diff_snapshots(old=old, new=new, level="workload")
    read.assert_not_called()
    old_cluster = engine.parse_files(manifests["files"]).cluster
    new_cluster = engine.parse_files([*manifests["files"], ("egress.yaml", EGRESS_POLICY)]).cluster
    assert diff == engine.diff_clusters(old_cluster, new_cluster, level="workload").to_dict()
    assert diff["policies_changed"] == [{"change": "added", "id": "prod/to-partners",
                                         "key": "NetworkPolicy/prod/to-partners", "kind": "NetworkPolicy"}]


def test_selected_pods_of_a_policy(snapshot: Snapshot) -> None:
    policy = services.policies_of(snapshot_id=snapshot.id).get()
    assert policy.name == "db-same-namespace"
    assert services.selected_pods(policy=policy) == ["prod/db"]


def test_list_pods_gives_neighbours_and_policies(snapshot: Snapshot) -> None:
    pods = {pod["id"]: pod for pod in services.list_pods(snapshot=snapshot)}

    assert set(pods) == {"prod/web", "prod/db", "other/intruder"}
    db = pods["prod/db"]
    assert db["isolated"]["ingress"] is True
    assert db["policies"]["ingress"] == ["NetworkPolicy/prod/db-same-namespace"]
    callers = {n["id"]: n for n in db["ingress"]}
    assert "prod/web" in callers and "other/intruder" not in callers
    assert callers["prod/web"]["ports"] == [{"protocol": "TCP", "from": 5432, "to": 5432}]
    assert "prod/db" in {n["id"] for n in pods["prod/web"]["egress"]}
    assert services.get_pod(snapshot=snapshot, pod_id="prod/db") == db
    assert services.get_pod(snapshot=snapshot, pod_id="prod/nope") is None


# --- demo -------------------------------------------------------------------------------------


def test_load_demo_creates_every_demo_once() -> None:
    first = services.load_demo()
    assert [created for _, created in first] == [True] * len(services.DEMOS)
    assert [s.name for s, _ in first] == [name for name, _ in services.DEMOS]

    second = services.load_demo()

    assert [created for _, created in second] == [False] * len(services.DEMOS)
    assert Snapshot.objects.count() == len(services.DEMOS)


def test_load_demo_replaces_an_outdated_demo() -> None:
    services.load_demo()
    old = Snapshot.objects.get(name=services.DEMOS[0][0])
    file = old.files.first()
    file.text += "\n# edited\n"
    file.save()

    services.load_demo()

    assert not Snapshot.objects.filter(id=old.id).exists()
    assert Snapshot.objects.filter(name=services.DEMOS[0][0]).count() == 1


def test_every_demo_analyses_cleanly() -> None:
    for snapshot, _ in services.load_demo():
        analysis = snapshot.analyses.get()
        services.run_analysis(analysis_id=analysis.id)
        analysis.refresh_from_db()
        assert analysis.status == Analysis.Status.DONE, (snapshot.name, analysis.error)
        assert (analysis.graph("pod") or {})["edges"], snapshot.name


def test_the_shop_demo_is_a_realistic_shop() -> None:
    services.load_demo()
    shop = Snapshot.objects.get(name=services.DEMOS[4][0])
    workloads = shop.resources.filter(kind__in=["Deployment", "StatefulSet"]).exclude(namespace="kube-system")
    assert workloads.count() == 12
    assert set(workloads.values_list("namespace", flat=True)) == {"storefront", "orders", "data"}
    assert shop.resources.filter(kind="NetworkPolicy").count() >= 12


def test_the_size_limit_is_the_uploads_not_the_engines(manifests: dict[str, Any], settings: Any) -> None:
    settings.NETPOL_MAX_UPLOAD_BYTES = 100
    files = [("big.yaml", "# " + "x" * 200 + "\n" + manifests["namespaces"])]
    with pytest.raises(engine.PolicyError, match="larger than the limit of 100 bytes"):
        services.create_snapshot(name="big", files=files)
    assert Snapshot.objects.count() == 0
    # A stored snapshot (or a cluster import) is read whatever the setting says now.
    snapshot = services.create_snapshot(name="big", files=files, origin=Snapshot.Origin.CLUSTER)
    assert services.load_manifests(snapshot=snapshot).cluster.namespaces


def test_a_proposal_on_an_upload_not_read_yet_reads_its_objects_first(
    make_snapshot: MakeSnapshot, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    base = make_snapshot(analyse=False)
    assert not base.objects_stored

    with mock.patch.object(tasks.compute_proposal, "delay_on_commit"):
        proposal = services.create_proposal(base=base, title="drop the policy", user=alice,
                                            delete=["prod/db-same-namespace"])

    base.refresh_from_db()
    assert base.objects_stored
    assert base.resources.filter(kind="NetworkPolicy").count() == 1
    assert not proposal.proposed.resources.filter(kind="NetworkPolicy").exists()
    assert [c["change"] for c in proposal.policy_changes] == ["removed"]
