"""Kubernetes NetworkPolicy, as the engine holds it: policies, rules, peers and ports after defaulting.

Everything here is already parsed, validated and defaulted (SEMANTICS.md 1.2 and 4.2). The
admin network policy kinds are in ``policies.engine.admin``.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.engine.cluster import IPBlock, Source
from policies.engine.k8s.selector import LabelSelector

__all__ = ["NetworkPolicy", "Peer", "PortSpec", "Rule"]


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
