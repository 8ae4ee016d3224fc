"""Deterministic synthetic-cluster generator for benchmarks.

Writes realistic Kubernetes (and optionally Calico) manifests into a directory::

    python bench/generate.py --pods 1000 --namespaces 20 --policies 200 --out /tmp/cluster-1k
    python bench/generate.py --pods 1000 --namespaces 20 --policies 200 --calico-policies 40 --out DIR
    python bench/generate.py --shape dense --pods 10000 --namespaces 100 --policies 2000 --out DIR
    python bench/generate.py --shape open --pods 150000 --namespaces 1500 --out DIR

Shapes: ``sparse`` (the default: namespaces isolate their apps with narrow policies), ``dense`` (every
app pod also carries ``shard``, ``release``, ``track``, ``build`` and zone labels, so a workload has
many label combinations, and most policies allow a lot across namespaces: namespaceSelector and
podSelector ``matchExpressions``, ``namespaceSelector: {}``, named ports) and ``open`` (no policies).

The output is one multi-document YAML file per namespace (``ns-<name>.yaml``: ServiceAccounts,
Services, Deployments, StatefulSets, DaemonSets, ReplicaSets, Pods, NetworkPolicies and Calico
NetworkPolicies) plus ``cluster.yaml`` (Namespaces, Nodes and, with Calico, Tiers and
GlobalNetworkPolicies). Objects are in a sorted, stable order and keys are sorted the way
``kubectl get -o yaml`` prints them, so the same arguments always give byte-identical files.

The counts asked for are exact: ``--pods`` Pod objects, ``--namespaces`` Namespace objects,
``--policies`` networking.k8s.io/v1 NetworkPolicies and ``--calico-policies`` projectcalico.org/v3
policies (GlobalNetworkPolicies plus namespaced NetworkPolicies; Tiers are not counted).

Files are written one namespace at a time, so a 150,000-pod cluster never sits in memory whole.
Up to 254 namespaces, pod IPs are ``10.<namespace>.x.y``; beyond that (at most 3,839) each
namespace has a /20 of 10.0.0.0/8 (the infrastructure namespaces a /16 from 10.241.0.0).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------------------------
# A small, fast and fully deterministic YAML emitter (block style, sorted keys, kubectl layout).
# Strings that could be read back as anything but a string are written as JSON strings, which
# YAML reads as double-quoted scalars.

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def _block(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            name = _scalar(key)
            if isinstance(item, dict) and item:
                out.append(f"{pad}{name}:")
                _block(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append(f"{pad}{name}:")
                _block(item, indent, out)  # kubectl style: "- " at the key's indent
            else:
                out.append(f"{pad}{name}: {_flow(item)}")
        return
    for item in value:
        if isinstance(item, (dict, list)) and item:
            sub: list[str] = []
            _block(item, indent + 2, sub)
            sub[0] = f"{pad}- {sub[0][indent + 2 :]}"
            out.extend(sub)
        else:
            out.append(f"{pad}- {_flow(item)}")


def dump_documents(docs: Iterable[dict[str, Any]]) -> str:
    """Multi-document YAML, each document introduced by ``---``."""
    out: list[str] = []
    for doc in docs:
        out.append("---")
        _block(doc, 0, out)
    return "\n".join(out) + "\n" if out else ""


# ---------------------------------------------------------------------------------------------
# Catalogue of realistic shapes.

TEAMS = (
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "growth",
    "data",
    "ml",
    "messaging",
    "billing",
    "logistics",
    "support",
)
ENVS = ("prod", "staging", "dev")
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
INSTANCE_TYPES = ("m6i.2xlarge", "m6i.4xlarge", "c6i.4xlarge", "r6i.2xlarge")
HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

HTTP = ("http", 8080, "TCP")
METRICS = ("metrics", 9090, "TCP")
GRPC = ("grpc", 50051, "TCP")

SHAPES = ("sparse", "dense", "open")
SHAPE_HELP = (
    "sparse: namespaces isolate their apps with narrow policies (the default); dense: many label "
    "combinations per workload and policies that allow a lot across namespaces (namespaceSelector and "
    "podSelector matchExpressions, named ports); open: no policies at all (--policies 0)"
)
MAX_NAMESPACES = 3839  # /20s up to 10.239.240.0/20; 10.240+ holds the infrastructure /16s
# dense: per-pod labels that give each workload many label combinations (a few of them are named
# by the dense policies, the rest are noise no policy looks at)
DENSE_POD_LABELS = (
    ("shard", tuple(f"s{i}" for i in range(8))),
    ("release", ("stable", "canary", "beta")),
    ("track", ("blue", "green")),
    ("build", tuple(f"b{i}" for i in range(6))),
)


@dataclass(frozen=True)
class AppShape:
    name: str
    tier: str
    kind: str
    ports: tuple[tuple[str, int, str], ...]
    weight: int = 10


APP_CATALOGUE = (
    AppShape("web", "frontend", "Deployment", (HTTP, METRICS), 12),
    AppShape("frontend", "frontend", "Deployment", (("http", 3000, "TCP"), METRICS), 8),
    AppShape("api-gateway", "frontend", "Deployment", (HTTP, ("https", 8443, "TCP"), METRICS), 6),
    AppShape("nginx", "frontend", "Deployment", (("http", 80, "TCP"), ("metrics", 9113, "TCP")), 4),
    AppShape("api", "backend", "Deployment", (HTTP, GRPC, METRICS), 14),
    AppShape("auth", "backend", "Deployment", (HTTP, GRPC, METRICS), 8),
    AppShape("orders", "backend", "Deployment", (HTTP, GRPC, METRICS), 8),
    AppShape("payments", "backend", "Deployment", (HTTP, GRPC, METRICS), 6),
    AppShape("cart", "backend", "Deployment", (HTTP, METRICS), 6),
    AppShape("catalog", "backend", "Deployment", (HTTP, GRPC, METRICS), 6),
    AppShape("search", "backend", "Deployment", (HTTP, GRPC, METRICS), 6),
    AppShape("inventory", "backend", "Deployment", (GRPC, METRICS), 6),
    AppShape("users", "backend", "Deployment", (HTTP, GRPC, METRICS), 6),
    AppShape("pricing", "backend", "Deployment", (GRPC, METRICS), 5),
    AppShape("recommendations", "backend", "Deployment", (HTTP, GRPC, METRICS), 5),
    AppShape("shipping", "backend", "Deployment", (HTTP, METRICS), 5),
    AppShape("ledger", "backend", "Deployment", (GRPC, ("admin", 8081, "TCP"), METRICS), 4),
    AppShape("notifications", "backend", "Deployment", (HTTP, METRICS), 5),
    AppShape("worker", "worker", "Deployment", (METRICS,), 8),
    AppShape("scheduler", "worker", "Deployment", (METRICS,), 4),
    AppShape("consumer", "worker", "Deployment", (METRICS, ("health", 8086, "TCP")), 5),
    AppShape("email-sender", "worker", "Deployment", (METRICS,), 3),
    AppShape("postgres", "data", "StatefulSet", (("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")), 5),
    AppShape("redis", "data", "StatefulSet", (("redis", 6379, "TCP"), ("metrics", 9121, "TCP")), 5),
    AppShape("kafka", "data", "StatefulSet", (("kafka", 9092, "TCP"), ("metrics", 9308, "TCP")), 3),
    AppShape("elasticsearch", "data", "StatefulSet", (("http", 9200, "TCP"), ("transport", 9300, "TCP")), 2),
    AppShape("memcached", "data", "Deployment", (("memcache", 11211, "TCP"), ("memcache-udp", 11211, "UDP")), 3),
)
DATA_PORTS = {"postgres": 5432, "redis": 6379, "kafka": 9092, "memcache": 11211}

# (namespace role, name, kind, replicas or "nodes" for DaemonSets, labels, ports, hostNetwork)
INFRA_WORKLOADS: tuple[tuple[str, str, str, int, dict[str, str], tuple[tuple[str, int, str], ...], bool], ...] = (
    (
        "kube-system",
        "coredns",
        "Deployment",
        2,
        {"k8s-app": "kube-dns"},
        (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")),
        False,
    ),
    ("kube-system", "kube-proxy", "DaemonSet", 0, {"k8s-app": "kube-proxy"}, (("metrics", 10249, "TCP"),), True),
    (
        "monitoring",
        "node-exporter",
        "DaemonSet",
        0,
        {"app": "node-exporter", "tier": "monitoring"},
        (("metrics", 9100, "TCP"),),
        True,
    ),
    (
        "kube-system",
        "fluent-bit",
        "DaemonSet",
        0,
        {"k8s-app": "fluent-bit", "tier": "logging"},
        (("http", 2020, "TCP"),),
        False,
    ),
    (
        "kube-system",
        "metrics-server",
        "Deployment",
        1,
        {"k8s-app": "metrics-server"},
        (("https", 10250, "TCP"),),
        False,
    ),
    (
        "monitoring",
        "prometheus",
        "StatefulSet",
        2,
        {"app": "prometheus", "tier": "monitoring"},
        (("web", 9090, "TCP"),),
        False,
    ),
    (
        "monitoring",
        "grafana",
        "Deployment",
        1,
        {"app": "grafana", "tier": "monitoring"},
        (("http", 3000, "TCP"),),
        False,
    ),
    (
        "ingress-nginx",
        "ingress-nginx-controller",
        "Deployment",
        3,
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
        (("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 10254, "TCP")),
        False,
    ),
)

KIND_ORDER = {
    "ServiceAccount": 0,
    "Service": 1,
    "Deployment": 2,
    "StatefulSet": 3,
    "DaemonSet": 4,
    "ReplicaSet": 5,
    "Pod": 6,
    "NetworkPolicy": 7,
}
CALICO_API = "projectcalico.org/v3"
BASE_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z


# ---------------------------------------------------------------------------------------------


@dataclass
class NamespaceInfo:
    name: str
    # 1-based; pod IPs are 10.<index>.x.y up to 254 namespaces; beyond, a /20 of 10.0.0.0/8 each
    # (infrastructure namespaces: 10.<240 + index>.x.y)
    index: int
    team: str
    env: str
    infra: bool
    next_ip: int = 0
    workloads: list[Workload] = field(default_factory=list)
    wide: bool = False  # more than 254 namespaces: one /20 each instead of one /16

    @property
    def _slash20(self) -> bool:
        # Infrastructure namespaces hold a pod per node (DaemonSets): they keep a /16 of their own.
        return self.wide and not self.infra

    @property
    def _octet(self) -> int:
        return 240 + self.index if self.wide else self.index

    @property
    def cidr(self) -> str:
        """The block its pod IPs come from."""
        if not self._slash20:
            return f"10.{self._octet}.0.0/16"
        base = self.index << 12
        return f"10.{base >> 16}.{(base >> 8) & 255}.0/20"

    def subnet(self, k: int) -> str:
        """The k-th /24 of its block."""
        if not self._slash20:
            return f"10.{self._octet}.{k}.0/24"
        base = (self.index << 12) + (k << 8)
        return f"10.{base >> 16}.{(base >> 8) & 255}.0/24"

    def ip(self, j: int) -> str:
        """The j-th pod IP of its block (250 a /24, skipping .0, .1 and the top)."""
        if not self._slash20:
            return f"10.{self._octet}.{j // 250}.{j % 250 + 2}"
        base = (self.index << 12) + ((j // 250) << 8) + j % 250 + 2
        return f"10.{base >> 16}.{(base >> 8) & 255}.{base & 255}"

    def capacity(self) -> int:
        return 250 * (16 if self._slash20 else 256)


@dataclass
class Workload:
    namespace: NamespaceInfo
    kind: str
    name: str
    tier: str
    replicas: int
    labels: dict[str, str]  # selector labels (matchLabels)
    pod_labels: dict[str, str]  # template labels
    ports: tuple[tuple[str, int, str], ...]
    host_network: bool = False
    sidecar: bool = False
    infra: bool = False

    @property
    def app(self) -> str:
        return self.labels.get("app") or self.labels.get("k8s-app") or self.name


class Generator:
    def __init__(
        self,
        pods: int,
        namespaces: int,
        policies: int,
        calico_policies: int = 0,
        seed: int = 1,
        host_network: bool = True,
        shape: str = "sparse",
    ):
        if pods < 0 or namespaces < 1 or policies < 0 or calico_policies < 0:
            raise ValueError("need pods >= 0, namespaces >= 1, policies >= 0, calico-policies >= 0")
        if namespaces > MAX_NAMESPACES:
            raise ValueError(f"at most {MAX_NAMESPACES} namespaces (each has a /20 of 10.0.0.0/8 for its pods)")
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
        if shape == "open" and (policies or calico_policies):
            raise ValueError("the open shape has no policies: --policies 0 (and no Calico policies)")
        self.shape = shape
        self.n_pods = pods
        self.n_namespaces = namespaces
        self.n_policies = policies
        self.n_calico = calico_policies
        self.host_network = host_network
        self.rng = random.Random(seed)
        self.clock = BASE_TIME
        self.namespaces: list[NamespaceInfo] = []
        self.nodes: list[tuple[str, str, str, str]] = []  # (name, ip, zone, instance type)
        self.workloads: list[Workload] = []
        self.cluster_docs: list[dict[str, Any]] = []
        self.ns_docs: dict[str, list[dict[str, Any]]] = {}
        self.summary: dict[str, int] = {}
        self.n_expr = 0

    # -- helpers -------------------------------------------------------------------------------

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def timestamp(self) -> str:
        import time

        self.clock += self.rng.randint(1, 900)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock))

    def token(self, length: int) -> str:
        return "".join(self.rng.choice(HASH_ALPHABET) for _ in range(length))

    def metadata(self, name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "uid": self.uid(), "creationTimestamp": self.timestamp()}
        if namespace is not None:
            meta["namespace"] = namespace
        meta["resourceVersion"] = str(self.rng.randint(10_000, 99_999_999))
        meta.update({k: v for k, v in extra.items() if v})
        return meta

    def emit(self, namespace: str, doc: dict[str, Any]) -> None:
        self.ns_docs.setdefault(namespace, []).append(doc)

    # -- plan ----------------------------------------------------------------------------------

    def plan_nodes(self) -> None:
        count = max(1, round(self.n_pods / 30))
        for k in range(count):
            ip = f"192.168.{1 + k // 200}.{10 + k % 200}"
            zone = ZONES[k % len(ZONES)]
            self.nodes.append((f"worker-{k + 1:04d}", ip, zone, self.rng.choice(INSTANCE_TYPES)))

    def plan_namespaces(self) -> None:
        m = self.n_namespaces
        wide = m > 254
        infra: list[tuple[str, str]] = []
        if m >= 2:
            infra.append(("kube-system", "platform"))
        if m >= 4:
            infra.append(("monitoring", "observability"))
        if m >= 6:
            infra.append(("ingress-nginx", "platform"))
        for name, team in infra:
            self.namespaces.append(NamespaceInfo(name, len(self.namespaces) + 1, team, "prod", True, wide=wide))
        for i in range(m - len(infra)):
            team = TEAMS[i % len(TEAMS)]
            env = ENVS[(i // len(TEAMS)) % len(ENVS)]
            rnd = i // (len(TEAMS) * len(ENVS))
            name = f"{team}-{env}" if rnd == 0 else f"{team}-{env}-{rnd + 1}"
            self.namespaces.append(NamespaceInfo(name, len(self.namespaces) + 1, team, env, False, wide=wide))

    def ns(self, name: str) -> NamespaceInfo | None:
        for info in self.namespaces:
            if info.name == name:
                return info
        return None

    def plan_workloads(self) -> None:
        budget = self.n_pods
        # Infrastructure: DaemonSets (one pod per node) and a few system Deployments/StatefulSets,
        # as long as they stay a modest share of the cluster.
        infra_cap = 0.2 * self.n_pods
        used = 0
        for ns_name, name, kind, replicas, labels, ports, host in INFRA_WORKLOADS:
            info = self.ns(ns_name)
            if info is None:
                continue
            count = len(self.nodes) if kind == "DaemonSet" else replicas
            if used + count > infra_cap:
                continue
            used += count
            pod_labels = dict(labels)
            if "app" in labels or "k8s-app" in labels:
                pod_labels["version"] = f"v{self.rng.randint(1, 3)}.{self.rng.randint(0, 30)}.0"
            wl = Workload(
                info,
                kind,
                name,
                labels.get("tier", "system"),
                count,
                dict(labels),
                pod_labels,
                ports,
                host_network=host and self.host_network,
                infra=True,
            )
            info.workloads.append(wl)
            self.workloads.append(wl)
        budget -= used

        apps = [ns for ns in self.namespaces if not ns.infra] or list(self.namespaces)
        if budget <= 0:
            return
        n_work = min(budget, max(len(apps), round(budget / 10)))
        # Skewed replica counts (log-normal, mean ~10), scaled to the exact budget.
        sigma = 0.9
        raw = [self.rng.lognormvariate(math.log(10) - sigma * sigma / 2, sigma) for _ in range(n_work)]
        replicas = _apportion(budget, raw)
        ns_cum = list(itertools.accumulate(self.rng.uniform(0.4, 2.0) for _ in apps))
        shapes = APP_CATALOGUE
        weights = [s.weight for s in shapes]
        for i, count in enumerate(replicas):
            info = apps[i] if i < len(apps) else self.rng.choices(apps, cum_weights=ns_cum)[0]
            shape = self.rng.choices(shapes, weights)[0]
            taken = {w.name for w in info.workloads}
            name, n = shape.name, 1
            while name in taken:
                n += 1
                name = f"{shape.name}-{n}"
            version = f"v{self.rng.randint(1, 4)}.{self.rng.randint(0, 20)}.{self.rng.randint(0, 9)}"
            labels = {"app": name}
            pod_labels = {"app": name, "tier": shape.tier, "version": version}
            if self.rng.random() < 0.3:
                pod_labels["app.kubernetes.io/part-of"] = info.team
            wl = Workload(
                info,
                shape.kind,
                name,
                shape.tier,
                count,
                labels,
                pod_labels,
                shape.ports,
                sidecar=self.rng.random() < 0.2,
            )
            info.workloads.append(wl)
            self.workloads.append(wl)

    # -- objects -------------------------------------------------------------------------------

    def build_cluster_objects(self) -> None:
        for info in self.namespaces:
            labels = {"kubernetes.io/metadata.name": info.name, "team": info.team, "env": info.env}
            if not info.infra and self.rng.random() < 0.5:
                labels["pod-security.kubernetes.io/enforce"] = "baseline"
            self.cluster_docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": self.metadata(info.name, labels=labels),
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }
            )
        for name, ip, zone, itype in self.nodes:
            labels = {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": itype,
                "topology.kubernetes.io/zone": zone,
            }
            self.cluster_docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": self.metadata(name, labels=labels),
                    "spec": {"podCIDR": f"10.244.{len(self.cluster_docs) % 250}.0/24"},
                    "status": {
                        "addresses": [
                            {"address": ip, "type": "InternalIP"},
                            {"address": name, "type": "Hostname"},
                        ],
                        "nodeInfo": {"kubeletVersion": "v1.29.4", "containerRuntimeVersion": "containerd://1.7.13"},
                    },
                }
            )

    def containers(self, wl: Workload) -> list[dict[str, Any]]:
        team = wl.namespace.team
        version = wl.pod_labels.get("version", "v1.0.0")[1:]
        main: dict[str, Any] = {
            "name": wl.name,
            "image": f"registry.example.com/{team}/{wl.name}:{version}",
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": p, "name": n, "protocol": proto} for n, p, proto in wl.ports],
            "resources": {
                "requests": {"cpu": f"{self.rng.choice((50, 100, 250, 500))}m", "memory": "256Mi"},
                "limits": {"memory": "512Mi"},
            },
        }
        http = next((n for n, _, proto in wl.ports if proto == "TCP"), None)
        if http:
            main["readinessProbe"] = {"tcpSocket": {"port": http}, "periodSeconds": 10}
        out = [main]
        if wl.sidecar:
            out.append(
                {
                    "name": "envoy",
                    "image": "envoyproxy/envoy:v1.29.2",
                    "ports": [
                        {"containerPort": 15000, "name": "envoy-admin", "protocol": "TCP"},
                        {"containerPort": 15001, "name": "envoy-out", "protocol": "TCP"},
                    ],
                }
            )
        return out

    def pod_spec(self, wl: Workload) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "containers": self.containers(wl),
            "dnsPolicy": "ClusterFirstWithHostNet" if wl.host_network else "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": wl.name,
            "terminationGracePeriodSeconds": 30,
        }
        if wl.host_network:
            spec["hostNetwork"] = True
        return spec

    def pod_ip(self, info: NamespaceInfo) -> str:
        j = info.next_ip
        info.next_ip += 1
        if j >= info.capacity():
            raise ValueError(f"too many pods in namespace {info.name}")
        return info.ip(j)

    def owner(self, kind: str, name: str, uid: str) -> list[dict[str, Any]]:
        return [
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": name,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]

    def make_pod(
        self, wl: Workload, name: str, labels: dict[str, str], owner: list[dict[str, Any]], node: int
    ) -> dict[str, Any]:
        node_name, node_ip, zone, _ = self.nodes[node]
        ip = node_ip if wl.host_network else self.pod_ip(wl.namespace)
        if self.shape == "dense" and not wl.infra:
            labels = dict(labels)
            for key, values in DENSE_POD_LABELS:
                labels[key] = self.rng.choice(values)
            labels["topology.kubernetes.io/zone"] = zone
        spec = self.pod_spec(wl)
        spec["nodeName"] = node_name
        meta = self.metadata(name, wl.namespace.name, labels=labels, ownerReferences=owner)
        started = self.timestamp()
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": spec,
            "status": {
                "phase": "Running",
                "hostIP": node_ip,
                "hostIPs": [{"ip": node_ip}],
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "qosClass": "Burstable",
                "startTime": started,
            },
        }

    def build_workload(self, wl: Workload) -> None:
        ns = wl.namespace.name
        template_labels = dict(wl.pod_labels)
        selector = {"matchLabels": dict(wl.labels)}
        meta = self.metadata(wl.name, ns, labels=dict(wl.labels))
        top: dict[str, Any] = {"apiVersion": "apps/v1", "kind": wl.kind, "metadata": meta}
        template = {"metadata": {"labels": template_labels}, "spec": self.pod_spec(wl)}
        if wl.kind != "DaemonSet":
            top["spec"] = {"replicas": wl.replicas, "selector": selector, "template": template}
        else:
            top["spec"] = {"selector": selector, "template": template, "updateStrategy": {"type": "RollingUpdate"}}
        top["status"] = (
            {"readyReplicas": wl.replicas}
            if wl.kind != "DaemonSet"
            else {"desiredNumberScheduled": wl.replicas, "numberReady": wl.replicas}
        )
        self.emit(ns, top)
        self.emit(
            ns,
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": self.metadata(wl.name, ns, labels=dict(wl.labels)),
            },
        )
        if wl.kind != "DaemonSet" and any(proto == "TCP" for _, _, proto in wl.ports):
            self.emit(
                ns,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": self.metadata(wl.name, ns, labels=dict(wl.labels)),
                    "spec": {
                        "type": "ClusterIP",
                        "clusterIP": f"172.20.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                        "selector": dict(wl.labels),
                        "ports": [
                            {"name": n, "port": p, "protocol": proto, "targetPort": n} for n, p, proto in wl.ports
                        ],
                    },
                },
            )

        n_nodes = len(self.nodes)
        if wl.kind == "Deployment":
            hash_ = self.token(10)
            rs_name = f"{wl.name}-{hash_}"
            rs_labels = {**template_labels, "pod-template-hash": hash_}
            rs_meta = self.metadata(
                rs_name,
                ns,
                labels=rs_labels,
                ownerReferences=self.owner("Deployment", wl.name, meta["uid"]),
                annotations={"deployment.kubernetes.io/revision": str(self.rng.randint(1, 40))},
            )
            self.emit(
                ns,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": rs_meta,
                    "spec": {
                        "replicas": wl.replicas,
                        "selector": {"matchLabels": {**wl.labels, "pod-template-hash": hash_}},
                        "template": {"metadata": {"labels": rs_labels}, "spec": self.pod_spec(wl)},
                    },
                    "status": {"replicas": wl.replicas, "readyReplicas": wl.replicas},
                },
            )
            owner = self.owner("ReplicaSet", rs_name, rs_meta["uid"])
            used: set[str] = set()
            for _ in range(wl.replicas):
                suffix = self.token(5)
                while suffix in used:
                    suffix = self.token(5)
                used.add(suffix)
                self.emit(ns, self.make_pod(wl, f"{rs_name}-{suffix}", rs_labels, owner, self.rng.randrange(n_nodes)))
        elif wl.kind == "StatefulSet":
            revision = f"{wl.name}-{self.token(10)}"
            owner = self.owner("StatefulSet", wl.name, meta["uid"])
            for i in range(wl.replicas):
                pod_name = f"{wl.name}-{i}"
                labels = {
                    **template_labels,
                    "controller-revision-hash": revision,
                    "statefulset.kubernetes.io/pod-name": pod_name,
                }
                self.emit(ns, self.make_pod(wl, pod_name, labels, owner, self.rng.randrange(n_nodes)))
        else:  # DaemonSet: one pod per node
            revision = self.token(10)
            owner = self.owner("DaemonSet", wl.name, meta["uid"])
            labels = {**template_labels, "controller-revision-hash": revision, "pod-template-generation": "1"}
            taken: set[str] = set()  # thousands of nodes: five random characters do collide
            for k in range(wl.replicas):
                suffix = self.token(5)
                while suffix in taken:
                    suffix = self.token(5)
                taken.add(suffix)
                self.emit(ns, self.make_pod(wl, f"{wl.name}-{suffix}", labels, owner, k % n_nodes))

    # -- Kubernetes NetworkPolicies --------------------------------------------------------------

    def policy(self, info: NamespaceInfo, name: str, spec: dict[str, Any], used: dict[str, set[str]]) -> dict[str, Any]:
        taken = used.setdefault(info.name, set())
        base, n = name[:60], 1
        name = base
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.metadata(name, info.name),
            "spec": spec,
        }

    def build_policies(self) -> int:
        target = self.n_policies
        used: dict[str, set[str]] = {}
        out: list[tuple[NamespaceInfo, dict[str, Any]]] = []
        candidates = [ns for ns in self.namespaces if ns.name != "kube-system"] or list(self.namespaces)
        has_dns = self.ns("kube-system") is not None
        has_monitoring = self.ns("monitoring") is not None
        dns_peer = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
        baseline: list[tuple[NamespaceInfo, str, dict[str, Any]]] = []
        for info in candidates:
            baseline.append((info, "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}))
        for i, info in enumerate(candidates):
            if info.env == "prod" or i % 3 == 0:
                baseline.append((info, "default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}))
                baseline.append(
                    (
                        info,
                        "allow-dns-egress",
                        {
                            "podSelector": {},
                            "policyTypes": ["Egress"],
                            "egress": [
                                {
                                    "to": [dns_peer] if has_dns else [{"namespaceSelector": {}}],
                                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                                }
                            ],
                        },
                    )
                )
        for i, info in enumerate(candidates):
            if i % 2 == 0:
                baseline.append(
                    (
                        info,
                        "allow-same-namespace",
                        {
                            "podSelector": {},
                            "policyTypes": ["Ingress"],
                            "ingress": [{"from": [{"podSelector": {}}]}],
                        },
                    )
                )
        if has_monitoring:
            for info in candidates:
                if info.name == "monitoring":
                    continue
                baseline.append(
                    (
                        info,
                        "allow-prometheus-scrape",
                        {
                            "podSelector": {},
                            "policyTypes": ["Ingress"],
                            "ingress": [
                                {
                                    "from": [
                                        {
                                            "namespaceSelector": {
                                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                                            },
                                            "podSelector": {"matchLabels": {"app": "prometheus"}},
                                        }
                                    ],
                                    "ports": [{"port": "metrics", "protocol": "TCP"}],
                                }
                            ],
                        },
                    )
                )
        for info, name, spec in baseline[:target]:
            out.append((info, self.policy(info, name, spec, used)))

        app_ns = [ns for ns in candidates if any(not w.infra for w in ns.workloads)]
        templates = (
            (self.p_app_to_app, 24),
            (self.p_cross_namespace, 12),
            (self.p_ingress_controller, 6),
            (self.p_env_expression, 6),
            (self.p_egress_external, 8),
            (self.p_egress_internal, 6),
            (self.p_to_data, 10),
            (self.p_port_range, 5),
            (self.p_both_directions, 8),
            (self.p_grpc, 6),
        )
        if self.shape == "dense":
            # Wide policies first: namespaceSelector/podSelector with matchExpressions across namespaces
            # and named ports, so that much of the cluster may talk to much of it.
            templates = (
                (self.d_teams_to_tier, 20),
                (self.d_envs_to_app, 16),
                (self.d_shards, 14),
                (self.d_egress_teams, 12),
                (self.d_release_in_namespace, 10),
                *templates,
            )
        funcs = [t[0] for t in templates]
        weights = [t[1] for t in templates]
        ns_cum = list(itertools.accumulate(len(ns.workloads) for ns in app_ns))
        n_app = 0
        while len(out) < target:
            if app_ns:
                info = self.rng.choices(app_ns, cum_weights=ns_cum)[0]
                apps = [w for w in info.workloads if not w.infra]
                # Every template once first, so that even a small cluster has the whole mix.
                func = funcs[n_app] if n_app < len(funcs) else self.rng.choices(funcs, weights)[0]
                n_app += 1
                name, spec = func(info, apps)
            else:
                info = self.rng.choice(candidates)
                name, spec = self.p_cidr_only(info)
            out.append((info, self.policy(info, name, spec, used)))
        for info, doc in out:
            self.emit(info.name, doc)
        return len(out)

    def _ports(self, wl: Workload, named: float = 0.5) -> list[dict[str, Any]]:
        """Some of the workload's TCP ports, by name or by number."""
        tcp = [(n, p) for n, p, proto in wl.ports if proto == "TCP" and n != "metrics"] or [
            (n, p) for n, p, proto in wl.ports if proto == "TCP"
        ]
        if not tcp:
            return []
        chosen = self.rng.sample(tcp, self.rng.randint(1, len(tcp)))
        return [{"port": n if self.rng.random() < named else p, "protocol": "TCP"} for n, p in sorted(chosen)]

    def _other(self, apps: list[Workload], not_this: Workload) -> Workload:
        others = [w for w in apps if w is not not_this]
        return self.rng.choice(others) if others else not_this

    @staticmethod
    def _app_sel(wl: Workload) -> dict[str, Any]:
        return {"matchLabels": {"app": wl.app}}

    def p_app_to_app(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        srcs = sorted({self._other(apps, dst).app for _ in range(self.rng.randint(1, 3))})
        if len(srcs) > 1 and self.rng.random() < 0.5:
            peers = [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": srcs}]}}]
        else:
            peers = [{"podSelector": {"matchLabels": {"app": s}}} for s in srcs]
        rule: dict[str, Any] = {"from": peers}
        ports = self._ports(dst)
        if ports:
            rule["ports"] = ports
        spec = {"podSelector": self._app_sel(dst), "policyTypes": ["Ingress"], "ingress": [rule]}
        return f"allow-{srcs[0]}-to-{dst.app}", spec

    def p_cross_namespace(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        others = [ns for ns in self.namespaces if ns is not info and not ns.infra and ns.workloads]
        src_ns = self.rng.choice(others) if others else info
        src = self.rng.choice(src_ns.workloads)
        if self.rng.random() < 0.5:
            ns_sel = {"matchLabels": {"team": src_ns.team}}
            label = src_ns.team
        else:
            ns_sel = {"matchLabels": {"kubernetes.io/metadata.name": src_ns.name}}
            label = src_ns.name
        peer: dict[str, Any] = {"namespaceSelector": ns_sel}
        if self.rng.random() < 0.7:
            peer["podSelector"] = self._app_sel(src)
        rule: dict[str, Any] = {"from": [peer]}
        ports = self._ports(dst)
        if ports:
            rule["ports"] = ports
        spec = {"podSelector": self._app_sel(dst), "policyTypes": ["Ingress"], "ingress": [rule]}
        return f"allow-{label}-to-{dst.app}", spec

    def p_ingress_controller(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        front = [w for w in apps if w.tier == "frontend"] or apps
        dst = self.rng.choice(front)
        peer = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        }
        rule: dict[str, Any] = {"from": [peer]}
        ports = self._ports(dst, named=0.8)
        if ports:
            rule["ports"] = ports
        return f"allow-ingress-nginx-to-{dst.app}", {
            "podSelector": self._app_sel(dst),
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        }

    def p_env_expression(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        self.n_expr += 1
        if self.n_expr % 2:
            expr = {"key": "env", "operator": "NotIn", "values": ["dev"]}
            name = f"deny-dev-allow-others-to-{dst.app}"
        else:
            expr = {"key": "team", "operator": "In", "values": sorted({info.team, self.rng.choice(TEAMS)})}
            name = f"allow-teams-to-{dst.app}"
        peer: dict[str, Any] = {"namespaceSelector": {"matchExpressions": [expr]}}
        if self.rng.random() < 0.5:
            peer["podSelector"] = {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend", "frontend"]}]
            }
        rule: dict[str, Any] = {"from": [peer]}
        ports = self._ports(dst)
        if ports:
            rule["ports"] = ports
        return name, {"podSelector": self._app_sel(dst), "policyTypes": ["Ingress"], "ingress": [rule]}

    def p_egress_external(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        src = self.rng.choice(apps)
        block = {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}
        if self.rng.random() < 0.3:
            block["except"] = [*block["except"], "169.254.169.254/32"]
        return f"allow-{src.app}-egress-internet", {
            "podSelector": self._app_sel(src),
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": block}], "ports": [{"port": 443, "protocol": "TCP"}]}],
        }

    def p_egress_internal(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        src = self.rng.choice(apps)
        other = self.rng.choice(self.namespaces)
        rules: list[dict[str, Any]] = [
            {
                "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [info.cidr]}}],
                "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 8000, "endPort": 8999, "protocol": "TCP"}],
            },
            {
                "to": [
                    {
                        "ipBlock": {
                            "cidr": other.cidr,
                            "except": [other.subnet(self.rng.randint(0, 3))],
                        }
                    }
                ]
            },
        ]
        if self.rng.random() < 0.5:
            rules.append(
                {"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}], "ports": [{"port": 10250, "protocol": "TCP"}]}
            )
        return f"allow-{src.app}-egress-internal", {
            "podSelector": self._app_sel(src),
            "policyTypes": ["Egress"],
            "egress": rules,
        }

    def p_to_data(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        data = [w for w in apps if w.tier == "data"]
        if self.rng.random() < 0.5 or not data:
            ports = [{"port": p, "protocol": "TCP"} for p in sorted(self.rng.sample(sorted(DATA_PORTS.values()), 2))]
            return "allow-backend-to-data", {
                "podSelector": {"matchLabels": {"tier": "backend"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"tier": "data"}}}], "ports": ports}],
            }
        dst = self.rng.choice(data)
        srcs = sorted({w.app for w in apps if w.tier in ("backend", "worker")})[:4] or [dst.app]
        rule: dict[str, Any] = {
            "from": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": srcs}]}}]
        }
        ports = self._ports(dst, named=0.6)
        if ports:
            rule["ports"] = ports
        return f"allow-clients-to-{dst.app}", {
            "podSelector": self._app_sel(dst),
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        }

    def p_port_range(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        lo, hi = self.rng.choice(((8000, 8100), (30000, 32767), (9000, 9400), (50000, 50100)))
        peer = (
            {"ipBlock": {"cidr": "192.168.0.0/16"}}
            if self.rng.random() < 0.4
            else {"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "frontend"}}}
        )
        return f"allow-port-range-to-{dst.app}", {
            "podSelector": self._app_sel(dst),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": [{"port": lo, "endPort": hi, "protocol": "TCP"}]}],
        }

    def p_both_directions(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        wl = self.rng.choice(apps)
        peer = self._other(apps, wl)
        ingress: dict[str, Any] = {
            "from": [{"podSelector": {"matchLabels": {"tier": "frontend"}}}, {"podSelector": self._app_sel(peer)}]
        }
        ports = self._ports(wl)
        if ports:
            ingress["ports"] = ports
        egress: dict[str, Any] = {
            "to": [
                {
                    "podSelector": {
                        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend", "data"]}]
                    }
                }
            ]
        }
        return f"{wl.app}-isolation", {
            "podSelector": self._app_sel(wl),
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [ingress],
            "egress": [
                egress,
                {
                    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                    "ports": [{"port": 53, "protocol": "UDP"}],
                },
            ],
        }

    def p_grpc(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        grpc = [w for w in apps if any(n == "grpc" for n, _, _ in w.ports)] or apps
        dst = self.rng.choice(grpc)
        return f"allow-grpc-to-{dst.app}", {
            "podSelector": self._app_sel(dst),
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchExpressions": [
                                    {"key": "tier", "operator": "In", "values": ["backend", "frontend"]},
                                    {"key": "version", "operator": "Exists"},
                                ]
                            }
                        }
                    ],
                    "ports": [{"port": "grpc", "protocol": "TCP"}, {"port": 50051, "protocol": "TCP"}],
                }
            ],
        }

    # -- dense: policies that allow a lot, across namespaces --------------------------------------

    def _named_ports(self, wl: Workload) -> list[dict[str, Any]]:
        """Its TCP ports by name (several workloads share a name on different numbers)."""
        names = sorted({n for n, _, proto in wl.ports if proto == "TCP"})
        chosen = self.rng.sample(names, self.rng.randint(1, len(names))) if names else ["http"]
        return [{"port": n, "protocol": "TCP"} for n in sorted(chosen)]

    def _teams(self, info: NamespaceInfo) -> list[str]:
        return sorted({info.team, *self.rng.sample(TEAMS, self.rng.randint(2, 5))})

    def d_teams_to_tier(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        tiers = sorted({dst.tier, self.rng.choice(("frontend", "backend", "worker"))})
        peer = {
            "namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": self._teams(info)}]},
            "podSelector": {
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["backend", "frontend", "worker"]},
                    {"key": "release", "operator": "NotIn", "values": ["beta"]},
                ]
            },
        }
        return f"allow-teams-to-{dst.tier}", {
            "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": tiers}]},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": self._named_ports(dst)}],
        }

    def d_envs_to_app(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        envs = ["dev"] if info.env != "dev" else ["prod"]
        peers: list[dict[str, Any]] = [
            {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": envs}]}}
        ]
        if self.rng.random() < 0.5:
            peers[0]["podSelector"] = {"matchExpressions": [{"key": "version", "operator": "Exists"}]}
        return f"allow-envs-to-{dst.app}", {
            "podSelector": self._app_sel(dst),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": self._named_ports(dst)}],
        }

    def d_shards(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        dst = self.rng.choice(apps)
        shards = sorted(self.rng.sample(DENSE_POD_LABELS[0][1], self.rng.randint(2, 5)))
        return f"allow-shards-to-{dst.app}", {
            "podSelector": {
                "matchLabels": {"app": dst.app},
                "matchExpressions": [{"key": "shard", "operator": "In", "values": shards}],
            },
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchExpressions": [{"key": "shard", "operator": "In", "values": shards}]},
                        }
                    ],
                    "ports": self._named_ports(dst),
                }
            ],
        }

    def d_egress_teams(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        src = self.rng.choice(apps)
        return f"allow-{src.app}-egress-teams", {
            "podSelector": self._app_sel(src),
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [{"key": "team", "operator": "In", "values": self._teams(info)}]
                            },
                            "podSelector": {
                                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["data"]}]
                            },
                        }
                    ],
                    "ports": [{"port": "http", "protocol": "TCP"}, {"port": "grpc", "protocol": "TCP"}],
                },
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
            ],
        }

    def d_release_in_namespace(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        release = self.rng.choice(("canary", "beta"))
        return f"allow-{release}-in-namespace", {
            "podSelector": {"matchLabels": {"release": release}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}, {"namespaceSelector": {"matchLabels": {"env": info.env}}}]}],
        }

    def p_cidr_only(self, info: NamespaceInfo) -> tuple[str, dict[str, Any]]:
        return "allow-egress-corporate", {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "172.16.0.0/12", "except": ["172.16.5.0/24"]}}]}],
        }

    # -- Calico --------------------------------------------------------------------------------

    def build_calico(self) -> int:
        if self.n_calico <= 0:
            return 0
        for name, order in (("security", 100), ("platform", 200)):
            self.cluster_docs.append(
                {
                    "apiVersion": CALICO_API,
                    "kind": "Tier",
                    "metadata": self.metadata(name),
                    "spec": {"order": order},
                }
            )
        globals_: list[tuple[str, dict[str, Any]]] = [
            (
                "security.block-metadata-api",
                {
                    "tier": "security",
                    "order": 10,
                    "selector": "all()",
                    "types": ["Egress"],
                    "egress": [
                        {"action": "Deny", "protocol": "TCP", "destination": {"nets": ["169.254.169.254/32"]}},
                        {"action": "Pass"},
                    ],
                },
            ),
            (
                "security.allow-kube-dns",
                {
                    "tier": "security",
                    "order": 50,
                    "selector": "all()",
                    "types": ["Egress"],
                    "egress": [
                        {
                            "action": "Allow",
                            "protocol": "UDP",
                            "destination": {
                                "selector": "k8s-app == 'kube-dns'",
                                "namespaceSelector": "kubernetes.io/metadata.name == 'kube-system'",
                                "ports": [53],
                            },
                        },
                        {"action": "Pass"},
                    ],
                },
            ),
            (
                "security.deny-dev-to-prod",
                {
                    "tier": "security",
                    "order": 100,
                    "namespaceSelector": "env == 'prod'",
                    "types": ["Ingress"],
                    "ingress": [
                        {"action": "Deny", "source": {"namespaceSelector": "env == 'dev'"}},
                        {"action": "Pass"},
                    ],
                },
            ),
            (
                "platform.allow-monitoring-scrape",
                {
                    "tier": "platform",
                    "order": 100,
                    "selector": "has(app) || has(k8s-app)",
                    "types": ["Ingress"],
                    "ingress": [
                        {
                            "action": "Allow",
                            "protocol": "TCP",
                            "source": {"namespaceSelector": "team == 'observability'"},
                            "destination": {"ports": ["metrics", 9090, "9100:9200"]},
                        },
                        {"action": "Pass"},
                    ],
                },
            ),
            (
                "platform.deny-external-ssh",
                {
                    "tier": "platform",
                    "order": 150,
                    "selector": "all()",
                    "types": ["Ingress"],
                    "ingress": [
                        {
                            "action": "Deny",
                            "protocol": "TCP",
                            "source": {"notNets": ["10.0.0.0/8", "192.168.0.0/16"]},
                            "destination": {"ports": [22]},
                        },
                        {"action": "Pass"},
                    ],
                },
            ),
            (
                "default-deny-non-system",
                {
                    "order": 2000,
                    "selector": "projectcalico.org/namespace not in {'kube-system', 'monitoring'}",
                    "types": ["Ingress"],
                },
            ),
        ]
        n_global = min(len(globals_), max(1, self.n_calico // 4))
        count = 0
        for name, spec in globals_[:n_global]:
            self.cluster_docs.append(
                {
                    "apiVersion": CALICO_API,
                    "kind": "GlobalNetworkPolicy",
                    "metadata": self.metadata(name),
                    "spec": spec,
                }
            )
            count += 1
        app_ns = [ns for ns in self.namespaces if any(not w.infra for w in ns.workloads)] or self.namespaces
        used: dict[str, set[str]] = {}
        while count < self.n_calico:
            info = self.rng.choice(app_ns)
            apps = [w for w in info.workloads if not w.infra]
            name, spec = self.calico_namespaced(info, apps)
            taken = used.setdefault(info.name, set())
            base, n = name, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            taken.add(name)
            self.emit(
                info.name,
                {
                    "apiVersion": CALICO_API,
                    "kind": "NetworkPolicy",
                    "metadata": self.metadata(name, info.name),
                    "spec": spec,
                },
            )
            count += 1
        return count

    def calico_namespaced(self, info: NamespaceInfo, apps: list[Workload]) -> tuple[str, dict[str, Any]]:
        r = self.rng.random()
        order = self.rng.choice((100, 200, 300, 500, 1000))
        if not apps:
            return "default.allow-same-namespace", {
                "tier": "default",
                "order": order,
                "selector": "all()",
                "types": ["Ingress"],
                "ingress": [{"action": "Allow", "source": {"selector": "all()"}}],
            }
        dst = self.rng.choice(apps)
        src = self._other(apps, dst)
        ports: list[Any] = [p if self.rng.random() < 0.6 else n for n, p, proto in dst.ports if proto == "TCP"][:2]
        if r < 0.4:
            dest: dict[str, Any] = {"ports": ports} if ports else {}
            return f"default.allow-{src.app}-to-{dst.app}", {
                "tier": "default",
                "order": order,
                "selector": f"app == '{dst.app}'",
                "types": ["Ingress"],
                "ingress": [
                    {
                        "action": "Allow",
                        "protocol": "TCP",
                        "source": {"selector": f"app == '{src.app}'"},
                        "destination": dest,
                    },
                    {"action": "Deny", "source": {"selector": "tier == 'frontend' && version != 'v1.0.0'"}},
                ],
            }
        if r < 0.6:
            return f"platform.pass-{dst.app}", {
                "tier": "platform",
                "order": order,
                "selector": f"app in {{'{dst.app}', '{src.app}'}}",
                "types": ["Ingress", "Egress"],
                "ingress": [{"action": "Pass"}],
                "egress": [{"action": "Pass"}],
            }
        if r < 0.8:
            return f"security.deny-{dst.app}-egress-cidrs", {
                "tier": "security",
                "order": order,
                "selector": f"app == '{dst.app}'",
                "types": ["Egress"],
                "egress": [
                    {"action": "Deny", "destination": {"nets": ["203.0.113.0/24", "198.51.100.0/24"]}},
                    {
                        "action": "Allow",
                        "protocol": "TCP",
                        "destination": {"nets": ["0.0.0.0/0"], "notNets": ["10.0.0.0/8"], "ports": [443]},
                    },
                    {"action": "Pass"},
                ],
            }
        return f"default.allow-tier-{dst.tier}-{dst.app}", {
            "tier": "default",
            "order": order,
            "selector": f"has(tier) && app == '{dst.app}'",
            "types": ["Ingress"],
            "ingress": [
                {
                    "action": "Allow",
                    "protocol": "TCP",
                    "source": {
                        "namespaceSelector": f"team == '{info.team}'",
                        "selector": "tier in {'frontend', 'backend'}",
                    },
                    "destination": {"ports": ["8000:8100", *ports]},
                },
                {"action": "Deny", "protocol": "UDP"},
            ],
        }

    # -- all -----------------------------------------------------------------------------------

    def iter_files(self, keep: bool = False) -> Iterator[tuple[str, str]]:
        """(file name, YAML text), one namespace at a time: only one namespace's workload objects are
        held at once (policies and cluster objects are small), unless ``keep`` keeps every document
        in ``ns_docs`` and ``cluster_docs``. ``summary`` is set before the first file."""
        self.plan_nodes()
        self.plan_namespaces()
        self.plan_workloads()
        self.build_cluster_objects()
        n_policies = self.build_policies()
        n_calico = self.build_calico()
        self.summary = {
            "namespaces": len(self.namespaces),
            "nodes": len(self.nodes),
            "workloads": len(self.workloads),
            "pods": sum(w.replicas for w in self.workloads),
            "policies": n_policies,
            "calico_policies": n_calico,
        }
        cluster_rank = {"Namespace": 0, "Node": 1, "Tier": 2, "GlobalNetworkPolicy": 3}
        self.cluster_docs.sort(key=lambda d: (cluster_rank[d["kind"]], d["metadata"]["name"]))
        yield "cluster.yaml", dump_documents(self.cluster_docs)
        if not keep:
            self.cluster_docs = []
        for info in self.namespaces:
            for wl in info.workloads:
                self.build_workload(wl)
            docs = self.ns_docs.get(info.name, []) if keep else self.ns_docs.pop(info.name, [])
            docs.sort(key=_doc_key)
            yield f"ns-{info.name}.yaml", dump_documents(docs)

    def build(self) -> dict[str, str]:
        """Every file in memory (small clusters and tests)."""
        return dict(sorted(self.iter_files(keep=True)))

    def write(self, out_dir: str | Path) -> dict[str, int]:
        """Stream the files into ``out_dir`` (any size), removing stale generated files; the summary
        with the number of files and bytes written."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        names: set[str] = set()
        size = 0
        for name, text in self.iter_files():
            data = text.encode("utf-8")
            (out / name).write_bytes(data)
            names.add(name)
            size += len(data)
        for old in out.glob("ns-*.yaml"):
            if old.name not in names:
                old.unlink()
        return {**self.summary, "files": len(names), "bytes": size}


def _doc_key(doc: dict[str, Any]) -> tuple[int, int, str]:
    calico = 1 if doc["apiVersion"] == CALICO_API else 0
    return (KIND_ORDER[doc["kind"]], calico, doc["metadata"]["name"])


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into ``len(weights)`` parts >= 1, proportional to ``weights``, summing exactly."""
    n = len(weights)
    if n == 0:
        return []
    spare = total - n
    s = sum(weights)
    shares = [spare * w / s for w in weights]
    parts = [1 + int(x) for x in shares]
    rest = total - sum(parts)
    order = sorted(range(n), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def generate(
    pods: int,
    namespaces: int,
    policies: int,
    calico_policies: int = 0,
    seed: int = 1,
    host_network: bool = True,
    shape: str = "sparse",
) -> tuple[dict[str, str], dict[str, int]]:
    """Build the manifests in memory: ({file name: YAML text}, summary counts)."""
    gen = Generator(pods, namespaces, policies, calico_policies, seed, host_network, shape)
    files = gen.build()
    return files, gen.summary


def write(out_dir: str | Path, files: dict[str, str]) -> None:
    """Write ``files`` into ``out_dir``, removing stale generated files left by an earlier run."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("ns-*.yaml")) + list(out.glob("cluster.yaml")):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a deterministic synthetic Kubernetes cluster.")
    parser.add_argument("--shape", choices=SHAPES, default="sparse", help=SHAPE_HELP)
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--namespaces", type=int, required=True)
    parser.add_argument("--policies", type=int, default=0)
    parser.add_argument("--calico-policies", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-host-network",
        dest="host_network",
        action="store_false",
        help="give the kube-proxy and node-exporter DaemonSet pods pod IPs instead of hostNetwork",
    )
    parser.add_argument("--out", required=True, help="directory to write (created if missing)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        gen = Generator(
            args.pods, args.namespaces, args.policies, args.calico_policies, args.seed, args.host_network, args.shape
        )
        summary = gen.write(args.out)
    except ValueError as exc:
        parser.error(str(exc))
    summary = {"shape": args.shape, **summary}
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(", ".join(f"{k}={v}" for k, v in summary.items()) + f" -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
