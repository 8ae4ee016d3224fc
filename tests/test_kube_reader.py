"""The cluster reader against tests/kubeapi.py, through the real kubernetes client and a real
kubeconfig file: paging, discovery, 403/404 warnings, a slow answer, a broken connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import engine, kube
from tests.kube_cluster import allow_web_to_db, shop_cluster
from tests.kubeapi import Fault, KubeAPI, RunningAPI, kubeconfig, refused_url, write_kubeconfig


def read(server: RunningAPI, tmp_path: Path, **options: object) -> kube.ClusterRead:
    text = write_kubeconfig(tmp_path / "kubeconfig", server.url).read_text()
    return kube.read_cluster(kube.api_client(kubeconfig=text), **options)  # type: ignore[arg-type]


def test_full_sync_reads_every_served_kind_into_the_engine(server: RunningAPI, tmp_path: Path) -> None:
    result = read(server, tmp_path)
    assert result.counts == {
        "namespaces": 2, "pods": 3, "deployments.apps/v1": 1, "replicasets.apps/v1": 1,
        "statefulsets.apps/v1": 1, "daemonsets.apps/v1": 0, "jobs.batch/v1": 0, "cronjobs.batch/v1": 0,
        "networkpolicies.networking.k8s.io/v1": 2, "tiers.projectcalico.org/v3": 0,
        "globalnetworkpolicies.projectcalico.org/v3": 1, "networkpolicies.projectcalico.org/v3": 0,
        "globalnetworksets.projectcalico.org/v3": 0, "networksets.projectcalico.org/v3": 0,
    }
    assert result.warnings == []
    parsed = engine.parse_files(result.files)
    assert sorted(p.id for p in parsed.cluster.pods) == ["shop/db-0", "shop/web-5d8f-00000", "shop/web-5d8f-00001"]
    graph = engine.build_graph(parsed.cluster, level="workload")
    edges = {(e["source"], e["target"]) for e in graph.to_dict()["edges"]}
    assert ("shop/Deployment/web", "shop/StatefulSet/db") in edges
    assert ("shop/StatefulSet/db", "shop/Deployment/web") not in edges


def test_stored_objects_keep_their_meaning_and_lose_the_bookkeeping(server: RunningAPI, tmp_path: Path) -> None:
    files = dict(read(server, tmp_path).files)
    pods = files["pods/shop.yaml"]
    assert "podIP: 10.1.1.10" in pods and "phase: Running" in pods
    for noise in ("resourceVersion", "managedFields", "uid: uid-db-0", "conditions", "startTime", "creationTimestamp"):
        assert noise not in pods
    assert "observedGeneration" not in files["deployments.apps/shop.yaml"]


def test_resource_versions_are_kept_apart_as_the_origin(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    result = read(server, tmp_path)
    db = next(o for o in cluster.items["/api/v1/pods"] if o["metadata"]["name"] == "db-0")
    assert result.resource_versions[("v1", "Pod", "shop", "db-0")] == db["metadata"]["resourceVersion"]


@pytest.mark.parametrize("page_size", [1, 2, 500])
def test_paging_follows_continue_tokens_to_the_same_content(
    server: RunningAPI, cluster: KubeAPI, tmp_path: Path, page_size: int
) -> None:
    baseline = read(server, tmp_path)
    cluster.requests.clear()
    paged = read(server, tmp_path, page_size=page_size)
    assert paged.content_hash == baseline.content_hash
    assert paged.counts == baseline.counts
    pod_requests = [r for r in cluster.requests if r.startswith("/api/v1/pods?")]
    assert len(pod_requests) == -(-3 // page_size)  # 3 pods
    assert all(f"limit={page_size}" in r for r in pod_requests)
    assert sum("continue=" in r for r in pod_requests) == len(pod_requests) - 1


def test_a_server_capping_the_page_is_followed_too(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    cluster.max_limit = 1
    assert read(server, tmp_path, page_size=500).counts["pods"] == 3


def test_hash_ignores_resource_versions_and_status_noise(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    before = read(server, tmp_path).content_hash
    for obj in cluster.items["/api/v1/pods"]:
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 100)
        obj["status"]["conditions"][0]["lastTransitionTime"] = "2026-12-02T00:00:00Z"
    cluster.items["/api/v1/pods"].reverse()
    assert read(server, tmp_path).content_hash == before
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"][1] = {
        **allow_web_to_db(port=5433), "metadata": {"name": "db-from-web", "namespace": "shop", "resourceVersion": "9"}}
    assert read(server, tmp_path).content_hash != before


def test_a_forbidden_calico_kind_is_a_warning(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    cluster.faults["/apis/projectcalico.org/v3/globalnetworkpolicies"] = Fault(status=403)
    result = read(server, tmp_path)
    assert result.warnings == [
        "globalnetworkpolicies.projectcalico.org/v3: forbidden, this account may not list them (403); "
        "the snapshot has none"]
    assert "globalnetworkpolicies.projectcalico.org/v3" not in result.counts
    assert result.counts["pods"] == 3


def test_a_kind_the_cluster_does_not_serve_is_a_warning(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    del cluster.items["/apis/batch/v1/cronjobs"]
    cluster.faults["/apis/batch/v1/jobs"] = Fault(status=404)
    result = read(server, tmp_path)
    assert result.warnings == ["jobs.batch/v1: not served by the cluster (404)",
                               "cronjobs.batch/v1: the cluster does not serve cronjobs in batch/v1"]


def test_optional_groups_not_served_are_skipped_quietly(tmp_path: Path) -> None:
    running = RunningAPI(shop_cluster(calico=False))
    try:
        result = read(running, tmp_path)
    finally:
        running.close()
    assert result.warnings == []
    assert "tiers.projectcalico.org/v3: the cluster does not serve projectcalico.org/v3" in result.skipped
    assert "adminnetworkpolicies.policy.networking.k8s.io/v1alpha1: the cluster does not serve " \
           "policy.networking.k8s.io/v1alpha1" in result.skipped


def test_calico_crds_are_read_when_the_calico_api_server_is_absent(tmp_path: Path) -> None:
    cluster = shop_cluster(calico=False)
    cluster.add("crd.projectcalico.org/v1", "globalnetworkpolicies", {
        "apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy", "metadata": {"name": "deny-all"},
        "spec": {"selector": "all()", "types": ["Ingress"], "ingress": [{"action": "Deny"}]}})
    running = RunningAPI(cluster)
    try:
        result = read(running, tmp_path)
    finally:
        running.close()
    assert result.counts["globalnetworkpolicies.crd.projectcalico.org/v1"] == 1
    assert engine.parse_files(result.files).cluster.has_calico()


def test_calico_crds_are_not_read_twice_beside_the_calico_api_server(cluster: KubeAPI, tmp_path: Path) -> None:
    cluster.add("crd.projectcalico.org/v1", "globalnetworkpolicies", {
        "apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "default.deny-metadata"}, "spec": {"selector": "all()"}})
    running = RunningAPI(cluster)
    try:
        result = read(running, tmp_path)
    finally:
        running.close()
    assert "globalnetworkpolicies.crd.projectcalico.org/v1" not in result.counts
    assert not any("/apis/crd.projectcalico.org/v1/globalnetworkpolicies?" in r for r in cluster.requests)


def test_an_expired_continue_token_restarts_the_list(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    cluster.faults["/api/v1/pods"] = Fault(status=410, on_continue_only=True)
    with pytest.raises(kube.SyncError, match=r"answered 410 .* while listing pods"):
        read(server, tmp_path, page_size=2)
    # Twice from the start, then it gives up.
    assert sum(r == "/api/v1/pods?limit=2" for r in cluster.requests) == 2


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(status=500), r"127\.0\.0\.1:\d+ answered 500 .* while listing pods"),
        (Fault(delay=1.5), r"127\.0\.0\.1:\d+ did not answer within 0\.5 seconds while listing pods"),
        (Fault(break_after=40), r"the connection to http://127\.0\.0\.1:\d+ broke while listing pods"),
        (Fault(break_after=200, on_continue_only=True), r"broke while listing pods"),
    ],
    ids=["server-error", "slow-answer", "broken-connection", "broken-on-second-page"],
)
def test_failures_raise_a_clear_sync_error(
    server: RunningAPI, cluster: KubeAPI, tmp_path: Path, fault: Fault, message: str
) -> None:
    cluster.faults["/api/v1/pods"] = fault
    with pytest.raises(kube.SyncError, match=message):
        read(server, tmp_path, page_size=2, timeout=(2.0, 0.5))


def test_wrong_credentials_say_401(server: RunningAPI) -> None:
    client = kube.api_client(kubeconfig=kubeconfig(server.url, token="wrong"))
    with pytest.raises(kube.SyncError, match=r"refused the credentials \(401 Unauthorized\)"):
        kube.read_cluster(client)


def test_an_unreachable_server_says_so() -> None:
    with refused_url() as url:
        client = kube.api_client(kubeconfig=kubeconfig(url))
        with pytest.raises(kube.SyncError, match=r"cannot reach http://127\.0\.0\.1:\d+ while reading the served API"):
            kube.read_cluster(client, timeout=(2.0, 2.0))


def test_nothing_listable_is_a_failure(server: RunningAPI, cluster: KubeAPI, tmp_path: Path) -> None:
    for path in cluster.items:
        cluster.faults[path] = Fault(status=403)
    with pytest.raises(kube.SyncError, match="may list none of the kinds"):
        read(server, tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clusters: [", "the kubeconfig is not valid YAML"),
        ("apiVersion: v1\nkind: Pod\n", "this is not a kubeconfig: it has no clusters"),
    ],
)
def test_a_bad_kubeconfig_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(kube.SyncError, match=message):
        kube.api_client(kubeconfig=text)


def test_an_unknown_context_is_a_clear_error(server: RunningAPI) -> None:
    with pytest.raises(kube.SyncError, match="cannot use the kubeconfig: .*staging"):
        kube.api_client(kubeconfig=kubeconfig(server.url), context="staging")


def test_summary_shows_server_and_user_but_no_secret(server: RunningAPI) -> None:
    text = kubeconfig(server.url)
    summary = kube.kubeconfig_summary(text)
    assert summary == {"context": "test", "server": server.url, "user": "test-user"}
    assert "test-token" not in str(summary)
