"""The engine's input model: frozen dataclasses for namespaces, pods, nodes and Kubernetes policies.

Everything here is already parsed, validated and defaulted (SEMANTICS.md 1.2 and 4.2): the
evaluators never see raw dicts. Calico resources live in ``policies.engine.calico.model``.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policies.engine.selectors import LabelSelector

if TYPE_CHECKING:
    from policies.engine.admin.model import AdminPolicy
    from policies.engine.calico.model import CalicoResources

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
L4_PROTOCOLS = ("SCTP", "TCP", "UDP")


class Labels(Mapping[str, str]):
    """An immutable, hashable label map with a canonical (sorted) order."""

    __slots__ = ("_items", "_map", "_hash")

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        pairs = tuple(sorted((items or {}).items()))
        self._items = pairs
        self._map = dict(pairs)
        self._hash = hash(pairs)

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._map) == dict(other)

    def __repr__(self) -> str:
        return f"Labels({self._map!r})"

    def items_tuple(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def with_items(self, extra: Mapping[str, str]) -> Labels:
        """Labels plus ``extra``; keys already present keep their own value."""
        merged = dict(extra)
        merged.update(self._map)
        return Labels(merged)

    def to_dict(self) -> dict[str, str]:
        return dict(self._items)


@dataclass(frozen=True)
class Source:
    """Where an object came from: file, YAML document index (0-based), 1-based line span."""

    file: str = ""
    document: int = 0
    line: int = 0
    end_line: int = 0
    item_path: str = ""  # e.g. "items[3]" for an object inside a List

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "document": self.document, "line": self.line, "end_line": self.end_line}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Labels  # includes kubernetes.io/metadata.name (N1)
    defined: bool = True  # False when only referenced by another object
    source: Source = field(default_factory=Source, compare=False)


@dataclass(frozen=True)
class Node:
    name: str
    ips: tuple[IPAddress, ...] = ()
    labels: Labels = field(default_factory=Labels)  # read by admin policies' nodes peers
    source: Source = field(default_factory=Source, compare=False)


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    labels: Labels = field(default_factory=Labels)


@dataclass(frozen=True)
class ContainerPort:
    """A named container port (N3); protocol defaults to TCP."""

    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class WorkloadRef:
    """The workload a pod belongs to at workload level: ``namespace/Kind/name``."""

    kind: str
    name: str


@dataclass(frozen=True)
class Pod:
    """A pod, or the pod template of a workload standing for its pods (N4)."""

    namespace: str
    name: str
    labels: Labels
    ips: tuple[IPAddress, ...] = ()
    node: str = ""
    host_ip: IPAddress | None = None
    host_network: bool = False
    service_account: str = "default"
    ports: tuple[ContainerPort, ...] = ()  # containers and init containers (N3)
    workload: WorkloadRef | None = None  # None: a bare pod, its own workload
    from_template: bool = False  # True when the pod stands for a workload's template
    source: Source = field(default_factory=Source, compare=False)

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def workload_id(self) -> str:
        if self.workload is None:
            return f"{self.namespace}/Pod/{self.name}"
        return f"{self.namespace}/{self.workload.kind}/{self.workload.name}"

    def named_port(self, name: str) -> ContainerPort | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None

    def ip_for_family(self, version: int) -> IPAddress | None:
        for ip in self.ips:
            if ip.version == version:
                return ip
        return None


@dataclass(frozen=True)
class IPBlock:
    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    def contains(self, ip: IPAddress) -> bool:
        if ip.version != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip in e for e in self.excepts)

    def __str__(self) -> str:
        if not self.excepts:
            return str(self.cidr)
        return f"{self.cidr} except {', '.join(str(e) for e in self.excepts)}"


@dataclass(frozen=True)
class Peer:
    """One entry of ``from`` / ``to``. A ``None`` selector means the field is absent."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    line: int = 0

    def describe(self) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block}"
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector}")
        return " and ".join(parts)


@dataclass(frozen=True)
class PortSpec:
    """One entry of ``ports``; ``port`` is a number, a port name, or None for every port."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None
    line: int = 0

    def describe(self) -> str:
        if self.port is None:
            return f"{self.protocol} (all ports)"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True)
class Rule:
    """An ingress or egress rule. Empty ``peers`` = every peer; empty ``ports`` = every port."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    line: int = 0
    end_line: int = 0


@dataclass(frozen=True)
class NetworkPolicy:
    """A networking.k8s.io/v1 NetworkPolicy after defaulting (D1 to D4)."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    policy_types: frozenset[str]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    source: Source = field(default_factory=Source, compare=False)

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == "Ingress" else self.egress


@dataclass(frozen=True)
class Cluster:
    """Everything the evaluators need, sorted and deduplicated."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    nodes: tuple[Node, ...] = ()
    service_accounts: tuple[ServiceAccount, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    calico: CalicoResources | None = None
    admin_policies: tuple[AdminPolicy, ...] = ()  # AdminNetworkPolicy, its baseline, ClusterNetworkPolicy
    skipped: tuple[tuple[str, int], ...] = ()  # (kind, count) of objects that were not used
    warnings: tuple[str, ...] = ()

    def namespace(self, name: str) -> Namespace:
        for ns in self.namespaces:
            if ns.name == name:
                return ns
        return Namespace(name, Labels({NAMESPACE_NAME_LABEL: name}), defined=False)

    def namespace_labels(self) -> dict[str, Labels]:
        return {ns.name: ns.labels for ns in self.namespaces}

    def admin_policies_selecting(self, pod: Pod) -> list[AdminPolicy]:
        labels = self.namespace(pod.namespace).labels
        return [a for a in self.admin_policies if a.selects(pod, labels)]

    def has_calico(self) -> bool:
        return self.calico is not None and not self.calico.is_empty()
