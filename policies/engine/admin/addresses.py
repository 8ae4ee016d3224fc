"""The address blocks admin network policies tell apart (their ``networks`` and the addresses of
the nodes their ``nodes`` peers select), for the engine's address partition. Kept apart from
``tables`` so that the grouping can ask for them without importing the graph's tables."""

from __future__ import annotations

import ipaddress

from policies.engine.cluster import IPAddress, IPBlock, IPNetwork
from policies.engine.model import Cluster

__all__ = ["admin_address_sets", "host_block"]


def admin_address_sets(cluster: Cluster) -> list[IPBlock]:
    """Address sets admin peers tell apart: networks, and the addresses of nodes they select."""
    sets: list[IPBlock] = []
    for policy in cluster.admin_policies:
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                sets.extend(IPBlock(net) for net in peer.networks)
                if peer.node_selector is not None:
                    for node in cluster.nodes:
                        if peer.node_selector.matches(node.labels):
                            sets.extend(IPBlock(host_block(ip)) for ip in node.ips)
    return sets


def host_block(ip: IPAddress) -> IPNetwork:
    return ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")
