"""Streaming and scale: list bodies are parsed as they arrive; a 10,000-pod cluster syncs in one
pass, in pages, through the real kubernetes client and a real kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from policies import kube
from policies.kube import reader
from policies.models import ClusterConnection, Resource
from policies.services import clusters
from tests.kube_cluster import large_cluster
from tests.kubeapi import Fault, RunningAPI, kubeconfig


def test_a_list_body_is_parsed_while_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = large_cluster(pods=200, namespaces=2)  # one page of pods: about 240 KB of JSON
    # The server sends 100 KB (more than the parser's 64 KB read), then holds the rest of the body
    # until the reader has taken in a pod. A reader that waits for the whole body never does.
    fault = Fault(hold_after=100_000)
    cluster.faults["/api/v1/pods"] = fault
    original_add = reader._KindBuffer.add
    seen: list[str] = []

    def add_then_release(self: Any, item: dict[str, Any]) -> None:
        original_add(self, item)
        if self.kind.plural == "pods":
            seen.append(item["metadata"]["name"])
            fault.release.set()

    monkeypatch.setattr(reader._KindBuffer, "add", add_then_release)
    running = RunningAPI(cluster)
    try:
        api = kube.api_client(kubeconfig=kubeconfig(running.url))
        read = kube.read_cluster(api, page_size=1000, timeout=(5.0, 30.0))
    finally:
        running.close()
    assert fault.released_in_time is True  # pods were parsed before their list's body ended
    assert read.counts["pods"] == 200 and len(seen) == 200


@pytest.fixture
def big() -> Iterator[RunningAPI]:
    running = RunningAPI(large_cluster(pods=10_000, namespaces=100))
    yield running
    running.close()


@pytest.mark.django_db
def test_a_10000_pod_cluster_syncs_in_one_pass_of_pages(big: RunningAPI, settings: Any) -> None:
    settings.NETPOL_SYNC_PAGE_SIZE = 500
    connection = clusters.add_cluster(name="big", kubeconfig=kubeconfig(big.url))

    outcome = clusters.sync_cluster(connection=connection)

    assert outcome.created and outcome.warnings == []
    assert outcome.counts["pods"] == 10_000 and outcome.counts["deployments.apps/v1"] == 1_000
    pod_requests = [r for r in big.api.requests if r.startswith("/api/v1/pods?")]
    assert len(pod_requests) == 20 and sum("continue=" in r for r in pod_requests) == 19
    assert Resource.objects.filter(snapshot=outcome.snapshot, kind="Pod").count() == 10_000
    # The stored files are of at most 500 objects: the engine reads them back with true line numbers.
    assert outcome.snapshot.files.filter(name__startswith="pods/").count() == 100

    again = clusters.sync_cluster(connection=ClusterConnection.objects.get(id=connection.id))
    assert not again.created and again.snapshot == outcome.snapshot
