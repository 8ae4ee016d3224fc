"""Flows and their endpoints, and how the command line's endpoint names resolve (SEMANTICS.md 1.3).

An end of a flow resolves to a pod, a node (including hostNetwork pods, 4.8.2) or an external IP.
What one direction decides about a flow is in ``policies.engine.decisions``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from policies.engine.cluster import IPAddress, Pod
from policies.engine.connections import PORT_PROTOCOLS, canonical_protocol
from policies.engine.errors import PolicyError
from policies.engine.model import Cluster

__all__ = [
    "Endpoint",
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


def _node_ip(cluster: Cluster, node: str) -> IPAddress | None:
    for n in cluster.nodes:
        if n.name == node and n.ips:
            return n.ips[0]
    return None


def resolve_endpoint(cluster: Cluster, text: str) -> Endpoint:
    """Resolve ``ns/pod``, ``ns/Kind/name``, ``node:NAME`` or an IP address to an endpoint."""
    text = text.strip()
    if not text:
        raise PolicyError("an empty endpoint; use ns/pod, ns/Kind/name, node:NAME or an IP address")
    if text.startswith("node:"):
        name = text[5:]
        node = next((n for n in cluster.nodes if n.name == name), None)
        known = node is not None or any(p.node == name for p in cluster.pods)
        if not known:
            raise PolicyError(f"unknown node {name!r}")
        return Endpoint("node", text, node=name, ip=node.ips[0] if node and node.ips else None)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return _resolve_name(cluster, text)
    for pod in cluster.pods:
        if ip in pod.ips:
            return _pod_endpoint(cluster, pod)
    for n in cluster.nodes:
        if ip in n.ips:
            return Endpoint("node", f"node:{n.name}", node=n.name, ip=ip)
    for pod in cluster.pods:
        if pod.host_network and pod.host_ip == ip:
            return Endpoint("node", f"node:{pod.node}" if pod.node else text, node=pod.node, ip=ip)
    return Endpoint("external", str(ip), ip=ip)


def _pod_endpoint(cluster: Cluster, pod: Pod) -> Endpoint:
    ident = pod.workload_id if pod.from_template else pod.id
    if pod.host_network:
        ip = pod.host_ip or (pod.ips[0] if pod.ips else None) or _node_ip(cluster, pod.node)
        return Endpoint("node", ident, pod=pod, node=pod.node, ip=ip)
    return Endpoint("pod", ident, pod=pod, node=pod.node, ip=pod.ips[0] if pod.ips else None)


def workload_endpoints(cluster: Cluster, text: str) -> list[Endpoint]:
    """Every pod behind ``ns/Kind/name`` (sorted), or the one endpoint any other form names."""
    parts = text.strip().split("/")
    if len(parts) == 3 and parts[1].lower() != "pod":
        ident = "/".join(parts).lower()
        pods = sorted((p for p in cluster.pods if p.workload_id.lower() == ident), key=lambda p: p.name)
        if pods:
            return [_pod_endpoint(cluster, p) for p in pods]
    return [resolve_endpoint(cluster, text)]


def _resolve_name(cluster: Cluster, text: str) -> Endpoint:
    parts = text.split("/")
    if len(parts) == 2:
        ns, name = parts
        for pod in cluster.pods:
            if pod.namespace == ns and pod.name == name:
                return _pod_endpoint(cluster, pod)
        # A workload named without its kind: ns/name is accepted when it is unique.
        matches = [p for p in cluster.pods if p.from_template and p.namespace == ns and p.workload
                   and p.workload.name == name]
        if len(matches) == 1:
            return _pod_endpoint(cluster, matches[0])
        raise PolicyError(f"unknown pod {text!r}")
    if len(parts) == 3:
        ns, kind, name = parts
        matches = [
            p for p in cluster.pods
            if p.namespace == ns and p.workload_id.lower() == f"{ns}/{kind}/{name}".lower()
        ]
        if kind.lower() == "pod":
            matches = [p for p in cluster.pods if p.namespace == ns and p.name == name] or matches
        if not matches:
            raise PolicyError(f"unknown workload {text!r}")
        # A workload's pods may differ; the first (sorted) pod stands for it in a single flow.
        return _pod_endpoint(cluster, sorted(matches, key=lambda p: p.name)[0])
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
) -> Flow:
    try:
        proto = canonical_protocol(protocol)
    except ValueError as exc:
        raise PolicyError(str(exc), path="protocol") from exc
    if proto in PORT_PROTOCOLS:
        if port is None:
            raise PolicyError(f"a {proto} flow needs a destination port", path="port")
        if not 1 <= port <= 65535:
            raise PolicyError(f"port {port} is outside 1-65535", path="port")
    return flow_between(_endpoint_field(cluster, src, "from"), _endpoint_field(cluster, dst, "to"), protocol=proto,
                        port=port, src_port=src_port, icmp_type=icmp_type, icmp_code=icmp_code)


def _endpoint_field(cluster: Cluster, text: str, field: str) -> Endpoint:
    """``resolve_endpoint``, its errors naming the flow's field (``from`` or ``to``)."""
    try:
        return resolve_endpoint(cluster, text)
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
