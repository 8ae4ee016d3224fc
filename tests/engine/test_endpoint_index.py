"""Endpoint names resolve through the cluster's EndpointIndex exactly as a scan of the cluster finds them."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from policies.engine.errors import PolicyError
from policies.engine.explain import Explainer, explain
from policies.engine.flows import Endpoint, EndpointIndex, resolve_endpoint, workload_endpoints
from policies.engine.model import Cluster

from .randomclusters import random_cluster


def scan(cluster: Cluster, text: str) -> Endpoint:
    """The resolution as a linear scan (SEMANTICS.md 1.3), the reference for the index."""
    text = text.strip()
    if text.startswith("node:"):
        name = text[5:]
        node = next((n for n in cluster.nodes if n.name == name), None)
        if node is None and not any(p.node == name for p in cluster.pods):
            raise PolicyError(f"unknown node {name!r}")
        return Endpoint("node", text, node=name, ip=node.ips[0] if node and node.ips else None)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        for pod in cluster.pods:
            if ip in pod.ips:
                return pod_endpoint(cluster, pod)
        for n in cluster.nodes:
            if ip in n.ips:
                return Endpoint("node", f"node:{n.name}", node=n.name, ip=ip)
        for pod in cluster.pods:
            if pod.host_network and pod.host_ip == ip:
                return Endpoint("node", f"node:{pod.node}" if pod.node else text, node=pod.node, ip=ip)
        return Endpoint("external", str(ip), ip=ip)
    parts = text.split("/")
    if len(parts) == 2:
        for pod in cluster.pods:
            if (pod.namespace, pod.name) == tuple(parts):
                return pod_endpoint(cluster, pod)
        matches = [p for p in cluster.pods if p.from_template and p.namespace == parts[0] and p.workload
                   and p.workload.name == parts[1]]
        if len(matches) == 1:
            return pod_endpoint(cluster, matches[0])
        raise PolicyError(f"unknown pod {text!r}")
    ns, kind, name = parts
    matches = [p for p in cluster.pods if p.namespace == ns and p.workload_id.lower() == text.lower()]
    if kind.lower() == "pod":
        matches = [p for p in cluster.pods if p.namespace == ns and p.name == name] or matches
    if not matches:
        raise PolicyError(f"unknown workload {text!r}")
    return pod_endpoint(cluster, sorted(matches, key=lambda p: p.name)[0])


def pod_endpoint(cluster: Cluster, pod) -> Endpoint:  # type: ignore[no-untyped-def]
    ident = pod.workload_id if pod.from_template else pod.id
    if pod.host_network:
        node_ip = next((n.ips[0] for n in cluster.nodes if n.name == pod.node and n.ips), None)
        return Endpoint("node", ident, pod=pod, node=pod.node, ip=pod.host_ip or (pod.ips[0] if pod.ips else None)
                        or node_ip)
    return Endpoint("pod", ident, pod=pod, node=pod.node, ip=pod.ips[0] if pod.ips else None)


def names(cluster: Cluster) -> list[str]:
    """Every way to name an end in this cluster, and a few names it does not know."""
    out = ["node:n1", "node:n2", "node:nowhere", "10.0.1.1", "10.0.2.3", "192.168.0.2", "203.0.113.9",
           "x/nothing", "y/Deployment/nothing", "z/pod/nothing", "2001:db8::1"]
    for pod in cluster.pods:
        out += [pod.id, pod.workload_id, pod.workload_id.upper(), f"{pod.namespace}/pod/{pod.name}",
                *(str(ip) for ip in pod.ips)]
        if pod.workload:
            out.append(f"{pod.namespace}/{pod.workload.name}")
    return out


def outcome(resolve, text: str) -> Endpoint | str:  # type: ignore[no-untyped-def]
    try:
        return resolve(text)  # type: ignore[no-any-return]
    except PolicyError as exc:
        return f"error: {exc.message}"


def with_duplicates(cluster: Cluster, seed: int) -> Cluster:
    """Pods sharing addresses and a workload of several pods: the first one found must win."""
    rng = random.Random(seed)
    pods = list(cluster.pods)
    if len(pods) >= 3:
        a, b = rng.sample(range(len(pods)), 2)
        pods[b] = replace(pods[b], ips=pods[a].ips or pods[b].ips)
        template = pods[a]
        if template.from_template and template.workload:
            pods.append(replace(template, name=template.name + "-zz"))
    return replace(cluster, pods=tuple(pods))


@pytest.mark.parametrize("seed", range(60))
def test_the_index_resolves_every_name_as_a_scan_does(seed: int) -> None:
    cluster = with_duplicates(random_cluster(seed), seed)
    index = EndpointIndex(cluster)
    for text in names(cluster):
        assert outcome(lambda t: resolve_endpoint(cluster, t, index), text) == outcome(lambda t: scan(cluster, t), text)
        assert outcome(lambda t: resolve_endpoint(cluster, t), text) == outcome(lambda t: scan(cluster, t), text)


@pytest.mark.parametrize("seed", range(20))
def test_workload_endpoints_are_every_pod_of_the_workload(seed: int) -> None:
    cluster = with_duplicates(random_cluster(seed), seed)
    index = EndpointIndex(cluster)
    for pod in cluster.pods:
        found = workload_endpoints(cluster, pod.workload_id, index)
        expected = sorted((p for p in cluster.pods if p.workload_id.lower() == pod.workload_id.lower()),
                          key=lambda p: p.name)
        assert [e.pod for e in found] == expected


@pytest.mark.parametrize("seed", range(20))
def test_one_explainer_answers_as_explain_does(seed: int) -> None:
    """The explainer keeps its index between questions; each answer is explain's."""
    cluster = random_cluster(seed, noise=True)
    explainer = Explainer(cluster)
    ends = names(cluster)
    rng = random.Random(seed)
    for _ in range(40):
        src, dst = rng.choice(ends), rng.choice(ends)
        port = rng.choice([53, 80, 8080])
        kept = outcome(lambda _, s=src, d=dst, p=port: explainer.explain(s, d, port=p), "")
        fresh = outcome(lambda _, s=src, d=dst, p=port: explain(cluster, s, d, port=p), "")
        assert (kept if isinstance(kept, str) else kept.to_dict()) == (
            fresh if isinstance(fresh, str) else fresh.to_dict())
