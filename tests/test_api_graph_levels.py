"""The graph API's namespace views: `?level=namespace` and `?namespace=NS` on the workload and pod
levels, checked against the full graphs they are read from."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from typing import Any
from unittest import mock

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from policies import engine, services
from policies.engine import ConnectionSet
from policies.models import Snapshot
from policies.services.graph_slices import every_namespace_slice, namespace_slice
from policies.services.pod_slices import every_pod_slice, flat_edges, pack, pod_slice, unpack
from policies.services.stored_graphs import (
    compact_edges,
    compact_from_dict,
    graph_dict,
    graph_from_compact,
    json_chunks,
)
from tests.bench_generator import load_generator


def get(api: APIClient, snapshot: Snapshot, **params: str) -> dict[str, Any]:
    response = api.get(f"/api/snapshots/{snapshot.id}/graph/", params)
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


def test_namespace_level_is_the_union_over_pod_pairs(api: APIClient, snapshot: Snapshot) -> None:
    pods = get(api, snapshot, level="pod")
    graph = get(api, snapshot, level="namespace")
    assert graph["level"] == "namespace"

    namespaces = {n["id"]: n for n in graph["nodes"] if n["kind"] == "namespace"}
    pod_nodes = [n for n in pods["nodes"] if n["kind"] == "pod"]
    assert set(namespaces) == {n["namespace"] for n in pod_nodes}
    for name, node in namespaces.items():
        assert node["pod_count"] == sum(1 for n in pod_nodes if n["namespace"] == name)
        assert node["workload_count"] >= 1
    externals = {n["id"] for n in pods["nodes"] if n["kind"] == "external"}
    assert externals == {n["id"] for n in graph["nodes"] if n["kind"] == "external"}

    group = {n["id"]: n["namespace"] or n["id"] for n in pods["nodes"]}
    expected: dict[tuple[str, str], ConnectionSet] = defaultdict(ConnectionSet.none)
    for edge in pods["edges"]:
        key = (group[edge["source"]], group[edge["target"]])
        expected[key] = expected[key] | ConnectionSet.from_dict(edge)
    got = {(e["source"], e["target"]): ConnectionSet.from_dict(e) for e in graph["edges"]}
    assert got == dict(expected)
    assert ("prod", "prod") in got, "A -> A is listed"


def test_one_namespace_keeps_its_workloads_and_folds_the_others(api: APIClient, snapshot: Snapshot) -> None:
    full = get(api, snapshot, level="workload")
    part = get(api, snapshot, level="workload", namespace="prod")

    inside = {n["id"] for n in full["nodes"] if n["kind"] == "workload" and n["namespace"] == "prod"}
    kinds = {n["id"]: n["kind"] for n in part["nodes"]}
    assert {i for i, k in kinds.items() if k == "workload"} == inside
    namespaces = {n["id"]: n for n in get(api, snapshot, level="namespace")["nodes"]}
    folded = [n for n in part["nodes"] if n["kind"] == "namespace"]
    assert folded and all(n == namespaces[n["id"]] for n in folded), "the namespace level's own nodes"
    assert {n["id"] for n in folded} <= {"other"}
    assert "prod" not in kinds

    def drawn(node_id: str) -> str:
        node = next(n for n in full["nodes"] if n["id"] == node_id)
        return node_id if node_id in inside or node["kind"] == "external" else node["namespace"]

    expected: dict[tuple[str, str], ConnectionSet] = defaultdict(ConnectionSet.none)
    for edge in full["edges"]:
        if edge["source"] in inside or edge["target"] in inside:
            key = (drawn(edge["source"]), drawn(edge["target"]))
            expected[key] = expected[key] | ConnectionSet.from_dict(edge)
    got = {(e["source"], e["target"]): ConnectionSet.from_dict(e) for e in part["edges"]}
    assert got == dict(expected)
    assert got, "prod's workloads have edges"
    assert all(e["source"] in kinds and e["target"] in kinds for e in part["edges"])


def test_one_namespace_of_pods(api: APIClient, snapshot: Snapshot) -> None:
    part = get(api, snapshot, level="pod", namespace="other")
    pods = [n for n in part["nodes"] if n["kind"] == "pod"]
    assert pods and all(n["namespace"] == "other" for n in pods)
    assert any(e["source"] == "other/intruder" for e in part["edges"])


@pytest.mark.parametrize("params", [{"level": "workload", "namespace": "nowhere"},
                                    {"level": "namespace", "namespace": "prod"}])
def test_a_bad_namespace_says_which_field(api: APIClient, snapshot: Snapshot, params: dict[str, str]) -> None:
    response = api.get(f"/api/snapshots/{snapshot.id}/graph/", params)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("namespace:")


def test_two_namespaces_keep_the_edges_between_their_workloads(api: APIClient, snapshot: Snapshot) -> None:
    full = get(api, snapshot, level="workload")
    both = get(api, snapshot, level="workload", namespace="prod, other")
    assert both["namespaces"] == ["other", "prod"]
    assert {n["id"] for n in both["nodes"]} == {n["id"] for n in full["nodes"]}, "nothing left to fold"
    assert sorted((e["source"], e["target"], e["text"]) for e in both["edges"]) == sorted(
        (e["source"], e["target"], e["text"]) for e in full["edges"] if e["source"] != e["target"])


def test_graphs_are_compressed_for_clients_that_accept_gzip(api: APIClient, snapshot: Snapshot) -> None:
    plain = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "pod"})
    packed = api.get(f"/api/snapshots/{snapshot.id}/graph/", {"level": "pod"}, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed.content)) == plain.json()
    assert len(packed.content) < len(plain.content)


def test_the_stored_slices_are_the_slices_computed_on_demand(snapshot: Snapshot) -> None:
    analysis = snapshot.analyses.get()
    namespaces = analysis.graph("namespace")
    for level in ("workload", "pod"):
        graph = analysis.graph(level)
        assert graph is not None and namespaces is not None
        stored = every_namespace_slice(graph, namespaces)
        assert set(stored) == {"prod", "other"}
        for name, part in stored.items():
            assert part == namespace_slice(graph, namespaces, (name,))
            assert analysis.part(f"slice:{level}:{name}") == part
            assert services.get_graph(snapshot=snapshot, level=level, namespace=name) == part


def test_a_bench_cluster_slices_the_same_both_ways() -> None:
    files, _ = load_generator().generate(pods=300, namespaces=8, policies=60)
    cluster = engine.parse_files(sorted(files.items())).cluster
    namespaces = engine.build_graph(cluster, level="namespace").to_dict()
    graph = engine.build_graph(cluster, level="workload").to_dict()
    stored = every_namespace_slice(graph, namespaces)
    assert len(stored) == 8
    for name, part in stored.items():
        assert part == namespace_slice(graph, namespaces, (name,)), name
        # the engine's namespace view (``netpol reach --namespace``) draws the same edges and the
        # same nodes at their ends; it lists every other namespace and block as a node besides
        view = engine.build_graph(cluster, level="workload", namespaces=[name]).to_dict()
        assert view["namespaces"] == part["namespaces"] == [name]
        assert view["edges"] == part["edges"], name
        by_id = {n["id"]: n for n in view["nodes"]}
        assert all(by_id[n["id"]] == n for n in part["nodes"]), name


def test_pod_slices_from_the_compact_edges_are_the_slices_of_the_whole_graph() -> None:
    files, _ = load_generator().generate(pods=300, namespaces=8, policies=60)
    cluster = engine.parse_files(sorted(files.items())).cluster
    namespaces = engine.build_graph(cluster, level="namespace").to_dict()
    workloads = engine.build_graph(cluster, level="workload").to_dict()
    pod = engine.build_graph(cluster, level="pod")
    graph = pod.to_dict()
    with mock.patch.object(engine.Graph, "adjacency", side_effect=AssertionError("the level graph held")):
        assert json.dumps(graph_dict(pod)) == json.dumps(graph)  # the same keys in the same order
        compact, size = compact_edges(pod)
    assert compact == compact_from_dict(graph)
    exact = len(json.dumps(graph["edges"]))
    assert 0.85 * exact < size < 1.15 * exact  # an estimate, for NETPOL_MAX_STORED_GRAPH_BYTES
    header = {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
    assert graph_from_compact(header, graph["nodes"], compact) == graph
    assert graph_from_compact(header, graph["nodes"], compact_from_dict(graph)) == graph
    names = sorted({n["namespace"] for n in graph["nodes"] if n["kind"] == "pod"})
    view = engine.build_graph(cluster, level="pod", namespaces=names[:1])
    assert json.dumps(graph_dict(view)) == json.dumps(view.to_dict())  # a namespace view says which namespaces
    flat = flat_edges(compact)
    packed = unpack(pack(flat), flat.ids, flat.conns)
    assert all((a == b).all() for a, b in zip(flat[2:], packed[2:], strict=True))
    every = every_pod_slice(header, graph["nodes"], packed, workloads["nodes"], namespaces, budget=len(graph["nodes"]))
    assert sorted(every) == names
    for name in names:
        assert every[name] == namespace_slice(graph, namespaces, (name,)), name
    both = tuple(names[:2])
    two = pod_slice(header, graph["nodes"], flat, workloads["nodes"], namespaces, both, budget=300)
    assert two == namespace_slice(graph, namespaces, both)
    assert pod_slice(header, graph["nodes"], flat, workloads["nodes"], namespaces, ("nowhere",)) == "nowhere"


def test_a_pod_slice_over_its_budget_draws_its_largest_workloads_whole() -> None:
    files, _ = load_generator().generate(pods=300, namespaces=8, policies=60)
    cluster = engine.parse_files(sorted(files.items())).cluster
    namespaces = engine.build_graph(cluster, level="namespace").to_dict()
    workloads = engine.build_graph(cluster, level="workload").to_dict()
    graph = engine.build_graph(cluster, level="pod").to_dict()
    compact = flat_edges(compact_from_dict(graph))
    header = {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
    by_workload = every_namespace_slice(workloads, namespaces)
    # Without a pod to spare, every workload is drawn whole: the namespace's workload slice.
    for name, part in every_pod_slice(header, graph["nodes"], compact, workloads["nodes"], namespaces,
                                      budget=0).items():
        expected = by_workload[name]
        assert part["collapsed"] == sorted(n["id"] for n in expected["nodes"] if n["kind"] == "workload")
        assert (part["nodes"], part["edges"]) == (expected["nodes"], expected["edges"]), name
    # With room for a few pods, the smallest workloads open; the edges of an opened pod are its own.
    name = max(by_workload, key=lambda ns: sum(1 for n in graph["nodes"] if n.get("namespace") == ns))
    part = pod_slice(header, graph["nodes"], compact, workloads["nodes"], namespaces, (name,), budget=5)
    assert isinstance(part, dict)
    pods = [n for n in part["nodes"] if n["kind"] == "pod"]
    assert 0 < len(pods) <= 5 and part["collapsed"]
    whole = namespace_slice(graph, namespaces, (name,))
    assert isinstance(whole, dict)
    exact = {(e["source"], e["target"]): e for e in whole["edges"]}
    collapsed = set(part["collapsed"])
    for edge in part["edges"]:
        if edge["source"] not in collapsed and edge["target"] not in collapsed:
            assert exact[(edge["source"], edge["target"])] == edge


@pytest.mark.parametrize("per_chunk", [1, 7, 100_000])
def test_json_chunks_write_the_json_of_the_graph_they_are_read_from(per_chunk: int) -> None:
    files, _ = load_generator().generate(pods=120, namespaces=4, policies=20)
    pod = engine.build_graph(engine.parse_files(sorted(files.items())).cluster, level="pod")
    graph = pod.to_dict()
    compact, _ = compact_edges(pod)
    header = {k: v for k, v in graph.items() if k not in ("nodes", "edges")}
    chunks = list(json_chunks(header, graph["nodes"], compact, edges_per_chunk=per_chunk))
    assert b"".join(chunks) == JSONRenderer().render(graph_from_compact(header, graph["nodes"], compact))
    assert len(chunks) >= 2 + (len(graph["edges"]) - 1) // per_chunk
    empty = list(json_chunks(header, graph["nodes"], {"ids": compact["ids"], "conns": [], "rows": []}))
    assert json.loads(b"".join(empty))["edges"] == []


def test_a_pod_graph_stored_as_compact_edges_is_streamed_not_held(
    api: APIClient, make_snapshot: Any, settings: Any
) -> None:
    settings.NETPOL_MAX_STORED_GRAPH_BYTES = 10  # stored as nodes and compact edges, as at 5,000 pods
    snapshot = make_snapshot()
    expected = engine.build_graph(services.load_manifests(snapshot=snapshot).cluster, level="pod").to_dict()
    url = f"/api/snapshots/{snapshot.id}/graph/"
    with mock.patch.object(engine, "build_graph", side_effect=AssertionError("computed again")), \
            mock.patch("policies.services.answers.graph_from_compact", side_effect=AssertionError("held whole")):
        plain = api.get(url, {"level": "pod"})
        zipped = api.get(url, {"level": "pod"}, HTTP_ACCEPT_ENCODING="gzip")
    assert plain.status_code == 200 and plain.streaming and plain["Content-Type"] == "application/json"
    assert json.loads(b"".join(plain.streaming_content)) == expected
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(b"".join(zipped.streaming_content))) == expected
    # A namespace's pods and the other levels are answered as before.
    assert {n["id"] for n in get(api, snapshot, level="pod", namespace="other")["nodes"] if n["kind"] == "pod"} == {
        "other/intruder"}
    assert not api.get(url, {"level": "workload"}).streaming
