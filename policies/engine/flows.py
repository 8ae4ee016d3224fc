"""Flows and their endpoints, and how the command line's endpoint names resolve (SEMANTICS.md 1.3).

An end of a flow resolves to a pod, a node (including hostNetwork pods, 4.8.2) or an external IP.
What one direction decides about a flow is in ``policies.engine.decisions``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from policies.engine.cluster import IPAddress, Node, Pod
from policies.engine.connections import PORT_PROTOCOLS, canonical_protocol
from policies.engine.errors import PolicyError
from policies.engine.model import Cluster

__all__ = [
    "Endpoint",
    "EndpointIndex",
    "EndpointKind",
    "Flow",
    "flow_between",
    "make_flow",
    "resolve_endpoint",
    "workload_endpoints",
]

EndpointKind = Literal["pod", "node", "external"]


@dataclass(frozen=True)
class Endpoint:
    kind: EndpointKind
    id: str  # "ns/pod", "ns/Kind/name" for a template, "node:n1" or the IP
    pod: Pod | None = None  # for kind == "pod", and the hostNetwork pod behind a "node" end
    node: str = ""  # the node name (a pod's node, or the node itself)
    ip: IPAddress | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "pod": self.pod.id if self.pod else None,
            "node": self.node or None,
            "ip": str(self.ip) if self.ip else None,
        }


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    protocol: str = "TCP"
    port: int | None = None
    src_port: int = 40000
    icmp_type: int | None = None
    icmp_code: int | None = None

    @property
    def is_l4(self) -> bool:
        return self.protocol in ("TCP", "UDP", "SCTP")

    def describe(self) -> str:
        if self.protocol in PORT_PROTOCOLS:
            what = f"{self.protocol} {self.port}" if self.port is not None else f"{self.protocol}"
        elif self.icmp_type is not None:
            what = f"{self.protocol} type {self.icmp_type}" + (
                f" code {self.icmp_code}" if self.icmp_code is not None else ""
            )
        else:
            what = self.protocol
        return f"{self.src.id} -> {self.dst.id} {what}"


# -- endpoint resolution (SEMANTICS.md 1.3) ----------------------------------------------------


class EndpointIndex:
    """The cluster's pods and nodes by name, workload and address, built once (one pass over the
    pods), so that resolving an endpoint name is a lookup. Where several objects share a key, the
    first in the cluster's order wins, as a scan would find it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.pods: dict[tuple[str, str], Pod] = {}
        self.by_workload: dict[str, list[Pod]] = {}  # lower-cased workload id -> pods, cluster order
        self.templates: dict[tuple[str, str], list[Pod]] = {}  # (namespace, workload name) -> template pods
        self.by_ip: dict[IPAddress, Pod] = {}
        self.host_ips: dict[IPAddress, Pod] = {}  # hostNetwork pods by their host address
        self.pod_nodes: set[str] = set()
        for pod in cluster.pods:
            self.pods.setdefault((pod.namespace, pod.name), pod)
            self.by_workload.setdefault(pod.workload_id.lower(), []).append(pod)
            if pod.from_template and pod.workload:
                self.templates.setdefault((pod.namespace, pod.workload.name), []).append(pod)
            for ip in pod.ips:
                self.by_ip.setdefault(ip, pod)
            if pod.host_network and pod.host_ip is not None:
                self.host_ips.setdefault(pod.host_ip, pod)
            self.pod_nodes.add(pod.node)
        self.nodes: dict[str, Node] = {}
        self.node_ips: dict[IPAddress, Node] = {}
        self.node_first_ip: dict[str, IPAddress] = {}
        for n in cluster.nodes:
            self.nodes.setdefault(n.name, n)
            if n.ips:
                self.node_first_ip.setdefault(n.name, n.ips[0])
            for ip in n.ips:
                self.node_ips.setdefault(ip, n)

    def node_ip(self, node: str) -> IPAddress | None:
        """The first address of the first node of that name that has one."""
        return self.node_first_ip.get(node)

    def workload_pods(self, workload_id: str) -> list[Pod]:
        return self.by_workload.get(workload_id.lower(), [])


