"""Engine data in the pages' words: counts, ports, endpoints, node names, Calico orders."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from policies import services

L4_PROTOCOLS = ("TCP", "UDP", "SCTP")


OUTSIDE = "outside cluster"


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading runs of digits as numbers: "ns-2" before "ns-10"."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 policy', '3 policies'."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def ports_text(edge: dict[str, Any] | None) -> str:
    """The engine's one wording of an edge's connections ('TCP 80,443; UDP 53', 'all but TCP 22')."""
    return services.connections_text(edge)


def first_port(edge: dict[str, Any] | None) -> tuple[str, int | None]:
    """The protocol and port to ask about first for an edge (a common one when all are open)."""
    for entry in (edge or {}).get("ports", []):
        if entry["protocol"] in L4_PROTOCOLS and entry.get("from") is not None:
            return entry["protocol"], int(entry["from"])
    if edge:
        return "TCP", 80
    return "TCP", None


def endpoint_text(node: dict[str, Any]) -> str:
    """What the engine accepts as a flow's end: the node id, or one address of a block."""
    if node["kind"] != "external":
        return str(node["id"])
    cidr = str((node.get("cidrs") or [node["id"].split(",")[0]])[0])
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return cidr.split("-")[0]
    if network.num_addresses > 2:
        return str(network.network_address + 1)
    return str(network.network_address)


def node_label(node: dict[str, Any]) -> str:
    if node["kind"] == "external":
        return ", ".join(node.get("cidrs") or []) or node["id"]
    return f"{node['namespace']}/{node['name']}" if node.get("namespace") else node["name"]


def order_text(value: float | None) -> str:
    """A Calico order in words: 10.0 -> "10", 2.5 -> "2.5", None -> "none (last)"."""
    if value is None:
        return "none (last)"
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


KIND_WORDS = {"CalicoNetworkPolicy": "Calico NetworkPolicy", "KubernetesNetworkPolicy": "NetworkPolicy"}


def short_label(node: dict[str, Any]) -> str:
    """A node's name for a table row (the graph's words): an external block by its one CIDR, or by
    its first range and how many more."""
    if node["kind"] != "external":
        return node_label(node)
    if node.get("name"):
        return str(node["name"])
    ranges = str(node["id"]).split(",")
    cidrs = node.get("cidrs") or []
    if len(ranges) == 1:
        return str(cidrs[0]) if len(cidrs) == 1 else ranges[0]
    return f"{ranges[0]} +{len(ranges) - 1} more"


def probe(connections: dict[str, Any] | None) -> tuple[str, int] | None:
    """A protocol and port of a connection set to ask the flow check about: the first port of the
    first TCP, UDP or SCTP entry; port 80 of a protocol open on every port; None when the set holds
    only other protocols (ICMP, protocol numbers), which the flow check form does not ask about."""
    if not connections:
        return None
    if connections.get("all"):
        return "TCP", 80
    star: dict[str, Any] | None = None
    for entry in connections.get("ports", []):
        protocol = entry["protocol"]
        if protocol in L4_PROTOCOLS:
            return protocol, int(entry["from"]) if entry.get("from") is not None else 80
        if protocol == "*":
            star = entry
    if star is not None:
        for protocol in L4_PROTOCOLS:
            if protocol not in star.get("except", []):
                return protocol, 80
    return None


def some_text(connections: dict[str, Any] | None) -> str:
    """A connection set in words, or "" when it is empty (nothing opened, nothing closed)."""
    if not connections or not (connections.get("all") or connections.get("ports")):
        return ""
    return ports_text(connections)
