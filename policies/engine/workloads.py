"""Pods, workload pod templates, and which workload a pod belongs to.

* A pod's named ports are those of its containers and init containers; protocol defaults to TCP
  (SEMANTICS.md N3). https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#ports
* A pod in phase Succeeded or Failed takes no traffic and is left out (N4); a pod without an IP is
  a full endpoint. https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-phase
* A pod belongs to the owner named by its ``controller: true`` ownerReference (else the first one),
  lifted to the topmost owner present in the input (ReplicaSet -> Deployment, Job -> CronJob). An
  owner of kind Node marks a static pod, which is its own workload.
  https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
* A workload object that is not owned by another workload of the input and has no pods in the
  input stands for its pods through one pod built from its template. Finished pods do not count:
  they are not in the input as far as the engine is concerned.
  https://kubernetes.io/docs/concepts/workloads/pods/#pod-templates
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from policies.engine.cluster import L4_PROTOCOLS, ContainerPort, IPAddress, Labels, Pod, WorkloadRef
from policies.engine.documents import RawObject
from policies.engine.yamlload import at, get_bool, get_int, get_labels, get_list, get_mapping, get_str

WORKLOAD_KINDS = frozenset(
    {"CronJob", "DaemonSet", "Deployment", "Job", "ReplicaSet", "ReplicationController", "StatefulSet"}
)
FINISHED_PHASES = ("Succeeded", "Failed")
UNNAMED_OWNER_KIND = "Workload"  # an ownerReference without a kind


@dataclass(frozen=True)
class OwnerRef:
    kind: str  # "" when the reference has no kind
    name: str


@dataclass(frozen=True)
class PodSpecInfo:
    ports: tuple[ContainerPort, ...]
    host_network: bool
    service_account: str
    node: str
    warnings: tuple[str, ...] = ()


def object_namespace(obj: RawObject) -> str:
    """``metadata.namespace``; absent means ``default``, as kubectl applies it."""
    return get_str(obj, obj.metadata.get("namespace"), "metadata.namespace") or "default"


def object_name(obj: RawObject) -> str:
    name = get_str(obj, obj.metadata.get("name"), "metadata.name")
    if not name:
        raise obj.error("metadata.name is required", "metadata.name")
    return name


def pod_phase(obj: RawObject) -> str:
    status = get_mapping(obj, obj.data.get("status"), "status")
    return get_str(obj, status.get("phase"), "status.phase")


def parse_pod(obj: RawObject) -> tuple[Pod, tuple[str, ...]]:
    """A Pod object as a model Pod (its workload is filled in by ``assign_workloads``)."""
    namespace, name = object_namespace(obj), object_name(obj)
    labels = get_labels(obj, obj.metadata.get("labels"), "metadata.labels")
    info = parse_pod_spec(obj, obj.data.get("spec"), "spec")
    status = get_mapping(obj, obj.data.get("status"), "status")
    ips: list[IPAddress] = []
    pod_ips = get_list(obj, status.get("podIPs"), "status.podIPs")
    for i, entry in enumerate(pod_ips):
        path = at("status.podIPs", i)
        ip = _ip(obj, get_mapping(obj, entry, path).get("ip"), at(path, "ip"))
        if ip is not None and ip not in ips:
            ips.append(ip)
    if not pod_ips:
        ip = _ip(obj, status.get("podIP"), "status.podIP")
        if ip is not None:
            ips.append(ip)
    pod = Pod(
        namespace=namespace,
        name=name,
        labels=Labels(labels),
        ips=tuple(ips),
        node=info.node,
        host_ip=_ip(obj, status.get("hostIP"), "status.hostIP"),
        host_network=info.host_network,
        service_account=info.service_account,
        ports=info.ports,
        source=obj.source,
    )
    return pod, info.warnings


def parse_pod_spec(obj: RawObject, value: Any, path: str) -> PodSpecInfo:
    """Named ports (N3), hostNetwork, service account and node of a pod spec or template spec."""
    spec = get_mapping(obj, value, path)
    ports: dict[str, ContainerPort] = {}
    warnings: list[str] = []
    for field in ("containers", "initContainers"):
        containers = spec.get(field)
        if containers is None:
            continue
        containers_path = at(path, field)
        for i, container in enumerate(get_list(obj, containers, containers_path)):
            entries = container.get("ports") if type(container) is dict else None
            if entries is None and type(container) is dict:
                continue  # a container without ports (no path to name: nothing can be wrong here)
            container_path = at(containers_path, i)
            container = get_mapping(obj, container, container_path)
            ports_path = at(container_path, "ports")
            for j, entry in enumerate(get_list(obj, entries, ports_path)):
                port = plain_port(entry) or container_port(obj, entry, at(ports_path, j))
                if port is None:
                    continue
                if isinstance(port, str):
                    warnings.append(port)
                    continue
                seen = ports.setdefault(port.name, port)
                if seen != port:
                    warnings.append(
                        f"{obj.describe()}: port name {port.name!r} is used for both "
                        f"{seen.port}/{seen.protocol} and {port.port}/{port.protocol}; using the first"
                    )
    # serviceAccount is the deprecated alias of serviceAccountName.
    account = get_str(obj, spec.get("serviceAccountName"), at(path, "serviceAccountName"))
    account = account or get_str(obj, spec.get("serviceAccount"), at(path, "serviceAccount"))
    return PodSpecInfo(
        ports=tuple(sorted(ports.values(), key=lambda p: p.name)),
        host_network=get_bool(obj, spec.get("hostNetwork"), at(path, "hostNetwork")),
        service_account=account or "default",
        node=get_str(obj, spec.get("nodeName"), at(path, "nodeName")),
        warnings=tuple(warnings),
    )


def plain_port(entry: Any) -> ContainerPort | None:
    """The usual named port (a name, a number in range, TCP, UDP, SCTP or no protocol), read without
    building the paths that errors name; None for anything else (``container_port`` reads it)."""
    if type(entry) is not dict:
        return None
    name, number, protocol = entry.get("name"), entry.get("containerPort"), entry.get("protocol", "TCP")
    if type(name) is str and name and type(number) is int and 1 <= number <= 65535 and protocol in L4_PROTOCOLS:
        return _port(name, number, protocol)
    return None


@lru_cache(maxsize=4096)
def _port(name: str, number: int, protocol: str) -> ContainerPort:
    return ContainerPort(name, number, protocol)


def container_port(obj: RawObject, value: Any, path: str) -> ContainerPort | str | None:
    """The named port at ``path``; None for an unnamed one; a warning when it has no number."""
    entry = get_mapping(obj, value, path)
    name = get_str(obj, entry.get("name"), at(path, "name"))
    if not name:
        return None  # only named ports matter to policies
    if entry.get("containerPort") is None:
        # The API server would refuse this; tools that decode field names case-insensitively
        # accept "containerport". Either way there is no number to resolve the name to.
        where = f"{obj.source.file}:{obj.line_of(path)}"
        return f"{where}: {obj.describe()}: named port {name!r} at {path} has no containerPort; it is ignored"
    number = get_int(obj, entry.get("containerPort"), at(path, "containerPort"))
    if not 1 <= number <= 65535:
        raise obj.error(f"containerPort {number} is outside 1-65535", at(path, "containerPort"))
    protocol = get_str(obj, entry.get("protocol"), at(path, "protocol"), default="TCP")
    if protocol not in L4_PROTOCOLS:
        raise obj.error(f"protocol must be TCP, UDP or SCTP, not {protocol!r}", at(path, "protocol"))
    return ContainerPort(name, number, protocol)


def _ip(obj: RawObject, value: Any, path: str) -> IPAddress | None:
    text = get_str(obj, value, path)
    if not text:
        return None
    try:
        return _address(text)
    except ValueError as exc:
        raise obj.error(f"{text!r} is not an IP address", path) from exc


@lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """An address, read once for the pods of a node (their hostIP) and a pod's podIP and podIPs."""
    return ipaddress.ip_address(text)


