"""Small random clusters built straight from model objects, for differential tests."""

from __future__ import annotations

import ipaddress
import random

from policies.engine.cluster import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPBlock,
    Labels,
    Namespace,
    Node,
    Pod,
    WorkloadRef,
)
from policies.engine.k8s.model import NetworkPolicy, Peer, PortSpec, Rule
from policies.engine.k8s.selector import LabelSelector, Requirement
from policies.engine.model import Cluster

NAMESPACES = ["x", "y", "z"]
KEYS = ["app", "tier", "env"]
VALUES = ["a", "b", ""]
PORT_NAMES = ["http", "dns", "web"]
CIDRS = ["10.0.0.0/16", "10.0.1.0/24", "10.0.1.2/32", "192.168.0.0/24", "203.0.113.0/24", "0.0.0.0/0"]
NODES = [("n1", "192.168.0.1"), ("n2", "192.168.0.2")]


def _labels(rng: random.Random) -> dict[str, str]:
    return {k: rng.choice(VALUES) for k in rng.sample(KEYS, rng.randint(0, 2))}


def _selector(rng: random.Random) -> LabelSelector:
    reqs = []
    for key in rng.sample(KEYS, rng.randint(0, 2)):
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
        values = frozenset(rng.sample(VALUES, rng.randint(1, 2))) if op in ("In", "NotIn") else frozenset()
        reqs.append(Requirement(key, op, values))  # type: ignore[arg-type]
    return LabelSelector(tuple(reqs))


def _ns_selector(rng: random.Random) -> LabelSelector:
    if rng.random() < 0.4:
        return LabelSelector((Requirement(NAMESPACE_NAME_LABEL, "In", frozenset([rng.choice(NAMESPACES)])),))
    return LabelSelector(tuple(Requirement("team", rng.choice(["In", "NotIn"]), frozenset([rng.choice("pq")]))
                               for _ in range(rng.randint(0, 1))))


def _peer(rng: random.Random) -> Peer:
    kind = rng.random()
    if kind < 0.25:
        cidr = ipaddress.ip_network(rng.choice(CIDRS))
        excepts = ()
        if cidr.prefixlen < 24 and rng.random() < 0.5:
            excepts = (next(cidr.subnets(new_prefix=min(32, cidr.prefixlen + 8))),)
        return Peer(ip_block=IPBlock(cidr, excepts))
    if kind < 0.5:
        return Peer(pod_selector=_selector(rng))
    if kind < 0.75:
        return Peer(namespace_selector=_ns_selector(rng))
    return Peer(pod_selector=_selector(rng), namespace_selector=_ns_selector(rng))


def _ports(rng: random.Random) -> tuple[PortSpec, ...]:
    out = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        proto = rng.choice(["TCP", "TCP", "UDP", "SCTP"])
        r = rng.random()
        if r < 0.2:
            out.append(PortSpec(proto))
        elif r < 0.5:
            out.append(PortSpec(proto, rng.choice(PORT_NAMES)))
        elif r < 0.7:
            lo = rng.choice([53, 80, 8080])
            out.append(PortSpec(proto, lo, lo + rng.choice([1, 10])))
        else:
            out.append(PortSpec(proto, rng.choice([53, 80, 81, 8080])))
    return tuple(out)


def random_cluster(seed: int) -> Cluster:
    rng = random.Random(seed)
    namespaces = tuple(
        Namespace(n, Labels({NAMESPACE_NAME_LABEL: n, **({"team": rng.choice("pq")} if rng.random() < 0.7 else {})}))
        for n in NAMESPACES)
    pods = []
    for i in range(rng.randint(3, 8)):
        ns = rng.choice(NAMESPACES)
        host = rng.random() < 0.12
        node, node_ip = rng.choice(NODES)
        if host:
            ips = (ipaddress.ip_address(node_ip),)
        elif rng.random() < 0.8:
            ips = (ipaddress.ip_address(f"10.0.{rng.choice([1, 2])}.{i + 1}"),)
        else:
            ips = ()
        ports = tuple(ContainerPort(n, rng.choice([53, 80, 8080, 9090]), rng.choice(["TCP", "TCP", "UDP"]))
                      for n in rng.sample(PORT_NAMES, rng.randint(0, 2)))
        template = not ips and not host and rng.random() < 0.5
        pods.append(Pod(ns, f"p{i}", Labels(_labels(rng)), ips, node, ips[0] if host else None, host,
                        ports=ports, from_template=template,
                        workload=WorkloadRef("Deployment", f"p{i}") if template else None))
    policies = []
    for j in range(rng.randint(0, 5)):
        types = rng.choice([{"Ingress"}, {"Egress"}, {"Ingress", "Egress"}])
        ingress = tuple(Rule(tuple(_peer(rng) for _ in range(rng.choice([0, 1, 1, 2]))), _ports(rng))
                        for _ in range(rng.choice([0, 1, 2])))
        egress = tuple(Rule(tuple(_peer(rng) for _ in range(rng.choice([0, 1, 1, 2]))), _ports(rng))
                       for _ in range(rng.choice([0, 1, 2])))
        policies.append(NetworkPolicy(rng.choice(NAMESPACES), f"np{j}", _selector(rng), frozenset(types),
                                      ingress, egress))
    nodes = tuple(Node(n, (ipaddress.ip_address(ip),)) for n, ip in NODES)
    return Cluster(namespaces, tuple(sorted(pods, key=lambda p: (p.namespace, p.name))), nodes, (), tuple(policies))
