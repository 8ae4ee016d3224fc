"""Admin network policies after validation and defaulting: subject, tier, priority, ordered rules.

One model covers the three kinds. AdminNetworkPolicy's ``Allow`` and ClusterNetworkPolicy's
``Accept`` are the same action (``ACCEPT``); a BaselineAdminNetworkPolicy is a Baseline-tier
policy without a priority. https://network-policy-api.sigs.k8s.io/reference/spec/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from policies.engine.cluster import IPAddress, IPNetwork, Pod, Source
from policies.engine.k8s.selector import LabelSelector

__all__ = ["AdminPeer", "AdminPolicy", "AdminPort", "AdminRule", "ADMIN", "BASELINE"]

ADMIN = "Admin"
BASELINE = "Baseline"
Action = Literal["Accept", "Deny", "Pass"]
PeerKind = Literal["namespaces", "pods", "nodes", "networks", "domainNames"]


@dataclass(frozen=True)
class AdminPeer:
    """One entry of ``from`` / ``to``: exactly one kind of peer."""

    kind: PeerKind
    namespace_selector: LabelSelector | None = None  # namespaces, pods
    pod_selector: LabelSelector | None = None  # pods
    node_selector: LabelSelector | None = None  # nodes
    networks: tuple[IPNetwork, ...] = ()
    domain_names: tuple[str, ...] = ()
    line: int = 0

    def network_contains(self, ip: IPAddress) -> IPNetwork | None:
        return next((n for n in self.networks if n.version == ip.version and ip in n), None)

    def describe(self) -> str:
        if self.kind == "namespaces":
            return f"namespaces {self.namespace_selector}"
        if self.kind == "pods":
            return f"pods in namespaces {self.namespace_selector} with {self.pod_selector}"
        if self.kind == "nodes":
            return f"nodes {self.node_selector}"
        if self.kind == "networks":
            return "networks " + ", ".join(str(n) for n in self.networks)
        return "domainNames " + ", ".join(self.domain_names)


@dataclass(frozen=True)
class AdminPort:
    """One port match. ``name`` set: a named port of the destination pod (its own protocol)."""

    protocol: str = "TCP"
    port: int | None = None
    end_port: int | None = None
    name: str = ""
    line: int = 0

    def describe(self) -> str:
        if self.name:
            return f"named port {self.name!r}"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True)
class AdminRule:
    """An ingress or egress rule. ``ports`` None: every protocol and port."""

    name: str
    action: Action
    peers: tuple[AdminPeer, ...]
    ports: tuple[AdminPort, ...] | None = None
    spelled: str = ""  # the action as written (Allow for v1alpha1, Accept for v1alpha2)
    line: int = 0
    end_line: int = 0

    @property
    def label(self) -> str:
        return self.spelled or self.action


@dataclass(frozen=True)
class AdminPolicy:
    """An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy."""

    kind: str
    name: str
    tier: str  # ADMIN or BASELINE
    priority: int | None  # None for the BaselineAdminNetworkPolicy
    namespace_selector: LabelSelector
    pod_selector: LabelSelector | None  # None: every pod of the selected namespaces
    ingress: tuple[AdminRule, ...] = ()
    egress: tuple[AdminRule, ...] = ()
    source: Source = field(default_factory=Source, compare=False)

    def selects(self, pod: Pod, namespace_labels: Mapping[str, str]) -> bool:
        """Subject selection; hostNetwork pods are never subjects."""
        if pod.host_network or not self.namespace_selector.matches(namespace_labels):
            return False
        return self.pod_selector is None or self.pod_selector.matches(pod.labels)

    def rules(self, direction: str) -> tuple[AdminRule, ...]:
        return self.ingress if direction == "Ingress" else self.egress

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def order_key(self) -> tuple[int, int, str, str]:
        """Evaluation order in a tier: priority (the baseline singleton last), then kind and name."""
        return (1 if self.priority is None else 0, self.priority or 0, self.kind, self.name)

    def describe(self) -> str:
        where = f"{self.tier} tier" + (f", priority {self.priority}" if self.priority is not None else "")
        return f"{self.kind} {self.name} ({where})"
