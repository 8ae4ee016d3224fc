"""Kubernetes NetworkPolicy manifests into the engine's model, validated and defaulted.

Validation follows the API server (SEMANTICS.md 3 and 4.1), defaulting follows 4.2; every error
names the file, document, line and field. The admin policy kinds are out of scope: only their
subject is read.
https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from policies.engine.cluster import L4_PROTOCOLS, IPBlock, IPNetwork
from policies.engine.documents import RawObject
from policies.engine.k8s.model import NetworkPolicy, Peer, PortSpec, Rule
from policies.engine.k8s.selector import OPERATORS, LabelSelector, Requirement
from policies.engine.workloads import object_name, object_namespace
from policies.engine.yamlload import at, end_line_of, get_int, get_list, get_mapping, get_str

__all__ = ["NETWORK_POLICY_API", "parse_label_selector", "parse_network_policy",
           "port_name_problem"]

NETWORK_POLICY_API = "networking.k8s.io/v1"

# IANA_SVC_NAME (IsValidPortName): at most 15 of [a-z0-9-], a letter, no leading/trailing/double "-".
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_LETTER = re.compile(r"[a-z]")
# Label keys are qualified names: an optional DNS subdomain prefix and a name (IsQualifiedName).
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CIDR = re.compile(r"^[0-9A-Fa-f.:]+/[0-9]{1,3}$")

_SPEC_FIELDS = frozenset({"podSelector", "ingress", "egress", "policyTypes"})
_PORT_FIELDS = frozenset({"protocol", "port", "endPort"})
_PEER_FIELDS = frozenset({"podSelector", "namespaceSelector", "ipBlock"})
_SELECTOR_FIELDS = frozenset({"matchLabels", "matchExpressions"})


def parse_network_policy(obj: RawObject) -> tuple[NetworkPolicy, list[str]]:
    """A networking.k8s.io/v1 NetworkPolicy, validated (4.1) and defaulted (4.2); plus warnings."""
    return _PolicyReader(obj).policy()


def parse_label_selector(obj: RawObject, value: Any, path: str) -> LabelSelector:
    """A metav1.LabelSelector, validated as the API server does (SEMANTICS.md 3)."""
    return _PolicyReader(obj).selector(value, path)


class _PolicyReader:
    def __init__(self, obj: RawObject) -> None:
        self.obj = obj
        self.warnings: list[str] = []

    def policy(self) -> tuple[NetworkPolicy, list[str]]:
        obj = self.obj
        if obj.api_version not in (NETWORK_POLICY_API, ""):
            raise obj.error(
                f"NetworkPolicy apiVersion {obj.api_version!r} is not supported: use {NETWORK_POLICY_API} "
                "(Calico policies use projectcalico.org/v3)",
                "apiVersion",
            )
        namespace, name = object_namespace(obj), object_name(obj)
        spec = self.mapping(obj.data.get("spec"), "spec", _SPEC_FIELDS)
        selector = spec.get("podSelector")
        pod_selector = LabelSelector() if selector is None else self.selector(selector, "spec.podSelector")
        ingress = self.rules(spec.get("ingress"), "spec.ingress", "from")
        egress = self.rules(spec.get("egress"), "spec.egress", "to")
        types = self.policy_types(spec.get("policyTypes"))
        if not types:
            types = {"Ingress", "Egress"} if egress else {"Ingress"}  # D2
        policy = NetworkPolicy(namespace, name, pod_selector, frozenset(types), ingress, egress, obj.source)
        return policy, self.warnings

    def mapping(self, value: Any, path: str, known: frozenset[str]) -> dict[str, Any]:
        data = get_mapping(self.obj, value, path)
        for key in data:
            if key not in known:
                where = f"{self.obj.source.file}:{self.obj.line_of(at(path, key))}"
                self.warnings.append(f"{where}: {self.obj.describe()}: unknown field {at(path, key)} is ignored")
        return data

    def policy_types(self, value: Any) -> set[str]:
        path = "spec.policyTypes"
        entries = get_list(self.obj, value, path)
        if len(entries) > 2:
            raise self.obj.error("may not specify more than two policyTypes", path)
        types = set()
        for i, entry in enumerate(entries):
            text = get_str(self.obj, entry, at(path, i))
            if text not in ("Ingress", "Egress"):
                raise self.obj.error(f"policy type must be Ingress or Egress, not {text!r}", at(path, i))
            types.add(text)
        return types

    def rules(self, value: Any, path: str, peers_key: str) -> tuple[Rule, ...]:
        entries = get_list(self.obj, value, path)
        return tuple(self.rule(entry, at(path, i), peers_key) for i, entry in enumerate(entries))

    def rule(self, value: Any, path: str, peers_key: str) -> Rule:
        data = self.mapping(value, path, frozenset({peers_key, "ports"}))
        peers_path, ports_path = at(path, peers_key), at(path, "ports")
        peers = get_list(self.obj, data.get(peers_key), peers_path)
        ports = get_list(self.obj, data.get("ports"), ports_path)
        return Rule(
            peers=tuple(self.peer(p, at(peers_path, i)) for i, p in enumerate(peers)),
            ports=tuple(self.port(p, at(ports_path, i)) for i, p in enumerate(ports)),
            line=self.obj.line_of(path),
            end_line=end_line_of(self.obj, path),
        )

    def peer(self, value: Any, path: str) -> Peer:
        data = self.mapping(value, path, _PEER_FIELDS)
        pods, namespaces, block = data.get("podSelector"), data.get("namespaceSelector"), data.get("ipBlock")
        ns_path = at(path, "namespaceSelector")
        peer = Peer(
            pod_selector=None if pods is None else self.selector(pods, at(path, "podSelector")),
            namespace_selector=None if namespaces is None else self.selector(namespaces, ns_path),
            ip_block=None if block is None else self.ip_block(block, at(path, "ipBlock")),
            line=self.obj.line_of(path),
        )
        if pods is None and namespaces is None and block is None:
            raise self.obj.error("a peer must set podSelector, namespaceSelector or ipBlock", path)
        if block is not None and (pods is not None or namespaces is not None):
            raise self.obj.error("ipBlock may not be combined with podSelector or namespaceSelector", path)
        return peer

    def ip_block(self, value: Any, path: str) -> IPBlock:
        data = self.mapping(value, path, frozenset({"cidr", "except"}))
        cidr_path = at(path, "cidr")
        if data.get("cidr") in (None, ""):
            raise self.obj.error("ipBlock.cidr is required", cidr_path)
        cidr = self.cidr(data["cidr"], cidr_path)
        excepts: list[IPNetwork] = []
        except_path = at(path, "except")
        for i, entry in enumerate(get_list(self.obj, data.get("except"), except_path)):
            net = self.cidr(entry, at(except_path, i))
            if not _strict_subnet(net, cidr):
                raise self.obj.error(f"except {entry!r} must be a strict subset of cidr {cidr}", at(except_path, i))
            excepts.append(net)
        return IPBlock(cidr, tuple(excepts))

    def cidr(self, value: Any, path: str) -> IPNetwork:
        text = get_str(self.obj, value, path)
        try:
            if not _CIDR.match(text):
                raise ValueError(text)
            return ipaddress.ip_network(text, strict=False)  # host bits are masked off
        except ValueError as exc:
            raise self.obj.error(f"{text!r} is not a valid CIDR such as 10.0.0.0/16", path) from exc

    def port(self, value: Any, path: str) -> PortSpec:
        data = self.mapping(value, path, _PORT_FIELDS)
        protocol = get_str(self.obj, data.get("protocol"), at(path, "protocol"), default="TCP")  # D3
        if protocol not in L4_PROTOCOLS:
            raise self.obj.error(f"protocol must be TCP, UDP or SCTP, not {protocol!r}", at(path, "protocol"))
        port = self.port_value(data.get("port"), at(path, "port"))
        end_port = None
        end_path = at(path, "endPort")
        if data.get("endPort") is not None:
            end_port = get_int(self.obj, data["endPort"], end_path)
            if port is None:
                raise self.obj.error("endPort may not be set without port", end_path)
            if isinstance(port, str):
                raise self.obj.error(f"endPort may not be set when port is a name ({port!r})", end_path)
            if end_port < port:
                raise self.obj.error(f"endPort {end_port} must not be less than port {port}", end_path)
            if not 1 <= end_port <= 65535:
                raise self.obj.error(f"endPort {end_port} is outside 1-65535", end_path)
        return PortSpec(protocol, port, end_port, line=self.obj.line_of(path))

    def port_value(self, value: Any, path: str) -> int | str | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= 65535:
                raise self.obj.error(f"port {value} is outside 1-65535", path)
            return value
        if not isinstance(value, str):
            raise self.obj.error(f"port must be a number or a port name, not {value!r}", path)
        problem = port_name_problem(value)
        if problem:
            hint = "; a port number must not be quoted" if value.isdigit() else ""
            raise self.obj.error(f"port {value!r} is not a valid port name: it {problem}{hint}", path)
        return value

    def selector(self, value: Any, path: str) -> LabelSelector:
        data = self.mapping(value, path, _SELECTOR_FIELDS)
        requirements: list[Requirement] = []
        labels_path = at(path, "matchLabels")
        for key, val in get_mapping(self.obj, data.get("matchLabels"), labels_path).items():
            self.label_key(key, at(labels_path, key))
            text = get_str(self.obj, val, at(labels_path, key))
            self.label_value(text, at(labels_path, key))
            requirements.append(Requirement(key, "In", frozenset([text])))
        exprs_path = at(path, "matchExpressions")
        for i, entry in enumerate(get_list(self.obj, data.get("matchExpressions"), exprs_path)):
            requirements.append(self.requirement(entry, at(exprs_path, i)))
        unique = dict.fromkeys(sorted(requirements, key=lambda r: (r.key, r.operator, sorted(r.values))))
        return LabelSelector(tuple(unique))

    def requirement(self, value: Any, path: str) -> Requirement:
        data = self.mapping(value, path, frozenset({"key", "operator", "values"}))
        key = get_str(self.obj, data.get("key"), at(path, "key"))
        if not key:
            raise self.obj.error("key is required", at(path, "key"))
        self.label_key(key, at(path, "key"))
        operator = get_str(self.obj, data.get("operator"), at(path, "operator"))
        values_path = at(path, "values")
        entries = get_list(self.obj, data.get("values"), values_path)
        values = [get_str(self.obj, v, at(values_path, i)) for i, v in enumerate(entries)]
        op = next((o for o in OPERATORS if o == operator), None)
        if op is None:
            raise self.obj.error(
                f"operator must be one of {', '.join(OPERATORS)}, not {operator!r}", at(path, "operator")
            )
        if op in ("In", "NotIn") and not values:
            raise self.obj.error(f"values must be non-empty when operator is {op}", values_path)
        if op in ("Exists", "DoesNotExist") and values:
            raise self.obj.error(f"values must be empty when operator is {op}", values_path)
        for i, text in enumerate(values):
            self.label_value(text, at(values_path, i))
        return Requirement(key, op, frozenset(values))

    def label_key(self, key: str, path: str) -> None:
        prefix, _, name = key.rpartition("/")
        ok = bool(_LABEL_NAME.match(name)) and len(name) <= 63
        if "/" in key:
            ok = ok and bool(_DNS_SUBDOMAIN.match(prefix)) and len(prefix) <= 253
        if not ok:
            raise self.obj.error(
                f"{key!r} is not a valid label key: an optional DNS prefix and '/', then at most 63 of "
                "[A-Za-z0-9-_.] that start and end with a letter or digit",
                path,
            )

    def label_value(self, value: str, path: str) -> None:
        if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
            raise self.obj.error(
                f"{value!r} is not a valid label value: at most 63 of [A-Za-z0-9-_.] that start and end "
                "with a letter or digit",
                path,
            )


def _strict_subnet(inner: IPNetwork, outer: IPNetwork) -> bool:
    """``inner`` lies inside ``outer`` and has a longer prefix (ValidateIPBlock)."""
    if inner.version != outer.version or inner.prefixlen <= outer.prefixlen:
        return False
    return inner.network_address in outer


def port_name_problem(name: str) -> str:
    """Why ``name`` is not an IANA_SVC_NAME, or "" when it is one (apimachinery IsValidPortName)."""
    if len(name) > 15:
        return "must be no more than 15 characters"
    if not _PORT_NAME_CHARS.match(name):
        return "must contain only lower-case letters (a-z), digits (0-9) and hyphens (-)"
    if not _LETTER.search(name):
        return "must contain at least one letter (a-z)"
    if "--" in name:
        return "must not contain consecutive hyphens"
    if name.startswith("-") or name.endswith("-"):
        return "must not begin or end with a hyphen"
    return ""
