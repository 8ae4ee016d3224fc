"""Calico objects (projectcalico.org/v3 and crd.projectcalico.org/v1) to the Calico model.

Applies Calico's defaults (SEMANTICS.md 5.3: tier ``default``, absent order = +inf, empty
selector = all(), ``types`` from the rules present) and the API server's validation (5.5.1).
Network sets, host endpoints, staged policies and untracked / pre-DNAT policies are out of scope
(0.3): they are recorded or counted, and the evaluator reports what they could change.
https://docs.tigera.io/calico/latest/reference/resources/networkpolicy
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from policies.engine.calico.model import (
    BUILTIN_TIERS,
    DEFAULT_TIER,
    DEFAULT_TIER_ORDER,
    Action,
    CalicoPolicy,
    CalicoResources,
    CalicoRule,
    DefaultAction,
    EntityRule,
    HostEndpoint,
    NetworkSet,
    PolicyKind,
    PortMatch,
    Tier,
)
from policies.engine.calico.selector import (
    CalicoSelectorError,
    Selector,
    global_column,
    parse_selector,
)
from policies.engine.cluster import IPAddress, IPNetwork, Labels
from policies.engine.documents import RawObject

API_VERSIONS = ("projectcalico.org/v3", "crd.projectcalico.org/v1")
POLICY_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy")
STAGED_KINDS = ("StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy")
NETWORK_SET_KINDS = ("NetworkSet", "GlobalNetworkSet")

ACTIONS = ("Allow", "Deny", "Pass", "Log")
PROTOCOL_NAMES = ("TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite")  # CAL-VALID protocolRegex
PROTOCOL_NUMBERS = {"ICMP": 1, "TCP": 6, "UDP": 17, "ICMPv6": 58, "SCTP": 132, "UDPLite": 136}
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")  # CAL-PROTO SupportsPorts
ICMP_PROTOCOLS = ("ICMP", "ICMPv6")

_RULE_FIELDS = {
    "action",
    "protocol",
    "notProtocol",
    "icmp",
    "notICMP",
    "ipVersion",
    "source",
    "destination",
    "http",
    "metadata",
}
_ENTITY_FIELDS = {
    "nets",
    "notNets",
    "selector",
    "notSelector",
    "namespaceSelector",
    "ports",
    "notPorts",
    "serviceAccounts",
    "services",
}
_POLICY_FIELDS = {
    "tier",
    "order",
    "selector",
    "serviceAccountSelector",
    "types",
    "ingress",
    "egress",
    "performanceHints",
}
_GNP_FIELDS = _POLICY_FIELDS | {"namespaceSelector", "doNotTrack", "preDNAT", "applyOnForward"}
_PORT_RANGE = re.compile(r"^(\d+):(\d+)$")
# Generated profiles (5.3.5) and the one Calico creates for automatic host endpoints.
_GENERATED_PROFILE = re.compile(r"^(kns\.[^.]+|ksa\.[^.]+\..+|projectcalico-default-allow)$")


def is_calico_api_version(api_version: str) -> bool:
    return api_version.split("/")[0] in ("projectcalico.org", "crd.projectcalico.org")


def parse_calico_objects(objects: Sequence[RawObject], namespaces: Sequence[str]) -> CalicoResources:
    """Parse every Calico object of the input; raise PolicyError on the first invalid one."""
    builder = _Builder(namespaces)
    for obj in objects:
        builder.add(obj)
    return builder.finish()


# -- field helpers ------------------------------------------------------------------------------


def _mapping(obj: RawObject, value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise obj.error(f"expected a mapping, got {type(value).__name__}", path)
    return value


def _list(obj: RawObject, value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise obj.error(f"expected a list, got {type(value).__name__}", path)
    return value


def _string(obj: RawObject, value: Any, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise obj.error(f"expected a string, got {type(value).__name__}", path)
    return value


def _int(obj: RawObject, value: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise obj.error(f"expected an integer, got {value!r}", path)
    if not lo <= value <= hi:
        raise obj.error(f"{value} is outside {lo}-{hi}", path)
    return value


def _order(obj: RawObject, value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise obj.error(f"order must be a number, got {value!r}", path)
    if math.isnan(value) or math.isinf(value):
        raise obj.error("order must be a finite number", path)
    return float(value)


def _labels(obj: RawObject, value: Any, path: str) -> Labels:
    data = _mapping(obj, value, path)
    return Labels({str(k): "" if v is None else str(v) for k, v in data.items()})


def _selector(obj: RawObject, value: Any, path: str) -> Selector | None:
    """A selector field; None when absent or blank (which Calico reads as all())."""
    text = _string(obj, value, path)
    if not text.strip(" \t"):
        return None
    try:
        return parse_selector(text)
    except CalicoSelectorError as exc:
        raise CalicoSelectorError(
            exc.reason,
            column=exc.column,
            selector=exc.selector,
            file=obj.source.file,
            document=obj.source.document,
            line=obj.line_of(path),
            path=path,
            obj=obj.describe(),
        ) from None


def _reject_global(obj: RawObject, sel: Selector | None, value: Any, path: str, where: str) -> None:
    if sel is not None and sel.uses_global():
        raise CalicoSelectorError(
            f"global() cannot be used in {where}; it is only valid in an EntityRule namespaceSelector",
            column=global_column(str(value)),
            selector=str(value),
            file=obj.source.file,
            document=obj.source.document,
            line=obj.line_of(path),
            path=path,
            obj=obj.describe(),
        )


def _protocol(obj: RawObject, value: Any, path: str) -> str | None:
    """A rule protocol as the canonical name (names and numbers are the same protocol, 5.5.1)."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, bool):
        raise obj.error(f"invalid protocol {value!r}", path)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit():
        number = int(value)
    elif isinstance(value, str):
        if value in PROTOCOL_NAMES:
            return value
        hint = next((n for n in PROTOCOL_NAMES if n.lower() == value.lower()), None)
        extra = f"; did you mean {hint}?" if hint else ""
        raise obj.error(
            f"invalid protocol {value!r}: use one of {', '.join(PROTOCOL_NAMES)} or a number 1-255{extra}",
            path,
        )
    else:
        raise obj.error(f"invalid protocol {value!r}", path)
    if not 1 <= number <= 255:
        raise obj.error(f"protocol number {number} is outside 1-255", path)
    by_number = {v: k for k, v in PROTOCOL_NUMBERS.items()}
    return by_number.get(number, str(number))


