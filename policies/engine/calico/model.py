"""Calico resources after parsing and defaulting (SEMANTICS.md 5.3): tiers, policies, rules.

Kubernetes NetworkPolicies are converted to the same model inside the default tier (5.7), so the
evaluator walks one ordered list. Network sets and host endpoints are recorded only: they are out
of scope (0.3), and verdicts they could change come out UNSUPPORTED.
https://docs.tigera.io/calico/latest/reference/resources/networkpolicy
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from policies.engine.calico.selector import Selector
from policies.engine.cluster import IPAddress, IPBlock, IPNetwork, Labels, Source
from policies.engine.kinds import ADMIN_KINDS  # run as global policies in tiers of their own (calico/admin.py)

Action = Literal["Allow", "Deny", "Pass", "Log"]
PolicyKind = Literal["NetworkPolicy", "GlobalNetworkPolicy", "KubernetesNetworkPolicy", "AdminNetworkPolicy",
                     "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"]
DefaultAction = Literal["Deny", "Pass"]
# A numeric port range (inclusive) or a port name.
PortMatch = tuple[int, int] | str

DEFAULT_TIER = "default"
DEFAULT_TIER_ORDER = 1_000_000.0  # CAL-TIERAPI DefaultTierOrder
K8S_POLICY_ORDER = 1000.0  # CAL-CONV "We insert all the NetworkPolicy Policies at order 1000.0"
# Tiers Calico creates by itself; only the default tier always matters (5.3.3).
BUILTIN_TIERS: dict[str, tuple[float, DefaultAction]] = {
    DEFAULT_TIER: (DEFAULT_TIER_ORDER, "Deny"),
    "kube-admin": (1000.0, "Pass"),
    "kube-baseline": (10_000_000.0, "Pass"),
    # Calico 3.30 / 3.31 tiers of AdminNetworkPolicy and BaselineAdminNetworkPolicy.
    "adminnetworkpolicy": (1000.0, "Pass"),
    "baselineadminnetworkpolicy": (10_000_000.0, "Pass"),
}
# The label an endpoint carries for its service account only when the name is this short (5.1).
SERVICE_ACCOUNT_LABEL_MAX = 63
# The labels Calico gives a workload endpoint, its namespace and service account profiles (5.1).
NAMESPACE_LABEL = "projectcalico.org/namespace"
ORCHESTRATOR_LABEL = "projectcalico.org/orchestrator"
SERVICE_ACCOUNT_LABEL = "projectcalico.org/serviceaccount"
NAME_LABEL = "projectcalico.org/name"


def describe_ports(ports: tuple[PortMatch, ...]) -> str:
    parts = []
    for p in ports:
        if isinstance(p, str):
            parts.append(p)
        else:
            parts.append(str(p[0]) if p[0] == p[1] else f"{p[0]}:{p[1]}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Tier:
    name: str
    order: float | None = None
    default_action: DefaultAction = "Deny"
    source: Source = field(default_factory=Source, compare=False)

    def sort_key(self) -> tuple[float, str]:
        """TierLess: order ascending, absent last, then name (FELIX-SORT)."""
        return (math.inf if self.order is None else self.order, self.name)


@dataclass(frozen=True)
class EntityRule:
    """One end of a rule (``source`` or ``destination``). Empty fields constrain nothing."""

    nets: tuple[IPNetwork, ...] = ()
    not_nets: tuple[IPNetwork, ...] = ()
    selector: Selector | None = None
    not_selector: Selector | None = None
    namespace_selector: Selector | None = None
    service_accounts_names: tuple[str, ...] = ()
    service_accounts_selector: Selector | None = None
    ports: tuple[PortMatch, ...] = ()
    not_ports: tuple[PortMatch, ...] = ()
    services: str = ""  # "namespace/name" of an EntityRule.services match (unsupported, 0.3)
    line: int = 0

    @property
    def has_service_accounts(self) -> bool:
        return bool(self.service_accounts_names) or self.service_accounts_selector is not None

    @property
    def has_identity(self) -> bool:
        """Whether a selector-like field is set, i.e. whether network sets or host endpoints
        could change what this end matches."""
        return (
            self.selector is not None or self.not_selector is not None or self.namespace_selector is not None
        )

    @property
    def is_empty(self) -> bool:
        return self == EntityRule(line=self.line)

    def describe(self) -> str:
        parts = []
        if self.nets:
            parts.append("nets " + ", ".join(map(str, self.nets)))
        if self.not_nets:
            parts.append("notNets " + ", ".join(map(str, self.not_nets)))
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector}")
        if self.selector is not None:
            parts.append(f"selector {self.selector}")
        if self.not_selector is not None:
            parts.append(f"notSelector {self.not_selector}")
        if self.service_accounts_names:
            parts.append("serviceAccounts " + ", ".join(self.service_accounts_names))
        if self.service_accounts_selector is not None:
            parts.append(f"serviceAccounts selector {self.service_accounts_selector}")
        if self.ports:
            parts.append(f"ports {describe_ports(self.ports)}")
        if self.not_ports:
            parts.append(f"notPorts {describe_ports(self.not_ports)}")
        if self.services:
            parts.append(f"services {self.services}")
        return "; ".join(parts) if parts else "anything"

    def address_sets(self) -> list[IPBlock]:
        return [IPBlock(n) for n in (*self.nets, *self.not_nets)]


@dataclass(frozen=True)
class CalicoRule:
    action: Action
    protocol: str | None = None  # canonical name (connections.canonical_protocol) or None
    not_protocol: str | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    not_icmp_type: int | None = None
    not_icmp_code: int | None = None
    ip_version: int | None = None
    source: EntityRule = field(default_factory=EntityRule)
    destination: EntityRule = field(default_factory=EntityRule)
    line: int = 0
    end_line: int = 0
    unsupported: tuple[str, ...] = ()  # fields the evaluator cannot model, e.g. ("http",)
    # For a converted Kubernetes or admin rule: its index in the original ingress/egress list (5.7).
    k8s_index: int | None = None
    admin_name: str = ""  # a converted admin rule's own name (not part of a policy's digest)

    @property
    def has_icmp(self) -> bool:
        return self.icmp_type is not None

    @property
    def has_not_icmp(self) -> bool:
        return self.not_icmp_type is not None

    def describe(self) -> str:
        parts: list[str] = [self.action]
        if self.protocol:
            parts.append(f"protocol {self.protocol}")
        if self.not_protocol:
            parts.append(f"notProtocol {self.not_protocol}")
        if self.has_icmp:
            parts.append(_icmp_text("icmp", self.icmp_type, self.icmp_code))
        if self.has_not_icmp:
            parts.append(_icmp_text("notICMP", self.not_icmp_type, self.not_icmp_code))
        if self.ip_version:
            parts.append(f"ipVersion {self.ip_version}")
        if not self.source.is_empty:
            parts.append(f"source [{self.source.describe()}]")
        if not self.destination.is_empty:
            parts.append(f"destination [{self.destination.describe()}]")
        if self.unsupported:
            parts.append("unsupported " + ", ".join(self.unsupported))
        return " ".join(parts)


def _icmp_text(name: str, icmp_type: int | None, code: int | None) -> str:
    return f"{name} type {icmp_type}" + (f" code {code}" if code is not None else "")


@dataclass(frozen=True)
class CalicoPolicy:
    """A Calico NetworkPolicy / GlobalNetworkPolicy, or a converted Kubernetes NetworkPolicy."""

    kind: PolicyKind
    namespace: str  # "" for a GlobalNetworkPolicy
    name: str
    tier: str = DEFAULT_TIER
    order: float | None = None  # None: +infinity, evaluated last
    selector: Selector | None = None  # None: all()
    namespace_selector: Selector | None = None  # GlobalNetworkPolicy only
    service_account_selector: Selector | None = None
    types: frozenset[str] = frozenset({"Ingress"})
    ingress: tuple[CalicoRule, ...] = ()
    egress: tuple[CalicoRule, ...] = ()
    source: Source = field(default_factory=Source, compare=False)
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        if self.kind in ADMIN_KINDS:
            return f"{self.kind}/{self.name}"
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def is_global(self) -> bool:
        """Not bound to a namespace: a GlobalNetworkPolicy or an admin network policy."""
        return self.kind == "GlobalNetworkPolicy" or self.kind in ADMIN_KINDS

    @property
    def is_converted(self) -> bool:
        """Converted from another kind (Kubernetes or admin): one rule may become several."""
        return self.kind == "KubernetesNetworkPolicy" or self.kind in ADMIN_KINDS

    @property
    def trace_kind(self) -> str:
        """The kind shown in traces; Calico's namespaced kind is told apart from Kubernetes'."""
        return "CalicoNetworkPolicy" if self.kind == "NetworkPolicy" else self.kind

    def sort_key(self) -> tuple[float, str]:
        """PolKVLess: order ascending (absent = +inf), then "<name>/<namespace>/<kind>"."""
        order = math.inf if self.order is None else self.order
        return (order, f"{self.name}/{self.namespace}/{self.kind}")

    def rules(self, direction: str) -> tuple[CalicoRule, ...]:
        return self.ingress if direction == "Ingress" else self.egress

    def address_sets(self) -> list[IPBlock]:
        return [
            b
            for r in (*self.ingress, *self.egress)
            for b in (*r.source.address_sets(), *r.destination.address_sets())
        ]


@dataclass(frozen=True)
class NetworkSet:
    """A NetworkSet (namespaced) or GlobalNetworkSet: recorded, not modelled (0.3)."""

    kind: Literal["NetworkSet", "GlobalNetworkSet"]
    namespace: str
    name: str
    labels: Labels
    nets: tuple[IPNetwork, ...] = ()
    source: Source = field(default_factory=Source, compare=False)

    @property
    def id(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def contains(self, ip: IPAddress) -> bool:
        return any(ip.version == n.version and ip in n for n in self.nets)


@dataclass(frozen=True)
class HostEndpoint:
    """A HostEndpoint: recorded, not modelled (0.3)."""

    name: str
    node: str
    labels: Labels
    interface_name: str = ""
    expected_ips: tuple[IPAddress, ...] = ()
    source: Source = field(default_factory=Source, compare=False)

    @property
    def id(self) -> str:
        return f"HostEndpoint {self.name}"


@dataclass(frozen=True)
class CalicoResources:
    """Every Calico object of the input, parsed. ``policies`` holds Calico kinds only; the
    evaluators add the converted Kubernetes policies themselves."""

    tiers: tuple[Tier, ...] = ()
    policies: tuple[CalicoPolicy, ...] = ()
    profiles: tuple[str, ...] = ()  # names of Profile objects seen (only generated ones are modelled)
    network_sets: tuple[NetworkSet, ...] = ()
    host_endpoints: tuple[HostEndpoint, ...] = ()
    staged_ignored: int = 0
    ignored: tuple[tuple[str, int], ...] = ()  # (kind, count) of Calico objects with no effect on policy
    warnings: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.tiers or self.policies or self.network_sets or self.host_endpoints)

    def tier(self, name: str) -> Tier:
        """The tier called ``name``; built-in tiers exist without an object (5.3.3)."""
        for t in self.tiers:
            if t.name == name:
                return t
        if name in BUILTIN_TIERS:
            order, action = BUILTIN_TIERS[name]
            return Tier(name, order, action)
        return Tier(name)

    def address_sets(self) -> list[IPBlock]:
        """Every nets / notNets of every rule, for the address-block partition."""
        return [b for p in self.policies for b in p.address_sets()]
