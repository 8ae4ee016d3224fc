"""Endpoint groups, the engine's unit of work, and the per-group direction tables' shape.

Pods that no policy can tell apart (same namespace, labels, service account, named ports,
hostNetwork, node where node traffic matters, and address block where ipBlocks can match pod IPs)
collapse into one group. Without Calico resources, only the label keys that some selector reads
and the container ports that some rule names count (``relevant_keys``): real clusters carry many
labels (versions, hashes, owners) that no policy looks at, and those collapse. Each policy
peer's selection is computed once; a direction table then gives, for one group and one
direction, the connections allowed to or from every other peer (group or external block), as a
default plus per-peer overrides. No loop runs over pod pairs.
Calico's tables are built in ``policies.engine.calico.tables``; the Kubernetes evaluator builds
rows of bit masks instead (``policies.engine.k8s.matrices``).
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from policies.engine.addresses import AddressSpace, ExternalBlock
from policies.engine.admin.addresses import admin_address_sets
from policies.engine.admin.model import AdminPort
from policies.engine.cluster import ContainerPort, IPAddress, IPBlock, Labels, Pod
from policies.engine.connections import ConnectionSet
from policies.engine.k8s.model import NetworkPolicy, Peer, PortSpec
from policies.engine.k8s.selector import Requirement
from policies.engine.model import Cluster
from policies.engine.options import Settings

ALL = ConnectionSet.all()
NONE = ConnectionSet.none()

# The label keys selectors read and the port names rules name (see ``relevant_keys``).
Relevant = tuple[frozenset[str], frozenset[str]]

# A peer is an int: a group index, or ``len(groups) + block.index`` for an external block.
PeerKey = int


@dataclass(frozen=True)
class EndpointGroup:
    index: int
    namespace: str
    labels: Labels  # only the keys that some selector reads, when the index projects (see ``relevant_keys``)
    service_account: str  # the first pod's; a group key only for Calico, whose selectors can read it
    ports: tuple[ContainerPort, ...]  # only the named ports that some rule names, when the index projects
    host_network: bool
    nodes: frozenset[str]  # the nodes its pods run on (node rules depend on them)
    ip: IPAddress | None  # the representative address (IPv4 first), None without an IP
    block: int | None  # the external block that holds ``ip`` when ipBlocks can match it
    pods: tuple[Pod, ...] = field(compare=False)

    def named_port(self, name: str) -> ContainerPort | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None


@dataclass
class Table:
    """Connections allowed between one group and each peer in one direction."""

    default: ConnectionSet
    overrides: dict[PeerKey, ConnectionSet] = field(default_factory=dict)
    isolated: bool = False
    policies: tuple[str, ...] = ()  # ids of the policies that apply
    # Egress to a hostNetwork group on the pod's own node when node_egress_exempt exempts it from
    # NetworkPolicy: what admin policies still decide there (absent: everything is allowed).
    node_exempt: dict[PeerKey, ConnectionSet] = field(default_factory=dict)

    def get(self, peer: PeerKey) -> ConnectionSet:
        return self.overrides.get(peer, self.default)


OPEN_TABLE = Table(ALL)


def address_sets(cluster: Cluster) -> list[IPBlock]:
    """Every address set of the input that can tell addresses apart (ipBlocks, Calico nets)."""
    sets = [p.ip_block for np in cluster.policies for r in (*np.ingress, *np.egress) for p in r.peers
            if p.ip_block is not None]
    if cluster.calico is not None:
        # Calico nets / notNets, when the Calico model offers them.
        more: Callable[[], list[IPBlock]] | None = getattr(cluster.calico, "address_sets", None)
        if more is not None:
            sets.extend(more())
    if cluster.admin_policies:
        sets.extend(admin_address_sets(cluster))
    return sets


class GroupIndex:
    """Groups, blocks, and cached selections for one cluster and settings."""

    relevant: Relevant | None  # None: every label key and port name tells pods apart

    def __init__(self, cluster: Cluster, settings: Settings, extra_sets: Iterable[IPBlock] = (), *,
                 grouping_of: GroupIndex | None = None) -> None:
        """``grouping_of``: group the pods as that index does (same label keys and port names),
        so that its group indices hold here too (lint compares a cluster with one policy less)."""
        self.cluster = cluster
        self.settings = settings
        families = {4} | {ip.version for p in cluster.pods for ip in p.ips}
        # extra_sets: address sets of another version of the input, so that a diff compares the
        # two graphs over the same blocks.
        self.space = AddressSpace([*address_sets(cluster), *extra_sets], families)
        self.blocks: list[ExternalBlock] = self.space.blocks
        relevant = grouping_of.relevant if grouping_of is not None else relevant_keys(cluster)
        self.relevant = relevant
        keyed: dict[tuple[Any, ...], list[Pod]] = defaultdict(list)
        views: dict[tuple[Any, ...], tuple[Labels, tuple[ContainerPort, ...]]] = {}
        for pod in cluster.pods:
            ip = _primary_ip(pod, cluster)
            block = None
            if ip is not None and (pod.host_network or settings.ip_block_matches_pod_ips):
                block = self.space.block_of(ip)
            labels, ports = pod.labels, pod.ports
            if relevant is not None:
                label_keys, port_names = relevant
                labels = _project_labels(labels, label_keys)
                ports = tuple(p for p in ports if p.name in port_names)
            key = (pod.namespace, labels.items_tuple(), pod.service_account if relevant is None else "",
                   tuple(sorted((p.name, p.port, p.protocol) for p in ports)), pod.host_network,
                   # nodes are tracked per pod (``EndpointGroup.nodes``): node rules ride on the edges
                   block, ip is not None)
            keyed[key].append(pod)
            views.setdefault(key, (labels, ports))
        self.groups: list[EndpointGroup] = []
        for key in sorted(keyed, key=repr):
            pods = sorted(keyed[key], key=lambda p: (p.namespace, p.name))
            first = pods[0]
            labels, ports = views[key]
            self.groups.append(EndpointGroup(
                len(self.groups), first.namespace, labels, first.service_account,
                tuple(sorted(ports, key=lambda p: p.name)), first.host_network,
                frozenset(p.node for p in pods if p.node), _primary_ip(first, cluster), key[5],
                tuple(pods),
            ))
        self.n_groups = len(self.groups)
        self.by_namespace: dict[str, list[EndpointGroup]] = defaultdict(list)
        self.by_block: dict[int, list[EndpointGroup]] = defaultdict(list)
        for g in self.groups:
            if not g.host_network:
                self.by_namespace[g.namespace].append(g)
            if g.block is not None:
                self.by_block[g.block].append(g)
        self.policies_by_namespace: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for np in cluster.policies:
            self.policies_by_namespace[np.namespace].append(np)
        self.ns_labels = {ns.name: ns.labels for ns in cluster.namespaces}
        for ns_name in self.by_namespace.keys() | {g.namespace for g in self.groups}:
            if ns_name not in self.ns_labels:  # (``cluster.namespace`` scans the namespaces)
                self.ns_labels[ns_name] = cluster.namespace(ns_name).labels
        self._peer_cache: dict[tuple[Peer, str], frozenset[PeerKey]] = {}
        self._port_cache: dict[tuple[int, int], ConnectionSet] = {}
        self._named_cache: dict[int, bool] = {}
        self._keep: list[object] = []  # keeps keyed objects alive for the cache's lifetime

    # -- peers --------------------------------------------------------------------------------
    def peer_keys(self) -> range:
        return range(self.n_groups + len(self.blocks))

    def block_key(self, block: int) -> PeerKey:
        return self.n_groups + block

    def blocks_of_set(self, ip_block: IPBlock) -> list[PeerKey]:
        """External blocks and groups (by address) inside an address set."""
        keys: list[PeerKey] = []
        for b in self.space.blocks_in(ip_block):
            keys.append(self.n_groups + b)
            keys.extend(g.index for g in self.by_block.get(b, ()))
        return keys

    def select_k8s_peer(self, peer: Peer, policy_ns: str) -> frozenset[PeerKey]:
        cached = self._peer_cache.get((peer, policy_ns))
        if cached is not None:
            return cached
        keys: set[PeerKey] = set()
        if peer.ip_block is not None:
            keys.update(self.blocks_of_set(peer.ip_block))
        else:
            if peer.namespace_selector is None:
                namespaces: Iterable[str] = [policy_ns]
            else:
                sel = peer.namespace_selector
                namespaces = [ns for ns, labels in self.ns_labels.items() if sel.matches(labels)]
            for ns in namespaces:
                for g in self.by_namespace.get(ns, ()):
                    if peer.pod_selector is None or peer.pod_selector.matches(g.labels):
                        keys.add(g.index)
        result = frozenset(keys)
        self._peer_cache[(peer, policy_ns)] = result
        return result

    # -- ports ----------------------------------------------------------------------------------
    def resolve_ports(self, ports: tuple[PortSpec, ...], dst: tuple[ContainerPort, ...] | None) -> ConnectionSet:
        """A rule's ``ports`` as a ConnectionSet for one destination (None: not a pod) (4.7)."""
        # Keyed by identity: rules and port tuples live as long as the cluster, and hashing the
        # tuples themselves dominated the cost on large inputs. Numeric-only lists ignore ``dst``.
        key = (id(ports), id(dst) if dst is not None and self._named(ports) else 0)
        cached = self._port_cache.get(key)
        if cached is not None:
            return cached
        if not ports:
            result = ALL
        else:
            result = NONE
            for spec in ports:
                if spec.port is None:
                    result |= ConnectionSet.protocol(spec.protocol)
                elif isinstance(spec.port, int):
                    result |= ConnectionSet.protocol(spec.protocol, spec.port, spec.end_port or spec.port)
                elif dst is not None:
                    named = next((p for p in dst if p.name == spec.port), None)
                    if named is not None and named.protocol == spec.protocol:
                        result |= ConnectionSet.protocol(spec.protocol, named.port, named.port)
        self._port_cache[key] = result
        self._keep.append((ports, dst))
        return result

    def has_named(self, ports: tuple[PortSpec, ...]) -> bool:
        """Whether a rule's ``ports`` name a port (then they resolve per destination)."""
        return self._named(ports)

    def _named(self, ports: tuple[PortSpec, ...]) -> bool:
        named = self._named_cache.get(id(ports))
        if named is None:
            named = self._named_cache[id(ports)] = any(isinstance(p.port, str) for p in ports)
            self._keep.append(ports)
        return named

    def dst_ports(self, key: PeerKey) -> tuple[ContainerPort, ...] | None:
        if key < self.n_groups and not self.groups[key].host_network:
            return self.groups[key].ports
        return None

    # -- policies ---------------------------------------------------------------------------------
    def k8s_policies(self, group: EndpointGroup, direction: str) -> list[NetworkPolicy]:
        if group.host_network:
            return []
        return [np for np in self.policies_by_namespace.get(group.namespace, ())
                if direction in np.policy_types
                and np.pod_selector.matches(group.labels)]


