"""Small random clusters built straight from model objects, for differential tests."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

from policies.engine.admin.model import ADMIN, BASELINE, AdminPeer, AdminPolicy, AdminPort, AdminRule
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
# Labels and ports that no policy reads: real clusters carry many (versions, template hashes).
NOISE_KEYS = ["version", "pod-template-hash", "owner"]
NOISE_PORTS = ["metrics", "admin"]


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


def _noise(pod: Pod, rng: random.Random) -> Pod:
    """``pod`` with extra labels and named ports that no random policy names."""
    labels = {**{k: rng.choice(["1", "2", "3"]) for k in rng.sample(NOISE_KEYS, rng.randint(0, 3))},
              **pod.labels.to_dict()}
    ports = pod.ports + tuple(ContainerPort(n, rng.choice([80, 9100]), "TCP")
                              for n in rng.sample(NOISE_PORTS, rng.randint(0, 2)))
    return replace(pod, labels=Labels(labels), ports=ports)


def random_cluster(seed: int, *, noise: bool = False, size: tuple[int, int] = (3, 8),
                   policies: tuple[int, int] = (0, 5)) -> Cluster:
    """A random cluster; ``noise`` adds labels and ports no policy reads (drawn from another
    random stream, so the cluster is otherwise the same as without). ``size`` and ``policies``:
    how many pods and NetworkPolicies (``policies=(0, 0)``: an open cluster; many pods and many
    policies: a dense one, with many label combinations and rules that allow across namespaces)."""
    rng = random.Random(seed)
    namespaces = tuple(
        Namespace(n, Labels({NAMESPACE_NAME_LABEL: n, **({"team": rng.choice("pq")} if rng.random() < 0.7 else {})}))
        for n in NAMESPACES)
    pods = []
    for i in range(rng.randint(*size)):
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
    drawn = []
    for j in range(rng.randint(*policies)):
        types = rng.choice([{"Ingress"}, {"Egress"}, {"Ingress", "Egress"}])
        ingress = tuple(Rule(tuple(_peer(rng) for _ in range(rng.choice([0, 1, 1, 2]))), _ports(rng))
                        for _ in range(rng.choice([0, 1, 2])))
        egress = tuple(Rule(tuple(_peer(rng) for _ in range(rng.choice([0, 1, 1, 2]))), _ports(rng))
                       for _ in range(rng.choice([0, 1, 2])))
        drawn.append(NetworkPolicy(rng.choice(NAMESPACES), f"np{j}", _selector(rng), frozenset(types),
                                   ingress, egress))
    if noise:
        other = random.Random(-1 - seed)
        pods = [_noise(p, other) for p in pods]
    nodes = tuple(Node(n, (ipaddress.ip_address(ip),)) for n, ip in NODES)
    return Cluster(namespaces, tuple(sorted(pods, key=lambda p: (p.namespace, p.name))), nodes, (), tuple(drawn))


# -- admin network policies ------------------------------------------------------------------------

NODE_LABELS = {"n1": {"role": "worker"}, "n2": {"role": "infra"}}


def _admin_peer(rng: random.Random, egress: bool) -> AdminPeer:
    kind = rng.random()
    if egress and kind < 0.2:
        nets = tuple(ipaddress.ip_network(c) for c in rng.sample(CIDRS, rng.randint(1, 2)))
        return AdminPeer("networks", networks=nets)
    if egress and kind < 0.3:
        role = Requirement("role", "In", frozenset([rng.choice(["worker", "infra"])]))
        return AdminPeer("nodes", node_selector=LabelSelector((role,) if rng.random() < 0.7 else ()))
    if kind < 0.65:
        return AdminPeer("namespaces", namespace_selector=_ns_selector(rng))
    return AdminPeer("pods", namespace_selector=_ns_selector(rng), pod_selector=_selector(rng))


def _admin_ports(rng: random.Random) -> tuple[AdminPort, ...] | None:
    if rng.random() < 0.4:
        return None
    out = []
    for _ in range(rng.randint(1, 2)):
        proto = rng.choice(["TCP", "TCP", "UDP", "SCTP"])
        r = rng.random()
        if r < 0.3:
            out.append(AdminPort("", name=rng.choice(PORT_NAMES)))
        elif r < 0.5:
            lo = rng.choice([53, 80, 8080])
            out.append(AdminPort(proto, lo, lo + rng.choice([1, 10])))
        else:
            out.append(AdminPort(proto, rng.choice([53, 80, 81, 8080])))
    return tuple(out)


def _admin_rules(rng: random.Random, egress: bool, actions: list[str]) -> tuple[AdminRule, ...]:
    return tuple(
        AdminRule(f"r{i}", rng.choice(actions), tuple(_admin_peer(rng, egress) for _ in range(rng.randint(1, 2))),
                  _admin_ports(rng))  # type: ignore[arg-type]
        for i in range(rng.choice([0, 1, 1, 2, 3])))


def random_admin_policies(rng: random.Random, version: str) -> tuple[AdminPolicy, ...]:
    """A few admin policies of one API version ("v1alpha1": AdminNetworkPolicy and the baseline
    singleton, "v1alpha2": ClusterNetworkPolicy in both tiers) or of both ("mixed"). No domainNames:
    the graph cannot resolve them and the per-flow verdict is UNSUPPORTED (vector A15 covers them)."""
    out: list[AdminPolicy] = []
    kinds = {"v1alpha1": ["AdminNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"],
             "v1alpha2": ["ClusterNetworkPolicy"],
             "mixed": ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"]}[version]
    for j in range(rng.randint(1, 4)):
        kind = rng.choice(kinds)
        if kind == "BaselineAdminNetworkPolicy":
            if any(p.kind == kind for p in out):
                continue
            tier, priority, name, actions = BASELINE, None, "default", ["Accept", "Deny"]
        else:
            tier = ADMIN if kind == "AdminNetworkPolicy" else rng.choice([ADMIN, BASELINE])
            priority, name, actions = rng.choice([1, 2, 5, 5, 20]), f"a{j}", ["Accept", "Deny", "Pass"]
        pod_selector = _selector(rng) if rng.random() < 0.5 else None
        out.append(AdminPolicy(kind, name, tier, priority, _ns_selector(rng), pod_selector,
                               _admin_rules(rng, False, actions), _admin_rules(rng, True, actions)))
    return tuple(sorted(out, key=lambda a: (a.kind, a.name)))


def random_admin_cluster(seed: int, version: str = "mixed") -> Cluster:
    """``random_cluster(seed)`` with labelled nodes and random admin network policies."""
    rng = random.Random(seed * 104729 + 7)
    base = random_cluster(seed)
    nodes = tuple(replace(n, labels=Labels(NODE_LABELS[n.name])) for n in base.nodes)
    return replace(base, nodes=nodes, admin_policies=random_admin_policies(rng, version))
