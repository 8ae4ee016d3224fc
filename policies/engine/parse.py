"""Kubernetes manifests in, the engine's Cluster out: kind dispatch, validation and defaulting.

Kinds used: Namespace, Pod, Node, ServiceAccount, the workload kinds (see ``workloads.py``),
``networking.k8s.io/v1`` NetworkPolicy, and Calico's policy kinds (handed to ``calico/parse.py``).
AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy are read by
``admin/parse.py``. Every other kind is skipped and counted.

NetworkPolicies are read in ``k8s/parse.py``, validated as the API server validates them
(SEMANTICS.md 4.1) and defaulted as it defaults them (4.2): an absent podSelector is ``{}``;
policyTypes is ``[Ingress]`` plus ``Egress`` iff there are egress rules; protocol is TCP; the
namespace is ``default``. A NetworkPolicy without apiVersion is read as ``networking.k8s.io/v1``;
any other apiVersion is an error (Calico's own NetworkPolicy is told apart by its
``projectcalico.org`` apiVersion).
https://kubernetes.io/docs/concepts/services-networking/network-policies/
https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from policies.engine.cluster import (
    NAMESPACE_NAME_LABEL,
    IPAddress,
    Labels,
    Namespace,
    Node,
    Pod,
    ServiceAccount,
    Source,
)
from policies.engine.collector import collector_paused
from policies.engine.documents import RawObject
from policies.engine.errors import UnsupportedError
from policies.engine.k8s.model import NetworkPolicy
from policies.engine.k8s.parse import NETWORK_POLICY_API, parse_network_policy
from policies.engine.kinds import ADMIN_KINDS, CALICO_KINDS, CALICO_NAMESPACED_KINDS
from policies.engine.model import Cluster
from policies.engine.names import check_name
from policies.engine.parse_cache import FileObjects, ParseCache, reuse, reuse_check
from policies.engine.workloads import (
    FINISHED_PHASES,
    WORKLOAD_KINDS,
    assign_workloads,
    object_name,
    object_namespace,
    parse_pod,
    pod_phase,
)
from policies.engine.yamlfast import LineCache
from policies.engine.yamlload import (
    at,
    check_size,
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

CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
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
    # The files' objects as a ParseCache holds them: kept alive with the result, so that another
    # version read through the same cache while this result lives reads no shared file twice.
    files: tuple[FileObjects, ...] = field(default=(), compare=False, repr=False)


def parse_files(
    files: Sequence[tuple[str, str]], *, max_bytes: int | None = None, cache: ParseCache | None = None
) -> ParseResult:
    """Parse (file name, text) pairs into a Cluster; raises PolicyError for any bad input.
    ``max_bytes`` refuses larger files (the web upload's setting; None: any size). With ``cache``,
    a text read before through it is not read again, nor are its objects built again (the result
    is the same; see parse_cache.py)."""
    raws: list[RawObject] = []
    lines: LineCache = {}  # each distinct line of the files worked out once (they repeat each other's)
    with collector_paused():
        if cache is None:
            for name, text in files:
                raws.extend(load_text(name, text, max_bytes=max_bytes, line_cache=_bounded(lines)))
            return build_cluster(raws)
        kept: list[FileObjects] = []
        for name, text in files:
            check_size(name, text, max_bytes)

            def read(name: str = name, text: str = text) -> list[RawObject]:
                return load_text(name, text, line_cache=_bounded(lines))

            entry = cache.load(name, text, read)
            kept.append(entry)
            raws.extend(entry.named(name))
        result = build_cluster(raws)
    return ParseResult(result.cluster, result.objects, result.notes, tuple(kept))


_LINE_CACHE_SIZE = 200_000  # distinct lines kept between files (the 10k-pod benchmark has 101,000)


def _bounded(lines: LineCache) -> LineCache:
    """The line cache, emptied first when it has grown past its size (a 150,000-pod input has
    millions of distinct lines: names, addresses and ids)."""
    if len(lines) > _LINE_CACHE_SIZE:
        lines.clear()
    return lines


def load_paths(
    paths: Sequence[str],
    *,
    stdin: TextIO | None = None,
    max_bytes: int | None = None,
    cache: ParseCache | None = None,
) -> ParseResult:
    """Parse files, directories (recursively: *.yaml, *.yml, *.json) and ``-`` (standard input)."""
    return parse_files(read_sources(paths, stdin=stdin, max_bytes=max_bytes), max_bytes=max_bytes, cache=cache)


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
    name_notes = [note for note in (reuse_check(o, "name", check_name) for o in ordered) if note]
    kept, notes = _drop_duplicates(ordered)
    notes.extend(name_notes)
    by_category: dict[str, list[RawObject]] = {}
    for obj in kept:
        by_category.setdefault(category(obj), []).append(obj)
    warnings: list[str] = []

    namespaces = {ns.name: ns for ns in (reuse(o, "namespace", _no_warnings(parse_namespace))[0]
                                         for o in by_category.get("Namespace", []))}
    nodes = [reuse(obj, "node", _no_warnings(parse_node))[0] for obj in by_category.get("Node", [])]
    accounts = [parse_service_account(obj) for obj in by_category.get("ServiceAccount", [])]
    policies: list[NetworkPolicy] = []
    for obj in by_category.get("NetworkPolicy", []):
        policy, policy_warnings = reuse(obj, "policy", parse_network_policy)
        policies.append(policy)
        warnings.extend(policy_warnings)

    live: list[tuple[RawObject, Pod]] = []
    finished: Counter[str] = Counter()
    for obj in by_category.get("Pod", []):
        pod, pod_warnings = reuse(obj, "pod", parse_pod)
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


def _no_warnings(parse: Callable[[RawObject], Any]) -> Callable[[RawObject], tuple[Any, tuple[str, ...]]]:
    return lambda obj: (parse(obj), ())


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