def resolve_endpoint(cluster: Cluster, text: str, index: EndpointIndex | None = None) -> Endpoint:
    """Resolve ``ns/pod``, ``ns/Kind/name``, ``node:NAME`` or an IP address to an endpoint.
    ``index``: the cluster's EndpointIndex, when many names are resolved in one cluster."""
    index = index or EndpointIndex(cluster)
    text = text.strip()
    if not text:
        raise PolicyError("an empty endpoint; use ns/pod, ns/Kind/name, node:NAME or an IP address")
    if text.startswith("node:"):
        name = text[5:]
        node = index.nodes.get(name)
        known = node is not None or name in index.pod_nodes
        if not known:
            raise PolicyError(f"unknown node {name!r}")
        return Endpoint("node", text, node=name, ip=node.ips[0] if node and node.ips else None)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return _resolve_name(index, text)
    pod = index.by_ip.get(ip)
    if pod is not None:
        return _pod_endpoint(index, pod)
    node_of_ip = index.node_ips.get(ip)
    if node_of_ip is not None:
        return Endpoint("node", f"node:{node_of_ip.name}", node=node_of_ip.name, ip=ip)
    host = index.host_ips.get(ip)
    if host is not None:
        return Endpoint("node", f"node:{host.node}" if host.node else text, node=host.node, ip=ip)
    return Endpoint("external", str(ip), ip=ip)


def _pod_endpoint(index: EndpointIndex, pod: Pod) -> Endpoint:
    ident = pod.workload_id if pod.from_template else pod.id
    if pod.host_network:
        ip = pod.host_ip or (pod.ips[0] if pod.ips else None) or index.node_ip(pod.node)
        return Endpoint("node", ident, pod=pod, node=pod.node, ip=ip)
    return Endpoint("pod", ident, pod=pod, node=pod.node, ip=pod.ips[0] if pod.ips else None)


def workload_endpoints(cluster: Cluster, text: str, index: EndpointIndex | None = None) -> list[Endpoint]:
    """Every pod behind ``ns/Kind/name`` (sorted), or the one endpoint any other form names."""
    index = index or EndpointIndex(cluster)
    parts = text.strip().split("/")
    if len(parts) == 3 and parts[1].lower() != "pod":
        pods = sorted(index.workload_pods("/".join(parts)), key=lambda p: p.name)
        if pods:
            return [_pod_endpoint(index, p) for p in pods]
    return [resolve_endpoint(cluster, text, index)]


def _resolve_name(index: EndpointIndex, text: str) -> Endpoint:
    parts = text.split("/")
    if len(parts) == 2:
        ns, name = parts
        pod = index.pods.get((ns, name))
        if pod is not None:
            return _pod_endpoint(index, pod)
        # A workload named without its kind: ns/name is accepted when it is unique.
        matches = index.templates.get((ns, name), [])
        if len(matches) == 1:
            return _pod_endpoint(index, matches[0])
        raise PolicyError(f"unknown pod {text!r}")
    if len(parts) == 3:
        ns, kind, name = parts
        matches = [p for p in index.workload_pods(f"{ns}/{kind}/{name}") if p.namespace == ns]
        if kind.lower() == "pod":
            pod = index.pods.get((ns, name))
            matches = [pod] if pod is not None else matches
        if not matches:
            raise PolicyError(f"unknown workload {text!r}")
        # A workload's pods may differ; the first (sorted) pod stands for it in a single flow.
        return _pod_endpoint(index, sorted(matches, key=lambda p: p.name)[0])
    raise PolicyError(f"cannot read endpoint {text!r}; use ns/pod, ns/Kind/name, node:NAME or an IP")


def make_flow(
    cluster: Cluster,
    src: str,
    dst: str,
    *,
    protocol: str = "TCP",
    port: int | None = None,
    src_port: int = 40000,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
    index: EndpointIndex | None = None,
) -> Flow:
    index = index or EndpointIndex(cluster)
    try:
        proto = canonical_protocol(protocol)
    except ValueError as exc:
        raise PolicyError(str(exc), path="protocol") from exc
    if proto in PORT_PROTOCOLS:
        if port is None:
            raise PolicyError(f"a {proto} flow needs a destination port", path="port")
        if not 1 <= port <= 65535:
            raise PolicyError(f"port {port} is outside 1-65535", path="port")
    return flow_between(_endpoint_field(index, src, "from"), _endpoint_field(index, dst, "to"), protocol=proto,
                        port=port, src_port=src_port, icmp_type=icmp_type, icmp_code=icmp_code)


def _endpoint_field(index: EndpointIndex, text: str, field: str) -> Endpoint:
    """``resolve_endpoint``, its errors naming the flow's field (``from`` or ``to``)."""
    try:
        return resolve_endpoint(index.cluster, text, index)
    except PolicyError as exc:
        if exc.path:
            raise
        raise PolicyError(exc.message, path=field) from exc


def flow_between(
    s: Endpoint,
    d: Endpoint,
    *,
    protocol: str,
    port: int | None,
    src_port: int = 40000,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
) -> Flow:
    """A flow between two resolved endpoints (``protocol`` already canonical)."""
    if s.kind == "external" and d.kind == "external":
        raise PolicyError("neither end is in the cluster; NetworkPolicy only governs pods")
    return Flow(s, d, protocol, port, src_port, icmp_type, icmp_code)
