"""A small live cluster for the sync tests: a shop namespace with a web Deployment (through its
ReplicaSet) and a db StatefulSet, a default-deny and an allow policy, and a Calico
GlobalNetworkPolicy served by the Calico API server."""

from __future__ import annotations

from typing import Any

from tests.kubeapi import KubeAPI

NETWORK_POLICY_API = "networking.k8s.io/v1"


def pod(name: str, labels: dict[str, str], ip: str, owner: tuple[str, str] | None = None,
        namespace: str = "shop") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels, "uid": f"uid-{name}",
                                "creationTimestamp": "2026-12-01T10:00:00Z",
                                "managedFields": [{"manager": "kubelet", "operation": "Update"}]}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                        "uid": f"uid-{owner[1]}", "controller": True}]
    return {"metadata": metadata,
            "spec": {"containers": [{"name": "main", "image": "nginx",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True",
                                       "lastTransitionTime": "2026-12-01T10:00:05Z"}],
                       "startTime": "2026-12-01T10:00:00Z"}}


def allow_web_to_db(port: int = 5432) -> dict[str, Any]:
    return {"metadata": {"name": "db-from-web", "namespace": "shop"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                  "ports": [{"protocol": "TCP", "port": port}]}]}}


def shop_cluster(*, calico: bool = True, web_pods: int = 2) -> KubeAPI:
    api = KubeAPI()
    for name in ("shop", "kube-system"):
        api.add("v1", "namespaces", {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                                     "status": {"phase": "Active"}})
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}}
    api.add("apps/v1", "deployments", {"metadata": {"name": "web", "namespace": "shop"},
                                       "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template},
                                       "status": {"replicas": web_pods, "observedGeneration": 3}})
    api.add("apps/v1", "replicasets", {
        "metadata": {"name": "web-5d8f", "namespace": "shop", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-web", "controller": True}]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}})
    db_template = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "pg", "image": "pg"}]}}
    api.add("apps/v1", "statefulsets", {"metadata": {"name": "db", "namespace": "shop"},
                                        "spec": {"selector": {"matchLabels": {"app": "db"}},
                                                 "template": db_template, "serviceName": "db"}})
    for i in range(web_pods):
        api.add("v1", "pods", pod(f"web-5d8f-{i:05d}", {"app": "web"}, f"10.1.0.{10 + i}", ("ReplicaSet", "web-5d8f")))
    api.add("v1", "pods", pod("db-0", {"app": "db"}, "10.1.1.10", ("StatefulSet", "db")))
    api.serve("apps/v1", "daemonsets")
    api.serve("batch/v1", "jobs")
    api.serve("batch/v1", "cronjobs")
    api.add(NETWORK_POLICY_API, "networkpolicies", {
        "metadata": {"name": "default-deny", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    api.add(NETWORK_POLICY_API, "networkpolicies", allow_web_to_db())
    if calico:
        api.add("projectcalico.org/v3", "globalnetworkpolicies", {
            "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "deny-metadata"},
            "spec": {"selector": "all()", "types": ["Egress"], "order": 10,
                     "egress": [{"action": "Deny", "destination": {"nets": ["169.254.169.254/32"]}},
                                {"action": "Pass"}]}})
        for plural in ("networkpolicies", "tiers", "networksets", "globalnetworksets"):
            api.serve("projectcalico.org/v3", plural)
    return api


def large_cluster(*, pods: int = 10_000, namespaces: int = 100, pods_per_deployment: int = 10) -> KubeAPI:
    """A cluster of ``pods`` pods in ``namespaces`` namespaces, each pod of a Deployment (through its
    ReplicaSet) of ``pods_per_deployment``, with a default deny and an allow policy per namespace.
    About 1.2 KB of JSON per pod, like a kubelet-managed pod without its long status."""
    api = KubeAPI()
    per_namespace = pods // namespaces
    for n in range(namespaces):
        ns = f"team-{n:03d}"
        api.add("v1", "namespaces", {"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}})
        api.add(NETWORK_POLICY_API, "networkpolicies", {
            "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        api.add(NETWORK_POLICY_API, "networkpolicies", {
            "metadata": {"name": "from-frontends", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"tier": "backend"}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "frontend"}}}],
                                  "ports": [{"protocol": "TCP", "port": 8080}]}]}})
        for d in range(per_namespace // pods_per_deployment):
            app = f"app-{d:03d}"
            labels = {"app": app, "tier": "frontend" if d % 2 else "backend"}
            template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": "app"}]}}
            api.add("apps/v1", "deployments", {"metadata": {"name": app, "namespace": ns},
                                               "spec": {"selector": {"matchLabels": labels}, "template": template}})
            rs = f"{app}-7c9d"
            api.add("apps/v1", "replicasets", {
                "metadata": {"name": rs, "namespace": ns, "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": f"uid-{ns}-{app}",
                     "controller": True}]},
                "spec": {"selector": {"matchLabels": labels}, "template": template}})
            for p in range(pods_per_deployment):
                index = n * per_namespace + d * pods_per_deployment + p
                ip = f"10.{64 + index // 65536}.{index // 256 % 256}.{index % 256}"
                api.add("v1", "pods", pod(f"{rs}-{p:05d}", labels, ip, ("ReplicaSet", rs), namespace=ns))
    for plural in ("statefulsets", "daemonsets"):
        api.serve("apps/v1", plural)
    api.serve("batch/v1", "jobs")
    api.serve("batch/v1", "cronjobs")
    return api