# -- workloads ------------------------------------------------------------------------------------


def template_path(obj: RawObject) -> str:
    """Where a workload keeps its pod template; a CronJob's is inside its job template."""
    return "spec.jobTemplate.spec.template" if obj.kind == "CronJob" else "spec.template"


def template_pod(obj: RawObject) -> tuple[Pod | None, tuple[str, ...]]:
    """The pod that stands for a workload's pods, built from its template (no IPs, no node)."""
    data: Any = obj.data
    path = ""
    for key in template_path(obj).split("."):
        data = get_mapping(obj, data, path).get(key)
        path = at(path, key)
    if data is None:
        return None, (f"{obj.describe()} has no pod template at {path}, so it stands for no pods",)
    template = get_mapping(obj, data, path)
    metadata = get_mapping(obj, template.get("metadata"), at(path, "metadata"))
    labels = get_labels(obj, metadata.get("labels"), at(path, "metadata.labels"))
    info = parse_pod_spec(obj, template.get("spec"), at(path, "spec"))
    name = object_name(obj)
    pod = Pod(
        namespace=object_namespace(obj),
        name=name,
        labels=Labels(labels),
        host_network=info.host_network,
        service_account=info.service_account,
        ports=info.ports,
        workload=WorkloadRef(obj.kind, name),
        from_template=True,
        source=obj.source,
    )
    return pod, info.warnings


