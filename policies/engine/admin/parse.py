"""Read and validate admin network policies as the API server does (the CRDs' OpenAPI schema
and CEL rules), then default them. Errors name the file, document, line and field.

Sources: ``apis/v1alpha1/{adminnetworkpolicy,baselineadminnetworkpolicy,shared}_types.go`` and
``apis/v1alpha2/clusternetworkpolicy_types.go`` of kubernetes-sigs/network-policy-api
(kubebuilder markers: Minimum/Maximum, MinItems/MaxItems, Min/MaxProperties, Enum, Pattern,
XValidation). https://network-policy-api.sigs.k8s.io/reference/spec/
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from policies.engine.admin.model import ADMIN, BASELINE, AdminPeer, AdminPolicy, AdminPort, AdminRule
from policies.engine.cluster import L4_PROTOCOLS, IPNetwork
from policies.engine.documents import RawObject
from policies.engine.k8s.parse import _PolicyReader, port_name_problem
from policies.engine.k8s.selector import LabelSelector
from policies.engine.yamlload import at, end_line_of, get_int, get_list, get_str

__all__ = ["ADMIN_KINDS", "parse_admin_policy"]

GROUP = "policy.networking.k8s.io"
V1ALPHA1 = f"{GROUP}/v1alpha1"
V1ALPHA2 = f"{GROUP}/v1alpha2"
ADMIN_KINDS = {
    "AdminNetworkPolicy": V1ALPHA1,
    "BaselineAdminNetworkPolicy": V1ALPHA1,
    "ClusterNetworkPolicy": V1ALPHA2,
}
# The DomainName pattern of both API versions (note its [a-zA-z0-9], kept as published).
_DOMAIN = re.compile(r"^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$")
_SUBJECT = frozenset({"namespaces", "pods"})
_NAMESPACED_POD = frozenset({"namespaceSelector", "podSelector"})
_EGRESS_PEER = frozenset({"namespaces", "pods", "nodes", "networks", "domainNames"})


def parse_admin_policy(obj: RawObject) -> tuple[AdminPolicy, list[str]]:
    """One AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy, and warnings."""
    reader = _AdminReader(obj)
    return reader.policy(), reader.warnings


class _AdminReader(_PolicyReader):
    def __init__(self, obj: RawObject) -> None:
        super().__init__(obj)
        self.v2 = obj.kind == "ClusterNetworkPolicy"
        self.max_rules = 25 if self.v2 else 100

    def fail(self, message: str, path: str) -> Exception:
        return self.obj.error(message, path)

    def policy(self) -> AdminPolicy:  # type: ignore[override]
        obj = self.obj
        want = ADMIN_KINDS[obj.kind]
        if obj.api_version != want:
            raise self.fail(f"{obj.kind} apiVersion {obj.api_version!r} is not supported: use {want}", "apiVersion")
        if not obj.name:
            raise self.fail("metadata.name is required", "metadata.name")
        if obj.kind == "BaselineAdminNetworkPolicy" and obj.name != "default":
            raise self.fail('Only one baseline admin network policy with metadata.name="default" can be '
                            f"created in the cluster (this one is named {obj.name!r})", "metadata.name")
        if obj.data.get("spec") is None:
            raise self.fail("spec is required", "spec")
        known = {"subject", "ingress", "egress"}
        if obj.kind != "BaselineAdminNetworkPolicy":
            known.add("priority")
        if self.v2:
            known.add("tier")
        spec = self.mapping(obj.data["spec"], "spec", frozenset(known))
        tier = ADMIN if obj.kind == "AdminNetworkPolicy" else BASELINE
        if self.v2:
            tier = get_str(obj, spec.get("tier"), "spec.tier")
            if tier not in (ADMIN, BASELINE):
                raise self.fail(f"tier must be Admin or Baseline, not {tier!r}", "spec.tier")
        priority = None
        if "priority" in known:
            if spec.get("priority") is None:
                raise self.fail("priority is required", "spec.priority")
            priority = get_int(obj, spec["priority"], "spec.priority")
            if not 0 <= priority <= 1000:
                raise self.fail(f"priority {priority} is outside 0-1000", "spec.priority")
        ns_selector, pod_selector = self.subject(spec.get("subject"))
        ingress = self.rules(spec.get("ingress"), "spec.ingress", "from")
        egress = self.rules(spec.get("egress"), "spec.egress", "to")
        return AdminPolicy(obj.kind, obj.name, tier, priority, ns_selector, pod_selector,
                           ingress, egress, obj.source)

    def exactly_one(self, data: dict[str, Any], path: str, what: str) -> str:
        present = [k for k in data if data[k] is not None]
        if len(present) != 1:
            got = ", ".join(present) if present else "none"
            raise self.fail(f"{what} must set exactly one field (got {got})", path)
        return present[0]

    def subject(self, value: Any) -> tuple[LabelSelector, LabelSelector | None]:
        if value is None:
            raise self.fail("subject is required", "spec.subject")
        data = self.mapping(value, "spec.subject", _SUBJECT)
        key = self.exactly_one({k: data.get(k) for k in _SUBJECT}, "spec.subject",
                               "subject (namespaces or pods)")
        if key == "namespaces":
            return self.selector(data["namespaces"], "spec.subject.namespaces"), None
        return self.namespaced_pod(data["pods"], "spec.subject.pods")

    def namespaced_pod(self, value: Any, path: str) -> tuple[LabelSelector, LabelSelector]:
        data = self.mapping(value, path, _NAMESPACED_POD)
        if data.get("podSelector") is None:
            if self.v2:
                raise self.fail("podSelector is required", at(path, "podSelector"))
            # v1alpha1 declares it required too, but v1alpha1 manifests in the wild (and
            # netpol-analyzer) omit it to mean every pod: read it so, with a warning.
            self.warnings.append(f"{self.obj.source.file}:{self.obj.line_of(path)}: {self.obj.describe()}: "
                                 f"{at(path, 'podSelector')} is missing (required by the API); read as {{}}")
        ns = self.selector(data.get("namespaceSelector") or {}, at(path, "namespaceSelector"))
        return ns, self.selector(data.get("podSelector") or {}, at(path, "podSelector"))

    def rules(self, value: Any, path: str, peers_key: str) -> tuple[AdminRule, ...]:  # type: ignore[override]
        entries = get_list(self.obj, value, path)
        if len(entries) > self.max_rules:
            raise self.fail(f"at most {self.max_rules} rules are allowed, not {len(entries)}", path)
        return tuple(self.admin_rule(e, at(path, i), peers_key) for i, e in enumerate(entries))

    def actions(self) -> tuple[str, ...]:
        if self.v2:
            return ("Accept", "Deny", "Pass")
        if self.obj.kind == "BaselineAdminNetworkPolicy":
            return ("Allow", "Deny")
        return ("Allow", "Deny", "Pass")

    def admin_rule(self, value: Any, path: str, peers_key: str) -> AdminRule:
        ports_key = "protocols" if self.v2 else "ports"
        data = self.mapping(value, path, frozenset({"name", "action", peers_key, ports_key}))
        name = get_str(self.obj, data.get("name"), at(path, "name"))
        if len(name) > 100:
            raise self.fail(f"rule name is {len(name)} characters long; at most 100 are allowed", at(path, "name"))
        action = get_str(self.obj, data.get("action"), at(path, "action"))
        if action not in self.actions():
            raise self.fail(f"action must be one of {', '.join(self.actions())}, not {action!r}", at(path, "action"))
        peers_path = at(path, peers_key)
        raw_peers = get_list(self.obj, data.get(peers_key), peers_path)
        if not raw_peers:
            raise self.fail(f"{peers_key} is required and must have at least one peer", peers_path)
        if len(raw_peers) > self.max_rules:
            raise self.fail(f"at most {self.max_rules} peers are allowed, not {len(raw_peers)}", peers_path)
        peers = tuple(self.admin_peer(p, at(peers_path, i), peers_key == "to") for i, p in enumerate(raw_peers))
        ports = None
        if data.get(ports_key) is not None:
            ports_path = at(path, ports_key)
            entries = get_list(self.obj, data[ports_key], ports_path)
            if not entries:
                raise self.fail(f"{ports_key} must have at least one entry when it is set", ports_path)
            if len(entries) > self.max_rules:
                raise self.fail(f"at most {self.max_rules} {ports_key} are allowed, not {len(entries)}", ports_path)
            read = self.protocol if self.v2 else self.admin_port
            ports = tuple(read(e, at(ports_path, i)) for i, e in enumerate(entries))
        if peers_key == "to" and ports and any(p.name for p in ports):
            bad = next((p for p in peers if p.kind in ("networks", "nodes", "domainNames")), None)
            if bad is not None:
                # A CEL rule of the experimental CRDs only (named ports are experimental): a warning
                # here, and a named port never matches a node or a network address.
                self.warnings.append(
                    f"{self.obj.source.file}:{self.obj.line_of(path)}: {self.obj.describe()}: {path}: "
                    f"{bad.kind} peer cannot be set with named ports since there are no named ports for "
                    "networks/nodes/domainNames (the experimental CRD rejects this rule)")
        spelled = action
        canonical = "Accept" if action == "Allow" else action
        return AdminRule(name, canonical, peers, ports, spelled,  # type: ignore[arg-type]
                         self.obj.line_of(path), end_line_of(self.obj, path))

    def admin_peer(self, value: Any, path: str, egress: bool) -> AdminPeer:
        known = _EGRESS_PEER if egress else _SUBJECT
        if egress and self.obj.kind == "BaselineAdminNetworkPolicy":
            known = known - {"domainNames"}
        data = self.mapping(value, path, frozenset(known))
        kind = self.exactly_one({k: data.get(k) for k in known}, path, "a peer (" + ", ".join(sorted(known)) + ")")
        line = self.obj.line_of(path)
        field = at(path, kind)
        if kind == "namespaces":
            return AdminPeer("namespaces", namespace_selector=self.selector(data[kind], field), line=line)
        if kind == "pods":
            ns, pod = self.namespaced_pod(data[kind], field)
            return AdminPeer("pods", namespace_selector=ns, pod_selector=pod, line=line)
        if kind == "nodes":
            return AdminPeer("nodes", node_selector=self.selector(data[kind], field), line=line)
        entries = self.string_set(data[kind], field)
        if kind == "networks":
            return AdminPeer("networks", networks=tuple(self.network(e, at(field, i)) for i, e in enumerate(entries)),
                             line=line)
        for i, name in enumerate(entries):
            if not _DOMAIN.match(name):
                raise self.fail(f"{name!r} is not a domain name such as example.com or *.example.com", at(field, i))
        return AdminPeer("domainNames", domain_names=tuple(entries), line=line)

    def string_set(self, value: Any, path: str) -> list[str]:
        entries = [get_str(self.obj, e, at(path, i)) for i, e in enumerate(get_list(self.obj, value, path))]
        if not entries:
            raise self.fail("must have at least one entry", path)
        if len(entries) > 25:
            raise self.fail(f"at most 25 entries are allowed, not {len(entries)}", path)
        for i, e in enumerate(entries):
            if e in entries[:i]:
                raise self.fail(f"duplicate entry {e!r} (the list is a set)", at(path, i))
        return entries

    def network(self, text: str, path: str) -> IPNetwork:
        if len(text) > 43:
            raise self.fail(f"{text!r} is longer than 43 characters", path)
        try:
            if "/" not in text:
                raise ValueError(text)
            return ipaddress.ip_network(text, strict=False)  # CEL isCIDR accepts host bits
        except ValueError as exc:
            raise self.fail(f"Invalid CIDR format provided: {text!r}", path) from exc

    def number(self, value: Any, path: str) -> int:
        number = get_int(self.obj, value, path)
        if not 1 <= number <= 65535:
            raise self.fail(f"port {number} is outside 1-65535", path)
        return number

    def l4(self, value: Any, path: str) -> str:
        protocol = get_str(self.obj, value, path, default="TCP")  # +kubebuilder:default=TCP
        if protocol not in L4_PROTOCOLS:
            raise self.fail(f"protocol must be TCP, UDP or SCTP, not {protocol!r}", path)
        return protocol

    def port_name(self, value: Any, path: str) -> str:
        name = get_str(self.obj, value, path)
        problem = port_name_problem(name)
        if problem:
            raise self.fail(f"named port {name!r} is not a valid port name: it {problem}", path)
        return name

    def port_range(self, value: Any, path: str, protocol: str) -> AdminPort:
        data = self.mapping(value, path, frozenset({"start", "end", "protocol"} if not self.v2 else {"start", "end"}))
        for key in ("start", "end"):
            if data.get(key) is None:
                raise self.fail(f"{key} is required", at(path, key))
        start, end = self.number(data["start"], at(path, "start")), self.number(data["end"], at(path, "end"))
        if not start < end:
            raise self.fail(f"Start port must be less than End port ({start} is not less than {end})", path)
        return AdminPort(protocol, start, end, line=self.obj.line_of(path))

    def admin_port(self, value: Any, path: str) -> AdminPort:
        """A v1alpha1 AdminNetworkPolicyPort: portNumber, namedPort or portRange."""
        data = self.mapping(value, path, frozenset({"portNumber", "namedPort", "portRange"}))
        key = self.exactly_one({k: data.get(k) for k in ("portNumber", "namedPort", "portRange")}, path,
                               "a port (portNumber, namedPort or portRange)")
        field, line = at(path, key), self.obj.line_of(path)
        if key == "namedPort":
            return AdminPort("", name=self.port_name(data[key], field), line=line)
        if key == "portRange":
            raw = self.mapping(data[key], field, frozenset({"protocol", "start", "end"}))
            return self.port_range(raw, field, self.l4(raw.get("protocol"), at(field, "protocol")))
        raw = self.mapping(data[key], field, frozenset({"protocol", "port"}))
        if raw.get("port") is None:
            raise self.fail("port is required", at(field, "port"))
        protocol = self.l4(raw.get("protocol"), at(field, "protocol"))
        return AdminPort(protocol, self.number(raw["port"], at(field, "port")), line=line)

    def protocol(self, value: Any, path: str) -> AdminPort:
        """A v1alpha2 ClusterNetworkPolicyProtocol: tcp, udp, sctp or destinationNamedPort."""
        keys = ("tcp", "udp", "sctp", "destinationNamedPort")
        data = self.mapping(value, path, frozenset(keys))
        key = self.exactly_one({k: data.get(k) for k in keys}, path,
                               "a protocol (tcp, udp, sctp or destinationNamedPort)")
        field, line = at(path, key), self.obj.line_of(path)
        if key == "destinationNamedPort":
            return AdminPort("", name=self.port_name(data[key], field), line=line)
        raw = self.mapping(data[key], field, frozenset({"destinationPort"}))
        if raw.get("destinationPort") is None:
            raise self.fail("destinationPort is required (the protocol must set at least one field)",
                            at(field, "destinationPort"))
        port_path = at(field, "destinationPort")
        port = self.mapping(raw["destinationPort"], port_path, frozenset({"number", "range"}))
        which = self.exactly_one({k: port.get(k) for k in ("number", "range")}, port_path,
                                 "destinationPort (number or range)")
        protocol = key.upper()
        if which == "range":
            return self.port_range(port["range"], at(port_path, "range"), protocol)
        return AdminPort(protocol, self.number(port["number"], at(port_path, "number")), line=line)
