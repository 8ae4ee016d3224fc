from __future__ import annotations

import pytest
from django.db import IntegrityError

from policies.models import Analysis, Resource, Snapshot, SnapshotFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_snapshot() -> Snapshot:
    return Snapshot.objects.create(name="empty")


def test_analysis_starts_queued_and_start_counts_attempts(empty_snapshot: Snapshot) -> None:
    analysis = Analysis.objects.create(snapshot=empty_snapshot)
    assert analysis.status == Analysis.Status.QUEUED
    assert analysis.attempts == 0

    analysis.start()
    analysis.start()  # a redelivered message starts it again

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.RUNNING
    assert analysis.attempts == 2
    assert analysis.started is not None
    assert not analysis.is_finished


def test_finish_stores_result_timings_and_version(empty_snapshot: Snapshot) -> None:
    analysis = Analysis.objects.create(snapshot=empty_snapshot)
    analysis.start()
    result = {"graph": {"workload": {"nodes": [], "edges": []}, "pod": None}}

    analysis.finish(result, timings={"total": 1.5}, engine_version="9.9")

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.DONE
    assert analysis.is_finished
    assert analysis.progress == 1.0
    assert analysis.result == result
    assert analysis.timings == {"total": 1.5}
    assert analysis.engine_version == "9.9"
    assert analysis.finished is not None
    assert analysis.graph("workload") == {"nodes": [], "edges": []}
    assert analysis.graph("pod") is None


def test_fail_keeps_the_message_and_detail(empty_snapshot: Snapshot) -> None:
    analysis = Analysis.objects.create(snapshot=empty_snapshot)
    analysis.start()

    analysis.fail("a.yaml:3: bad port", detail={"line": 3})

    analysis.refresh_from_db()
    assert analysis.status == Analysis.Status.FAILED
    assert analysis.error == "a.yaml:3: bad port"
    assert analysis.error_detail == {"line": 3}
    assert analysis.graph("workload") is None


def test_start_clears_an_earlier_error(empty_snapshot: Snapshot) -> None:
    analysis = Analysis.objects.create(snapshot=empty_snapshot)
    analysis.fail("boom")
    analysis.start()
    assert analysis.error == ""
    assert analysis.error_detail is None


def test_latest_analysis_is_the_newest(empty_snapshot: Snapshot) -> None:
    assert empty_snapshot.latest_analysis() is None
    Analysis.objects.create(snapshot=empty_snapshot)
    newest = Analysis.objects.create(snapshot=empty_snapshot)
    assert empty_snapshot.latest_analysis() == newest


def test_file_names_are_unique_within_a_snapshot(empty_snapshot: Snapshot) -> None:
    SnapshotFile.objects.create(snapshot=empty_snapshot, name="a.yaml", text="")
    SnapshotFile.objects.create(snapshot=Snapshot.objects.create(name="other"), name="a.yaml", text="")
    with pytest.raises(IntegrityError):
        SnapshotFile.objects.create(snapshot=empty_snapshot, name="a.yaml", text="")


@pytest.mark.parametrize(
    ("kind", "namespace", "qualified", "is_policy"),
    [
        ("NetworkPolicy", "prod", "prod/x", True),
        ("GlobalNetworkPolicy", "", "x", True),
        ("Pod", "prod", "prod/x", False),
        ("Namespace", "", "x", False),
    ],
)
def test_resource_names_and_policy_kinds(
    empty_snapshot: Snapshot, kind: str, namespace: str, qualified: str, is_policy: bool
) -> None:
    resource = Resource(snapshot=empty_snapshot, kind=kind, namespace=namespace, name="x")
    assert resource.qualified_name == qualified
    assert resource.is_policy is is_policy
    assert str(resource) == f"{kind} {qualified}"


def test_deleting_a_snapshot_deletes_what_belongs_to_it(empty_snapshot: Snapshot) -> None:
    file = SnapshotFile.objects.create(snapshot=empty_snapshot, name="a.yaml", text="kind: Pod")
    Resource.objects.create(snapshot=empty_snapshot, file=file, kind="Pod", name="p")
    Analysis.objects.create(snapshot=empty_snapshot)

    empty_snapshot.delete()

    assert (SnapshotFile.objects.count(), Resource.objects.count(), Analysis.objects.count()) == (0, 0, 0)


def test_without_graphs_reads_the_small_parts_and_one_graph_at_a_time(analysis: Analysis) -> None:
    light = Analysis.objects.without_graphs().get(id=analysis.id)

    assert "result" in light.get_deferred_fields()
    for key in Analysis.SMALL_RESULT_KEYS:
        assert light.result_part(key) == analysis.result[key]
    assert light.graph("pod") == analysis.parts.get(key="graph:pod").data
    assert light.graph("workload") == analysis.parts.get(key="graph:workload").data
    assert "result" in light.get_deferred_fields()  # graph() did not load the whole result


def test_analyses_stored_before_the_parts_read_their_graphs_from_the_result(analysis: Analysis) -> None:
    graph = analysis.graph("workload")
    analysis.parts.all().delete()
    Analysis.objects.filter(id=analysis.id).update(result={"summary": {}, "graph": {"workload": graph}})
    light = Analysis.objects.without_graphs().get(id=analysis.id)
    assert light.graph("workload") == graph
    assert light.graph("pod") is None


def test_an_unfinished_analysis_has_no_result_parts(empty_snapshot: Snapshot) -> None:
    analysis = Analysis.objects.create(snapshot=empty_snapshot)
    light = Analysis.objects.without_graphs().get(id=analysis.id)
    assert light.result_part("summary") is None
    assert analysis.result_part("summary") is None
    assert light.graph("pod") is None
