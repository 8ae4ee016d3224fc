"""deploy/: the Kubernetes manifests for running netpol in a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from policies import engine
from policies.kube import SYNC_KINDS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if doc]


def all_documents() -> list[dict[str, Any]]:
    return [doc for path in sorted(DEPLOY.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in documents(path.name)]


def pod_specs() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"] for doc in all_documents()
            if doc["kind"] in ("Deployment", "StatefulSet", "Job")}


def test_the_cluster_role_grants_exactly_the_kinds_sync_lists() -> None:
    (role,) = documents("clusterrole.yaml")
    assert role["kind"] == "ClusterRole"
    granted: set[tuple[str, str]] = set()
    for rule in role["rules"]:
        assert sorted(rule["verbs"]) == ["list", "watch"]  # no get, create, update, delete, no "*"
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        granted |= {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
    assert "*" not in {g for g, _ in granted} | {r for _, r in granted}
    assert granted == {(kind.group, kind.plural) for kind in SYNC_KINDS}


def test_the_service_account_is_bound_to_that_role_only() -> None:
    account, binding = documents("serviceaccount.yaml")
    assert account["kind"] == "ServiceAccount" and binding["kind"] == "ClusterRoleBinding"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "netpol-reader"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "netpol", "namespace": "netpol"}]


def test_kustomization_applies_every_manifest() -> None:
    (kustomization,) = documents("kustomization.yaml")
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


def test_web_worker_beat_redis_and_postgres_are_there() -> None:
    specs = pod_specs()
    assert set(specs) == {"netpol-web", "netpol-worker", "netpol-beat", "netpol-migrate", "redis", "postgres"}
    commands = {name: " ".join(spec["containers"][0].get("command", [])) for name, spec in specs.items()}
    assert "worker" in commands["netpol-worker"] and "beat" in commands["netpol-beat"]


def test_only_the_pods_that_sync_get_the_service_account() -> None:
    for name, spec in pod_specs().items():
        if name in ("netpol-web", "netpol-worker"):  # "sync now" runs in web, periodic syncs in the worker
            assert spec["serviceAccountName"] == "netpol"
        else:
            assert spec.get("automountServiceAccountToken") is False and "serviceAccountName" not in spec


def test_netpol_agrees_with_its_own_network_policies() -> None:
    files = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(DEPLOY.glob("*.yaml"))
             if p.name != "kustomization.yaml"]
    cluster = engine.parse_files(files).cluster
    edges = {(e["source"], e["target"]) for e in engine.build_graph(cluster, level="workload").to_dict()["edges"]}
    web, worker, beat = (f"netpol/Deployment/netpol-{name}" for name in ("web", "worker", "beat"))
    redis, postgres = "netpol/StatefulSet/redis", "netpol/StatefulSet/postgres"
    for app in (web, worker, beat):
        assert (app, redis) in edges and (app, postgres) in edges
    assert (redis, postgres) not in edges and (postgres, redis) not in edges
    assert (postgres, web) in edges  # the web app is open to all on 8000
    outside = {source for source, target in edges if target == redis} - {web, worker, beat}
    assert outside == set()  # nothing else reaches Redis, not even from outside the cluster
