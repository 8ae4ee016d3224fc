"""The cluster's own objects, shared by the Kubernetes and Calico models: labels, sources,
namespaces, nodes, service accounts, pods and IP blocks, as frozen dataclasses.

Everything here is already parsed, validated and defaulted (SEMANTICS.md 1.2): the evaluators
never see raw dicts. Policies live in ``policies.engine.k8s.model`` and
``policies.engine.calico.model``; ``policies.engine.model.Cluster`` gathers them all.
https://kubernetes.io/docs/concepts/workloads/pods/
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "L4_PROTOCOLS",
    "NAMESPACE_NAME_LABEL",
    "ContainerPort",
    "IPAddress",
    "IPBlock",
    "IPNetwork",
    "Labels",
    "Namespace",
    "Node",
    "Pod",
    "ServiceAccount",
    "Source",
    "WorkloadRef",
]

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
