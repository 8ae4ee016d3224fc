"""Kubernetes manifests in, the engine's Cluster out: kind dispatch, validation and defaulting.

Kinds used: Namespace, Pod, Node, ServiceAccount, the workload kinds (see ``workloads.py``),
``networking.k8s.io/v1`` NetworkPolicy, and Calico's policy kinds (handed to ``calico/parse.py``).
AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy are read by
``admin/parse.py``. Every other kind is skipped and counted.

NetworkPolicies are validated as the API server validates them (SEMANTICS.md 4.1) and defaulted
as it defaults them (4.2): an absent podSelector is ``{}``; policyTypes is ``[Ingress]`` plus
``Egress`` iff there are egress rules; protocol is TCP; the namespace is ``default``. A
NetworkPolicy without apiVersion is read as ``networking.k8s.io/v1``; any other apiVersion is an
error (Calico's own NetworkPolicy is told apart by its ``projectcalico.org`` apiVersion).
https://kubernetes.io/docs/concepts/services-networking/network-policies/
https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from policies.engine.documents import RawObject
from policies.engine.errors import UnsupportedError
from policies.engine.model import (
    L4_PROTOCOLS,
    NAMESPACE_NAME_LABEL,
    Cluster,
    IPAddress,
    IPBlock,
    IPNetwork,
    Labels,
    Namespace,
    NetworkPolicy,
    Node,
    Peer,
    Pod,
    PortSpec,
    Rule,
    ServiceAccount,
    Source,
)
from policies.engine.selectors import OPERATORS, LabelSelector, Requirement
from policies.engine.workloads import (
    FINISHED_PHASES,
    WORKLOAD_KINDS,
    assign_workloads,
    object_name,
    object_namespace,
    parse_pod,
    pod_phase,
)
from policies.engine.yamlload import (
    at,
    end_line_of,
    get_int,
    get_labels,
    get_list,
    get_mapping,
    get_str,
    load_text,
    read_sources,
)

if TYPE_CHECKING:
    from policies.engine.admin.model import AdminPolicy
    from policies.engine.calico.model import CalicoResources

NETWORK_POLICY_API = "networking.k8s.io/v1"
CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
CALICO_KINDS = frozenset(
    {
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "HostEndpoint",
        "NetworkPolicy",
        "NetworkSet",
        "Profile",
        "StagedGlobalNetworkPolicy",
        "StagedKubernetesNetworkPolicy",
        "StagedNetworkPolicy",
        "Tier",
    }
)
CALICO_NAMESPACED_KINDS = frozenset(
    {"NetworkPolicy", "NetworkSet", "StagedNetworkPolicy", "StagedKubernetesNetworkPolicy"}
)
ADMIN_KINDS = frozenset({"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"})
WORKLOAD_GROUPS = ("", "apps", "extensions", "batch")
# Kinds without a namespace; any other kind without metadata.namespace is in "default".
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "HostEndpoint",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "Profile",
        "StagedGlobalNetworkPolicy",
        "StorageClass",
        "Tier",
        "ValidatingWebhookConfiguration",
        *ADMIN_KINDS,
    }
)


@dataclass(frozen=True)
class ManifestObject:
    """One object of the input as the web app stores it, with its exact source text."""

    kind: str
    api_version: str
    namespace: str
    name: str
    source: Source
    text: str


@dataclass(frozen=True)
class ParseResult:
    cluster: Cluster
    objects: tuple[ManifestObject, ...]
    notes: tuple[str, ...]


def parse_files(files: Sequence[tuple[str, str]], *, max_bytes: int | None = None) -> ParseResult:
    """Parse (file name, text) pairs into a Cluster; raises PolicyError for any bad input.
    ``max_bytes`` refuses larger files (the web upload's setting; None: any size)."""
    raws: list[RawObject] = []
    for name, text in files:
        raws.extend(load_text(name, text, max_bytes=max_bytes))
    return build_cluster(raws)


def load_paths(paths: Sequence[str], *, stdin: TextIO | None = None, max_bytes: int | None = None) -> ParseResult:
    """Parse files, directories (recursively: *.yaml, *.yml, *.json) and ``-`` (standard input)."""
    return parse_files(read_sources(paths, stdin=stdin, max_bytes=max_bytes), max_bytes=max_bytes)


# -- kind dispatch and the cluster ----------------------------------------------------------------


def api_group(api_version: str) -> str:
    """``networking.k8s.io/v1`` -> ``networking.k8s.io``; the core group ``v1`` -> ``""``."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def category(obj: RawObject) -> str:
    """What the parser does with an object: a kind it uses, "calico", or "skip"."""
    group = api_group(obj.api_version)
    if obj.kind in ADMIN_KINDS and group == "policy.networking.k8s.io":
        return "admin"
    if group in CALICO_GROUPS:
        return "calico" if obj.kind in CALICO_KINDS else "skip"
    if obj.kind == "NetworkPolicy":
        return "NetworkPolicy"
    if obj.kind in ("Namespace", "Pod", "Node", "ServiceAccount") and group == "":
        return obj.kind
    if obj.kind in WORKLOAD_KINDS and group in WORKLOAD_GROUPS:
        return "workload"
    return "skip"


def build_cluster(raws: Sequence[RawObject]) -> ParseResult:
    """Turn loaded objects into the Cluster, the stored objects and notes for the user."""
    ordered = sorted(raws, key=lambda o: (o.source.file, o.source.document, o.source.line))
    kept, notes = _drop_duplicates(ordered)
    by_category: dict[str, list[RawObject]] = {}
    for obj in kept:
        by_category.setdefault(category(obj), []).append(obj)
    warnings: list[str] = []

    namespaces = {ns.name: ns for ns in map(parse_namespace, by_category.get("Namespace", []))}
    nodes = [parse_node(obj) for obj in by_category.get("Node", [])]
    accounts = [parse_service_account(obj) for obj in by_category.get("ServiceAccount", [])]
    policies: list[NetworkPolicy] = []
    for obj in by_category.get("NetworkPolicy", []):
        policy, policy_warnings = parse_network_policy(obj)
        policies.append(policy)
        warnings.extend(policy_warnings)

    live: list[tuple[RawObject, Pod]] = []
    finished: Counter[str] = Counter()
    for obj in by_category.get("Pod", []):
        pod, pod_warnings = parse_pod(obj)
        warnings.extend(pod_warnings)
        phase = pod_phase(obj)
        if phase in FINISHED_PHASES:
            finished[phase] += 1
        else:
            live.append((obj, pod))
    pods, workload_warnings = assign_workloads(live, by_category.get("workload", []))
    warnings.extend(workload_warnings)
    warnings.extend(_pod_warnings(pods, nodes))

    admin = _parse_admin(by_category.get("admin", []), warnings)

    calico_objects = by_category.get("calico", [])
    referenced = {p.namespace for p in pods} | {p.namespace for p in policies}
    referenced |= {sa.namespace for sa in accounts}
    referenced |= {object_namespace(o) for o in calico_objects if o.kind in CALICO_NAMESPACED_KINDS}
    undefined = sorted(referenced - set(namespaces))
    for name in undefined:
        namespaces[name] = Namespace(name, Labels({NAMESPACE_NAME_LABEL: name}), defined=False)
    calico, calico_notes = _parse_calico(calico_objects, sorted(namespaces))

    skipped = Counter(o.kind for o in by_category.get("skip", []))
    if skipped:
        notes.append("skipped " + ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items())))
    if finished:
        phases = ", ".join(sorted(finished))
        total = sum(finished.values())
        notes.append(f"left out {total} finished pod{'s' * (total != 1)} (phase {phases})")
    if undefined and namespaces.keys() - set(undefined):
        notes.append(f"namespaces used but not defined: {', '.join(undefined)}")
    notes.extend(calico_notes)

    cluster = Cluster(
        namespaces=tuple(namespaces[name] for name in sorted(namespaces)),
        pods=tuple(sorted(pods, key=_pod_key)),
        nodes=tuple(sorted(nodes, key=lambda n: n.name)),
        service_accounts=tuple(sorted(accounts, key=lambda a: (a.namespace, a.name))),
        policies=tuple(sorted(policies, key=lambda p: (p.namespace, p.name))),
        calico=calico,
        admin_policies=tuple(sorted(admin, key=lambda a: (a.kind, a.name))),
        skipped=tuple(sorted(skipped.items())),
        warnings=tuple(warnings),
    )
    objects = tuple(_manifest_object(o) for o in kept)
    return ParseResult(cluster, objects, tuple(notes))


def _pod_key(pod: Pod) -> tuple[str, str, bool, str]:
    return (pod.namespace, pod.name, pod.from_template, pod.workload.kind if pod.workload else "")


def _pod_warnings(pods: Sequence[Pod], nodes: Sequence[Node]) -> list[str]:
    warnings: list[str] = []
    known = {n.name for n in nodes}
    if known:
        missing = Counter(p.node for p in pods if p.node and p.node not in known)
        for node, count in sorted(missing.items()):
            warnings.append(f"{count} pod{'s' * (count != 1)} run on node {node!r}, which is not in the input")
    ids = Counter(p.id for p in pods)
    for pod_id, count in sorted(ids.items()):
        if count > 1:
            warnings.append(f"{count} pods and workload templates are all named {pod_id}")
    return warnings


def _manifest_object(obj: RawObject) -> ManifestObject:
    meta = obj.metadata
    if obj.kind in CLUSTER_SCOPED_KINDS:
        namespace = ""
    else:
        namespace = str(meta.get("namespace") or "default")
    return ManifestObject(obj.kind, obj.api_version, namespace, obj.name, obj.source, obj.text)


def _identity(obj: RawObject) -> tuple[str, str, str, str]:
    namespace = "" if obj.kind in CLUSTER_SCOPED_KINDS else str(obj.metadata.get("namespace") or "default")
    group = api_group(obj.api_version or (NETWORK_POLICY_API if obj.kind == "NetworkPolicy" else ""))
    return (group, obj.kind, namespace, obj.name)


def _drop_duplicates(objects: Sequence[RawObject]) -> tuple[list[RawObject], list[str]]:
    """Keep one of identical copies; two different objects with one identity are an error."""
    first: dict[tuple[str, str, str, str], RawObject] = {}
    kept: list[RawObject] = []
    dropped: list[str] = []
    for obj in objects:
        if category(obj) == "skip" or not obj.name:
            kept.append(obj)
            continue
        key = _identity(obj)
        seen = first.get(key)
        if seen is None:
            first[key] = obj
            kept.append(obj)
        elif seen.data == obj.data:
            dropped.append(f"{obj.describe()} ({_where(seen)} and {_where(obj)})")
        else:
            raise obj.error(f"{obj.describe()} is defined twice with different content: at {_where(seen)} and here")
    notes = []
    if dropped:
        notes.append(f"ignored {len(dropped)} identical duplicate{'s' * (len(dropped) != 1)}: " + "; ".join(dropped))
    return kept, notes


def _where(obj: RawObject) -> str:
    item = f" {obj.source.item_path}" if obj.source.item_path else ""
    return f"{obj.source.file}:{obj.source.line} (document {obj.source.document}{item})"


def _parse_admin(objects: Sequence[RawObject], warnings: list[str]) -> list[AdminPolicy]:
    if not objects:
        return []
    from policies.engine.admin.parse import parse_admin_policy

    out = []
    for obj in objects:
        policy, policy_warnings = parse_admin_policy(obj)
        out.append(policy)
        warnings.extend(policy_warnings)
    return out


def _unsupported(obj: RawObject, message: str) -> UnsupportedError:
    err = obj.error(message)
    return UnsupportedError(
        err.message, file=err.file, document=err.document, line=err.line, path=err.path, obj=err.obj
    )


def _parse_calico(objects: Sequence[RawObject], namespaces: Sequence[str]) -> tuple[CalicoResources | None, list[str]]:
    if not objects:
        return None, []
    try:
        from policies.engine.calico.parse import parse_calico_objects
    except ModuleNotFoundError as exc:
        if exc.name not in ("policies.engine.calico", "policies.engine.calico.parse"):
            raise
        return None, [f"ignored {len(objects)} Calico objects: Calico support is not available"]
    return parse_calico_objects(objects, namespaces), []


# -- Namespace, Node, ServiceAccount ----------------------------------------------------------------


def parse_namespace(obj: RawObject) -> Namespace:
    """A Namespace with the immutable ``kubernetes.io/metadata.name`` label (SEMANTICS.md N1)."""
    name = object_name(obj)
    labels = get_labels(obj, obj.metadata.get("labels"), "metadata.labels")
    given = labels.get(NAMESPACE_NAME_LABEL)
    if given is not None and given != name:
        raise obj.error(
            f"label {NAMESPACE_NAME_LABEL} must equal the namespace name {name!r}, not {given!r}",
            at("metadata.labels", NAMESPACE_NAME_LABEL),
        )
    labels[NAMESPACE_NAME_LABEL] = name
    return Namespace(name, Labels(labels), defined=True, source=obj.source)


def parse_node(obj: RawObject) -> Node:
    """A Node and its InternalIP, then ExternalIP, addresses."""
    status = get_mapping(obj, obj.data.get("status"), "status")
    by_type: dict[str, list[IPAddress]] = {"InternalIP": [], "ExternalIP": []}
    for i, entry in enumerate(get_list(obj, status.get("addresses"), "status.addresses")):
        path = at("status.addresses", i)
        address = get_mapping(obj, entry, path)
        kind = get_str(obj, address.get("type"), at(path, "type"))
        if kind not in by_type:
            continue
        text = get_str(obj, address.get("address"), at(path, "address"))
        try:
            ip = ipaddress.ip_address(text)
        except ValueError as exc:
            raise obj.error(f"{text!r} is not an IP address", at(path, "address")) from exc
        if ip not in by_type[kind]:
            by_type[kind].append(ip)
    ips = tuple(dict.fromkeys(by_type["InternalIP"] + by_type["ExternalIP"]))
    labels = get_labels(obj, obj.metadata.get("labels"), "metadata.labels")
    return Node(object_name(obj), ips, Labels(labels), source=obj.source)


def parse_service_account(obj: RawObject) -> ServiceAccount:
    labels = get_labels(obj, obj.metadata.get("labels"), "metadata.labels")
    return ServiceAccount(object_namespace(obj), object_name(obj), Labels(labels))


# -- NetworkPolicy -------------------------------------------------------------------------------

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