def _port(obj: RawObject, value: Any, path: str) -> PortMatch:
    if isinstance(value, bool):
        raise obj.error(f"invalid port {value!r}", path)
    if isinstance(value, int):
        n = _int(obj, value, path, 0, 65535)
        return (n, n)
    if not isinstance(value, str) or not value.strip():
        raise obj.error(f"invalid port {value!r}", path)
    text = value.strip()
    if text.isdigit():
        n = _int(obj, int(text), path, 0, 65535)
        return (n, n)
    m = _PORT_RANGE.match(text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        for n in (lo, hi):
            _int(obj, n, path, 0, 65535)
        if lo > hi:
            raise obj.error(f"port range {text!r} has its minimum above its maximum", path)
        return (lo, hi)
    if ":" in text or any(c.isspace() for c in text):
        raise obj.error(f'invalid port {value!r}: use a number, a range "lo:hi" or a port name', path)
    return text


def _ports(obj: RawObject, value: Any, path: str) -> tuple[PortMatch, ...]:
    return tuple(_port(obj, v, f"{path}[{i}]") for i, v in enumerate(_list(obj, value, path)))


def _nets(obj: RawObject, value: Any, path: str) -> tuple[IPNetwork, ...]:
    out: list[IPNetwork] = []
    for i, v in enumerate(_list(obj, value, path)):
        text = _string(obj, v, f"{path}[{i}]").strip()
        try:
            # Host bits are masked off, and a bare address is a full-length prefix (CAL-RULES).
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise obj.error(f"invalid CIDR {text!r}", f"{path}[{i}]") from None
    return tuple(out)


def _icmp(obj: RawObject, value: Any, path: str) -> tuple[int | None, int | None]:
    data = _mapping(obj, value, path)
    for key in data:
        if key not in ("type", "code"):
            raise obj.error(f"unknown field {key!r}; ICMP matches take type and code", f"{path}.{key}")
    icmp_type = None if data.get("type") is None else _int(obj, data["type"], f"{path}.type", 0, 254)
    code = None if data.get("code") is None else _int(obj, data["code"], f"{path}.code", 0, 255)
    if code is not None and icmp_type is None:
        raise obj.error("an ICMP code needs an ICMP type", f"{path}.code")
    return icmp_type, code


def _line_span(obj: RawObject, path: str) -> tuple[int, int]:
    line = obj.line_of(path)
    inner = [
        n for p, n in obj.lines.items() if p == path or p.startswith(path + ".") or p.startswith(path + "[")
    ]
    return line, max([line, *inner])


# -- rules ------------------------------------------------------------------------------------------


class _RuleParser:
    def __init__(self, obj: RawObject, warnings: list[str]) -> None:
        self.obj = obj
        self.warnings = warnings

    def unknown(self, data: Mapping[str, Any], known: set[str], path: str) -> None:
        for key in data:
            if key not in known:
                self.warnings.append(f"{path}.{key}: unknown field, ignored")

    def entity(self, value: Any, path: str) -> tuple[EntityRule, list[str]]:
        obj = self.obj
        data = _mapping(obj, value, path)
        self.unknown(data, _ENTITY_FIELDS, path)
        unsupported: list[str] = []
        selector = _selector(obj, data.get("selector"), f"{path}.selector")
        _reject_global(obj, selector, data.get("selector"), f"{path}.selector", "an EntityRule selector")
        not_selector = _selector(obj, data.get("notSelector"), f"{path}.notSelector")
        _reject_global(
            obj, not_selector, data.get("notSelector"), f"{path}.notSelector", "an EntityRule notSelector"
        )
        ns_path = f"{path}.namespaceSelector"
        namespace_selector = _selector(obj, data.get("namespaceSelector"), ns_path)
        if (
            namespace_selector is not None
            and namespace_selector.uses_global()
            and str(namespace_selector) != "global()"
        ):
            raise CalicoSelectorError(
                "global() cannot be combined with other selectors",
                column=global_column(str(data.get("namespaceSelector"))),
                selector=str(data["namespaceSelector"]),
                file=obj.source.file,
                document=obj.source.document,
                line=obj.line_of(ns_path),
                path=ns_path,
                obj=obj.describe(),
            )
        sa = _mapping(obj, data.get("serviceAccounts"), f"{path}.serviceAccounts")
        for key in sa:
            if key not in ("names", "selector"):
                self.warnings.append(f"{path}.serviceAccounts.{key}: unknown field, ignored")
        names = tuple(
            _string(obj, n, f"{path}.serviceAccounts.names[{i}]")
            for i, n in enumerate(_list(obj, sa.get("names"), f"{path}.serviceAccounts.names"))
        )
        sa_path = f"{path}.serviceAccounts.selector"
        sa_selector = _selector(obj, sa.get("selector"), sa_path)
        services = ""
        if data.get("services") is not None:
            svc = _mapping(obj, data["services"], f"{path}.services")
            name = _string(obj, svc.get("name"), f"{path}.services.name")
            if not name:
                raise obj.error("must specify a service name", f"{path}.services.name")
            ns = _string(obj, svc.get("namespace"), f"{path}.services.namespace")
            services = f"{ns}/{name}" if ns else name
            unsupported.append(f"{path.rsplit('.', 1)[-1]}.services")
        entity = EntityRule(
            nets=_nets(obj, data.get("nets"), f"{path}.nets"),
            not_nets=_nets(obj, data.get("notNets"), f"{path}.notNets"),
            selector=selector,
            not_selector=not_selector,
            namespace_selector=namespace_selector,
            service_accounts_names=names,
            service_accounts_selector=sa_selector,
            ports=_ports(obj, data.get("ports"), f"{path}.ports"),
            not_ports=_ports(obj, data.get("notPorts"), f"{path}.notPorts"),
            services=services,
            line=obj.line_of(path),
        )
        return entity, unsupported

    def rule(self, value: Any, path: str) -> CalicoRule:
        obj = self.obj
        data = _mapping(obj, value, path)
        self.unknown(data, _RULE_FIELDS, path)
        action = data.get("action")
        if action not in ACTIONS:
            what = "is missing" if action is None else f"{action!r} is not valid"
            raise obj.error(f"the rule action {what}; use one of {', '.join(ACTIONS)}", f"{path}.action")
        protocol = _protocol(obj, data.get("protocol"), f"{path}.protocol")
        not_protocol = _protocol(obj, data.get("notProtocol"), f"{path}.notProtocol")
        icmp_type, icmp_code = _icmp(obj, data.get("icmp"), f"{path}.icmp")
        not_icmp_type, not_icmp_code = _icmp(obj, data.get("notICMP"), f"{path}.notICMP")
        if data.get("icmp") is not None and protocol not in ICMP_PROTOCOLS:
            raise obj.error(
                "rules that specify ICMP fields must set protocol to ICMP or ICMPv6", f"{path}.icmp"
            )
        ip_version = None
        if data.get("ipVersion") is not None:
            ip_version = data["ipVersion"]
            if ip_version not in (4, 6) or isinstance(ip_version, bool):
                raise obj.error(f"ipVersion must be 4 or 6, got {ip_version!r}", f"{path}.ipVersion")
        for proto, need in (("ICMP", 4), ("ICMPv6", 6)):
            if (protocol == proto or not_protocol == proto) and ip_version not in (None, need):
                raise obj.error(f"must set ipVersion to {need} with protocol {proto}", f"{path}.ipVersion")
        source, src_unsupported = self.entity(data.get("source"), f"{path}.source")
        destination, dst_unsupported = self.entity(data.get("destination"), f"{path}.destination")
        # Numeric ports need a protocol that has ports; named ports alone may omit it (CAL-VALID).
        for end, where in ((source, "source"), (destination, "destination")):
            for field_name, ports in (("ports", end.ports), ("notPorts", end.not_ports)):
                if any(not isinstance(p, str) for p in ports) and protocol not in PORT_PROTOCOLS:
                    raise obj.error(
                        "rules that specify numeric ports must set protocol to TCP, UDP or SCTP",
                        f"{path}.{where}.{field_name}",
                    )
        versions = {
            n.version for n in (*source.nets, *source.not_nets, *destination.nets, *destination.not_nets)
        }
        if len(versions) > 1:
            raise obj.error("rule contains both IPv4 and IPv6 CIDRs", path)
        if ip_version is not None and versions and versions != {ip_version}:
            raise obj.error("rule ipVersion does not match the version of its CIDRs", f"{path}.ipVersion")
        unsupported = src_unsupported + dst_unsupported
        if data.get("http") is not None:
            if action != "Allow":
                raise obj.error("http matches are only valid on Allow rules", f"{path}.http")
            if protocol not in (None, "TCP"):
                raise obj.error(
                    "rules that specify HTTP fields must set protocol to TCP or leave it empty",
                    f"{path}.protocol",
                )
            unsupported.insert(0, "http")
        if destination.services and (destination.ports or destination.not_ports):
            raise obj.error("cannot specify ports with a service match", f"{path}.destination.services")
        for end, where in ((source, "source"), (destination, "destination")):
            if end.services and (
                end.selector
                or end.not_selector
                or end.namespace_selector
                or end.has_service_accounts
                or end.nets
                or end.not_nets
            ):
                raise obj.error(
                    "services cannot be combined with selectors, service accounts or nets",
                    f"{path}.{where}.services",
                )
        line, end_line = _line_span(obj, path)
        return CalicoRule(
            action=cast(Action, action),
            protocol=protocol,
            not_protocol=not_protocol,
            icmp_type=icmp_type,
            icmp_code=icmp_code,
            not_icmp_type=not_icmp_type,
            not_icmp_code=not_icmp_code,
            ip_version=ip_version,
            source=source,
            destination=destination,
            line=line,
            end_line=end_line,
            unsupported=tuple(unsupported),
        )


def default_types(ingress: Sequence[object], egress: Sequence[object]) -> frozenset[str]:
    """Calico's ``types`` default (5.3.4); it differs from Kubernetes' policyTypes default."""
    if not egress:
        return frozenset({"Ingress"})
    if not ingress:
        return frozenset({"Egress"})
    return frozenset({"Ingress", "Egress"})


# -- objects ------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, namespaces: Sequence[str]) -> None:
        self.namespaces = set(namespaces)
        self.tiers: dict[str, Tier] = {}
        self.policies: dict[tuple[str, str, str], CalicoPolicy] = {}
        self.profiles: list[str] = []
        self.network_sets: dict[tuple[str, str, str], NetworkSet] = {}
        self.host_endpoints: dict[str, HostEndpoint] = {}
        self.staged = 0
        self.ignored: Counter[str] = Counter()
        self.warnings: list[str] = []

    def add(self, obj: RawObject) -> None:
        if obj.api_version not in API_VERSIONS:
            if is_calico_api_version(obj.api_version):
                raise obj.error(
                    f"unsupported apiVersion {obj.api_version!r}; use one of {', '.join(API_VERSIONS)}",
                    "apiVersion",
                )
            raise obj.error(f"{obj.api_version} {obj.kind} is not a Calico object", "apiVersion")
        if not obj.name:
            raise obj.error("metadata.name is required", "metadata.name")
        if obj.kind in POLICY_KINDS:
            self.add_policy(obj)
        elif obj.kind == "Tier":
            self.add_tier(obj)
        elif obj.kind in STAGED_KINDS:
            self.staged += 1  # staged policies never enforce (0.3)
        elif obj.kind == "Profile":
            self.add_profile(obj)
        elif obj.kind in NETWORK_SET_KINDS:
            self.add_network_set(obj)
        elif obj.kind == "HostEndpoint":
            self.add_host_endpoint(obj)
        elif obj.kind == "FelixConfiguration":
            self.add_felix_configuration(obj)
            self.ignored[obj.kind] += 1
        else:
            self.ignored[obj.kind] += 1

    # -- policies ---------------------------------------------------------------------------------

    def add_policy(self, obj: RawObject) -> None:
        kind = cast(PolicyKind, obj.kind)
        spec = _mapping(obj, obj.data.get("spec"), "spec")
        warnings: list[str] = []
        rp = _RuleParser(obj, warnings)
        known = _GNP_FIELDS if kind == "GlobalNetworkPolicy" else _POLICY_FIELDS
        rp.unknown(spec, known, "spec")
        if kind == "GlobalNetworkPolicy":
            namespace = ""
            if obj.namespace:
                warnings.append("metadata.namespace is ignored: a GlobalNetworkPolicy is cluster-scoped")
            for flag in ("doNotTrack", "preDNAT"):
                if spec.get(flag) is True:
                    self.warnings.append(
                        f"{obj.describe()} ({obj.source}): {flag} policies apply only to host endpoints, "
                        "so it is ignored for pods (SEMANTICS 0.3)"
                    )
                    return
        else:
            namespace = obj.namespace or "default"
        tier = _string(obj, spec.get("tier"), "spec.tier") or DEFAULT_TIER
        selector = _selector(obj, spec.get("selector"), "spec.selector")
        _reject_global(obj, selector, spec.get("selector"), "spec.selector", "a policy's selector")
        namespace_selector = None
        if kind == "GlobalNetworkPolicy":
            namespace_selector = _selector(obj, spec.get("namespaceSelector"), "spec.namespaceSelector")
        sa_selector = _selector(obj, spec.get("serviceAccountSelector"), "spec.serviceAccountSelector")
        ingress = tuple(
            rp.rule(r, f"spec.ingress[{i}]")
            for i, r in enumerate(_list(obj, spec.get("ingress"), "spec.ingress"))
        )
        egress = tuple(
            rp.rule(r, f"spec.egress[{i}]")
            for i, r in enumerate(_list(obj, spec.get("egress"), "spec.egress"))
        )
        types_raw = _list(obj, spec.get("types"), "spec.types")
        for i, t in enumerate(types_raw):
            if t not in ("Ingress", "Egress"):
                raise obj.error(f"invalid type {t!r}; use Ingress or Egress", f"spec.types[{i}]")
        if len(types_raw) != len(set(types_raw)):
            raise obj.error("types lists a direction twice", "spec.types")
        types = frozenset(types_raw) if types_raw else default_types(ingress, egress)
        for direction, rules in (("Ingress", ingress), ("Egress", egress)):
            if rules and direction not in types:
                warnings.append(
                    f"spec.{direction.lower()} is ignored: {direction} is not in types {sorted(types)}"
                )
            for i, rule in enumerate(rules):
                if rule.unsupported:
                    fields = ", ".join(rule.unsupported)
                    warnings.append(
                        f"{direction.lower()} rule {i} (line {rule.line}) uses {fields}, which the "
                        "evaluator does not model; verdicts that depend on it are not exact"
                    )
        policy = CalicoPolicy(
            kind=kind,
            namespace=namespace,
            name=obj.name,
            tier=tier,
            order=_order(obj, spec.get("order"), "spec.order"),
            selector=selector,
            namespace_selector=namespace_selector,
            service_account_selector=sa_selector,
            types=types,
            ingress=ingress,
            egress=egress,
            source=obj.source,
            warnings=tuple(warnings),
        )
        key = (kind, namespace, obj.name)
        if key in self.policies:
            first = self.policies[key].source
            raise obj.error(f"{obj.describe()} is defined twice (first at {first})", "metadata.name")
        self.policies[key] = policy

    def add_tier(self, obj: RawObject) -> None:
        spec = _mapping(obj, obj.data.get("spec"), "spec")
        order = _order(obj, spec.get("order"), "spec.order")
        action = spec.get("defaultAction") or "Deny"
        if action not in ("Deny", "Pass"):
            raise obj.error(f"defaultAction must be Deny or Pass, got {action!r}", "spec.defaultAction")
        if obj.name == DEFAULT_TIER and order is not None and order != DEFAULT_TIER_ORDER:
            raise obj.error(f"the default tier's order is fixed at {DEFAULT_TIER_ORDER:g}", "spec.order")
        if obj.name in BUILTIN_TIERS and order is None:
            order = BUILTIN_TIERS[obj.name][0]
        if obj.name in self.tiers:
            raise obj.error(
                f"Tier {obj.name} is defined twice (first at {self.tiers[obj.name].source})", "metadata.name"
            )
        self.tiers[obj.name] = Tier(obj.name, order, cast(DefaultAction, action), obj.source)

    # -- out-of-scope objects -----------------------------------------------------------------------

    def add_profile(self, obj: RawObject) -> None:
        self.profiles.append(obj.name)
        if obj.name.startswith("kns.") and obj.name[4:] in self.namespaces:
            return
        if _GENERATED_PROFILE.match(obj.name):
            return
        self.warnings.append(
            f"Profile {obj.name} ({obj.source}) is not modelled: only the profiles Calico generates for "
            "namespaces and service accounts are (SEMANTICS 5.3.5)"
        )

    def add_network_set(self, obj: RawObject) -> None:
        spec = _mapping(obj, obj.data.get("spec"), "spec")
        namespace = (obj.namespace or "default") if obj.kind == "NetworkSet" else ""
        nset = NetworkSet(
            kind=cast(Any, obj.kind),
            namespace=namespace,
            name=obj.name,
            labels=_labels(obj, obj.metadata.get("labels"), "metadata.labels"),
            nets=_nets(obj, spec.get("nets"), "spec.nets"),
            source=obj.source,
        )
        self.network_sets[(obj.kind, namespace, obj.name)] = nset
        self.warnings.append(
            f"{nset.id} ({obj.source}) is not modelled (SEMANTICS 0.3): a verdict that a selector matching "
            "it could change is UNSUPPORTED"
        )

    def add_host_endpoint(self, obj: RawObject) -> None:
        spec = _mapping(obj, obj.data.get("spec"), "spec")
        ips: list[IPAddress] = []
        for i, v in enumerate(_list(obj, spec.get("expectedIPs"), "spec.expectedIPs")):
            try:
                ips.append(ipaddress.ip_address(_string(obj, v, f"spec.expectedIPs[{i}]").strip()))
            except ValueError:
                raise obj.error(f"invalid IP address {v!r}", f"spec.expectedIPs[{i}]") from None
        hep = HostEndpoint(
            name=obj.name,
            node=_string(obj, spec.get("node"), "spec.node"),
            labels=_labels(obj, obj.metadata.get("labels"), "metadata.labels"),
            interface_name=_string(obj, spec.get("interfaceName"), "spec.interfaceName"),
            expected_ips=tuple(ips),
            source=obj.source,
        )
        self.host_endpoints[obj.name] = hep
        self.warnings.append(
            f"{hep.id} ({obj.source}) is not modelled (SEMANTICS 0.3): verdicts of traffic to or from "
            f"node {hep.node or '?'} that host endpoint policy could change are UNSUPPORTED"
        )

    def add_felix_configuration(self, obj: RawObject) -> None:
        spec = _mapping(obj, obj.data.get("spec"), "spec")
        action = spec.get("defaultEndpointToHostAction")
        if isinstance(action, str) and action:
            self.warnings.append(
                f"FelixConfiguration {obj.name} sets defaultEndpointToHostAction {action}; the evaluator "
                "takes it from the calico.defaultEndpointToHostAction setting "
                f"(default_endpoint_to_host_action={action.upper()})"
            )

    # -- finishing ---------------------------------------------------------------------------------------

    def finish(self) -> CalicoResources:
        policies = []
        for key in sorted(self.policies):
            policy = self.policies[key]
            extra = list(self._object_warnings(policy))
            if policy.tier not in self.tiers and policy.tier not in BUILTIN_TIERS:
                extra.append(
                    f"tier {policy.tier!r} is not defined; it is taken to have no order (last) and "
                    "defaultAction Deny"
                )
            if extra:
                policy = replace(policy, warnings=policy.warnings + tuple(extra))
            policies.append(policy)
        tiers = tuple(sorted(self.tiers.values(), key=lambda t: t.sort_key()))
        return CalicoResources(
            tiers=tiers,
            policies=tuple(policies),
            profiles=tuple(sorted(self.profiles)),
            network_sets=tuple(self.network_sets[k] for k in sorted(self.network_sets)),
            host_endpoints=tuple(self.host_endpoints[k] for k in sorted(self.host_endpoints)),
            staged_ignored=self.staged,
            ignored=tuple(sorted(self.ignored.items())),
            warnings=tuple(self.warnings),
        )

    def _object_warnings(self, policy: CalicoPolicy) -> list[str]:
        """Warn where a policy's selectors could match a network set or host endpoint (0.3)."""
        out: list[str] = []
        if policy.kind == "GlobalNetworkPolicy":
            for hep in self.host_endpoints.values():
                ns_ok = policy.namespace_selector is None or policy.namespace_selector.evaluate(
                    {}, namespace_context=False
                )
                if ns_ok and (policy.selector is None or policy.selector.evaluate(hep.labels)):
                    out.append(f"its selector also selects {hep.id}, which the evaluator does not model")
        objects: list[tuple[str, Labels, str]] = [
            (n.id, n.labels, n.namespace) for n in self.network_sets.values()
        ] + [(h.id, h.labels, "") for h in self.host_endpoints.values()]
        if not objects:
            return out
        for direction, rules in (("ingress", policy.ingress), ("egress", policy.egress)):
            for i, rule in enumerate(rules):
                for end_name, end in (("source", rule.source), ("destination", rule.destination)):
                    for ident, labels, ns in objects:
                        if _could_match(end, labels, ns, policy.namespace):
                            out.append(
                                f"{direction} rule {i} {end_name} can match {ident}, which the evaluator "
                                "does not model"
                            )
        return out


def _could_match(end: EntityRule, labels: Labels, ns: str, policy_ns: str) -> bool:
    """A cheap over-approximation of whether an EntityRule's selectors could match an object."""
    if not end.has_identity:
        return False
    if end.not_selector is not None and end.not_selector.evaluate(labels):
        return True
    if end.selector is None and end.namespace_selector is None:
        return False
    if end.namespace_selector is None and policy_ns and ns != policy_ns:
        return False
    return end.selector is None or end.selector.evaluate(labels)