def relevant_keys(cluster: Cluster) -> Relevant | None:
    """The label keys that some selector of a Kubernetes or admin network policy reads, and the
    container port names that some rule names; None (every label and port counts) when the
    cluster has Calico resources, whose selectors and evaluation read more than these."""
    if cluster.calico is not None:
        return None
    keys: set[str] = set()
    names: set[str] = set()
    seen: set[int] = set()
    stack: list[object] = [*cluster.policies, *cluster.admin_policies]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Requirement):
            keys.add(value.key)
        elif isinstance(value, PortSpec):
            if isinstance(value.port, str):
                names.add(value.port)
        elif isinstance(value, AdminPort):
            if value.name:
                names.add(value.name)
        elif isinstance(value, tuple | list | frozenset):
            stack.extend(v for v in value if not isinstance(v, str | int | float))
        elif is_dataclass(value) and not isinstance(value, type):
            stack.extend(getattr(value, f.name) for f in fields(value))
    return frozenset(keys), frozenset(names)


def _project_labels(labels: Labels, keys: frozenset[str]) -> Labels:
    items = labels.items_tuple()
    if all(k in keys for k, _ in items):
        return labels
    return Labels({k: v for k, v in items if k in keys})


def _primary_ip(pod: Pod, cluster: Cluster) -> IPAddress | None:
    """IPv4 first (N5: pod to pod uses IPv4); a hostNetwork pod has its node's address."""
    if len(pod.ips) == 1 and not pod.host_network:
        return pod.ips[0]
    ips = sorted(pod.ips, key=lambda ip: ip.version)
    if pod.host_network:
        if pod.host_ip is not None:
            return pod.host_ip
        if not ips:
            node = next((n for n in cluster.nodes if n.name == pod.node), None)
            return node.ips[0] if node and node.ips else None
    return ips[0] if ips else None