def owner_of(obj: RawObject) -> OwnerRef | None:
    """The ownerReference with ``controller: true``, else the first one, else None."""
    memo = obj.memo  # an object read through a ParseCache: its owner is found once
    if memo is None:
        return _owner_of(obj)
    if "owner" not in memo:
        memo["owner"] = _owner_of(obj)
    owner: OwnerRef | None = memo["owner"]
    return owner


def _owner_of(obj: RawObject) -> OwnerRef | None:
    refs = obj.metadata.get("ownerReferences")
    if refs is None:
        return None
    return plain_owner(refs) or checked_owner(obj, refs)


def checked_owner(obj: RawObject, refs: Any) -> OwnerRef | None:
    """The owner among ``refs`` (``metadata.ownerReferences``), every field checked on the way."""
    path = "metadata.ownerReferences"
    refs = get_list(obj, refs, path)
    if not refs:
        return None
    entries = [get_mapping(obj, ref, at(path, i)) for i, ref in enumerate(refs)]
    controllers = (
        i for i, e in enumerate(entries) if get_bool(obj, e.get("controller"), at(at(path, i), "controller"))
    )
    i = next(controllers, 0)
    ref_path = at(path, i)
    name = get_str(obj, entries[i].get("name"), at(ref_path, "name"))
    if not name:
        raise obj.error("an ownerReference needs a name", at(ref_path, "name"))
    return OwnerRef(get_str(obj, entries[i].get("kind"), at(ref_path, "kind")), name)


def plain_owner(refs: Any) -> OwnerRef | None:
    """``checked_owner`` for the usual references (mappings with a name, a kind and true, false or no
    ``controller``), without building the paths that errors name; None for anything else."""
    if type(refs) is not list or not refs:
        return None
    if any(type(ref) is not dict for ref in refs):
        return None  # every entry must be a mapping, also those after the controller
    chosen = None
    for ref in refs:
        controller = ref.get("controller")
        if controller is True:
            chosen = ref
            break
        if controller is not None and controller is not False:
            return None
    if chosen is None:
        chosen = refs[0]
    name, kind = chosen.get("name"), chosen.get("kind")
    if type(name) is not str or not name or (kind is not None and type(kind) is not str):
        return None
    return OwnerRef(kind or "", name)


WorkloadKey = tuple[str, str, str]  # (namespace, kind, name)


class Ownership:
    """The workload objects of the input, for lifting owners and picking template workloads."""

    def __init__(self, workloads: Iterable[RawObject]) -> None:
        self.objects: dict[WorkloadKey, RawObject] = {}
        for obj in workloads:
            self.objects[(object_namespace(obj), obj.kind, object_name(obj))] = obj

    def workload_of(self, namespace: str, owner: OwnerRef | None) -> WorkloadRef | None:
        """The topmost owner present in the input, or the reference itself; None for a bare pod."""
        if owner is None or owner.kind == "Node":
            return None
        if not owner.kind:
            return WorkloadRef(UNNAMED_OWNER_KIND, owner.name)
        current = owner
        seen = {current}
        while True:
            obj = self.objects.get((namespace, current.kind, current.name))
            parent = owner_of(obj) if obj is not None else None
            if parent is None or parent in seen or (namespace, parent.kind, parent.name) not in self.objects:
                break
            seen.add(parent)
            current = parent
        return WorkloadRef(current.kind, current.name)

    def is_top_level(self, key: WorkloadKey) -> bool:
        parent = owner_of(self.objects[key])
        return parent is None or (key[0], parent.kind, parent.name) not in self.objects


def _with_workload(pod: Pod, ref: WorkloadRef | None) -> Pod:
    """``replace(pod, workload=ref)`` without its cost (a fifth of the workload step at 10,000 pods):
    Pod has no __post_init__ and its fields are set by __init__ only."""
    copy = object.__new__(Pod)
    copy.__dict__.update(pod.__dict__)
    copy.__dict__["workload"] = ref
    return copy


def assign_workloads(
    pods: Sequence[tuple[RawObject, Pod]], workloads: Sequence[RawObject]
) -> tuple[list[Pod], list[str]]:
    """Pods with their workloads, plus one template pod per top-level workload that has no pods."""
    ownership = Ownership(workloads)
    out: list[Pod] = []
    with_pods: set[WorkloadKey] = set()
    for obj, pod in pods:
        ref = ownership.workload_of(pod.namespace, owner_of(obj))
        if ref is not None:
            with_pods.add((pod.namespace, ref.kind, ref.name))
        out.append(pod if pod.workload == ref else _with_workload(pod, ref))
    warnings: list[str] = []
    for key in sorted(ownership.objects):
        if key in with_pods or not ownership.is_top_level(key):
            continue
        template, notes = template_pod(ownership.objects[key])
        warnings.extend(notes)
        if template is not None:
            out.append(template)
    return out, warnings
