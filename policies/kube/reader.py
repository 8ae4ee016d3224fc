"""Read a live cluster through the official client: discovery, then each kind in pages.

Each page's body is read as a stream (``_preload_content=False``) by an incremental JSON parser
(ijson), one item at a time: an item is stripped of bookkeeping, hashed and written out as a YAML
document, so a 10,000-pod list is never held as one JSON text nor twice in memory. A page of at
most ``page_size`` items is asked with ``limit`` and the next with the ``continue`` token.
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import ijson
import yaml
from ijson.common import ObjectBuilder
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from policies.kube.content import ContentHash, object_key, strip_noise
from policies.kube.errors import SyncError, describe_failure
from policies.kube.kinds import CALICO_CRD_GROUP, CALICO_GROUP, SYNC_KINDS, SyncKind

__all__ = ["ClusterRead", "read_cluster"]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Key = tuple[str, str, str, str]


@dataclass
class ClusterRead:
    """What one sync read: files of YAML documents (for the engine's parser), each object's
    resourceVersion by (apiVersion, kind, namespace, name), the content hash and the warnings."""

    files: list[tuple[str, str]]
    resource_versions: dict[Key, str]
    content_hash: str
    warnings: list[str]
    counts: dict[str, int]
    skipped: list[str] = field(default_factory=list)


def read_cluster(
    api: client.ApiClient,
    *,
    page_size: int = 500,
    timeout: tuple[float, float] = (10.0, 60.0),
    objects_per_file: int = 500,
    kinds: tuple[SyncKind, ...] = SYNC_KINDS,
) -> ClusterRead:
    """List every kind of ``kinds`` the cluster serves. A kind that is forbidden (403) or not
    served (404) becomes a warning; any other failure raises SyncError and nothing is returned."""
    return _Reader(api, page_size=page_size, timeout=timeout, objects_per_file=objects_per_file).read(kinds)


class _KindBuffer:
    """The documents of one kind, kept apart until its list completes (a 410 restarts it)."""

    def __init__(self, kind: SyncKind, objects_per_file: int) -> None:
        self.kind = kind
        self.objects_per_file = objects_per_file
        self.documents: dict[str, list[str]] = {}
        self.versions: dict[Key, str] = {}
        self.hash = ContentHash()
        self.count = 0

    def add(self, item: dict[str, Any]) -> None:
        obj = {"apiVersion": self.kind.api_version, "kind": self.kind.kind, **item}
        obj["apiVersion"], obj["kind"] = self.kind.api_version, self.kind.kind
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        strip_noise(obj)
        key = object_key(obj)
        self.versions[key] = version
        self.hash.add(obj)
        text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
        self.documents.setdefault(key[2], []).append(text)
        self.count += 1

    def files(self) -> Iterator[tuple[str, str]]:
        for namespace in sorted(self.documents):
            documents = self.documents[namespace]
            base = f"{self.kind.file_stem}/{namespace or 'cluster'}"
            for start in range(0, len(documents), self.objects_per_file):
                part = start // self.objects_per_file
                name = f"{base}.yaml" if part == 0 else f"{base}-{part + 1}.yaml"
                yield name, "---\n".join(documents[start : start + self.objects_per_file])


class _Reader:
    def __init__(self, api: client.ApiClient, *, page_size: int, timeout: tuple[float, float],
                 objects_per_file: int) -> None:
        self.api = api
        self.page_size = page_size
        self.timeout = timeout
        self.objects_per_file = objects_per_file
        self.server = api.configuration.host

    def fail(self, exc: BaseException, doing: str) -> SyncError:
        return SyncError(describe_failure(exc, server=self.server, doing=doing, read_timeout=self.timeout[1]))

    def read(self, kinds: tuple[SyncKind, ...]) -> ClusterRead:
        warnings: list[str] = []
        skipped: list[str] = []
        served = self.discover(warnings)
        files: list[tuple[str, str]] = []
        versions: dict[Key, str] = {}
        total = ContentHash()
        counts: dict[str, int] = {}
        for kind in kinds:
            reason = self.unserved(kind, served)
            if reason:
                (skipped if kind.optional else warnings).append(f"{kind.label}: {reason}")
                continue
            buffer = self.list_kind(kind, warnings, skipped)
            if buffer is None:
                continue
            files.extend(buffer.files())
            versions.update(buffer.versions)
            total.extend(buffer.hash.items())
            counts[kind.label] = buffer.count
        if not counts:
            raise SyncError(f"{self.server}: this account may list none of the kinds a sync reads ("
                            + "; ".join(warnings) + ")")
        return ClusterRead(files, versions, total.hexdigest(), warnings, counts, skipped)

    # -- discovery ----------------------------------------------------------------------------

    def discover(self, warnings: list[str]) -> dict[str, set[str]] | None:
        """The served resources by group version (None: unknown, list every kind)."""
        try:
            groups = self.get_json("/apis", "reading the served API groups")
        except SyncError as exc:
            if "403" not in exc.message:
                raise
            warnings.append(f"discovery is forbidden, every kind is tried: {exc.message}")
            return None
        served_versions = {
            v.get("groupVersion") for g in groups.get("groups") or [] for v in g.get("versions") or []
        }
        served: dict[str, set[str]] = {}
        for group_version in sorted({k.api_version for k in SYNC_KINDS if k.group}):
            if group_version in served_versions:
                doing = f"reading the resources of {group_version}"
                resources = self.get_json(f"/apis/{group_version}", doing).get("resources") or []
                served[group_version] = {r.get("name") for r in resources if "/" not in str(r.get("name"))}
        return served

    def get_json(self, path: str, doing: str) -> dict[str, Any]:
        try:
            response: Any = self.api.call_api(
                *self.api.param_serialize(method="GET", resource_path=path, auth_settings=["BearerToken"],
                                          header_params={"Accept": "application/json"}),
                _request_timeout=self.timeout,
            )
            body = cast(Any, response).read()
        except Exception as exc:
            raise self.fail(exc, doing) from exc
        if not 200 <= response.status <= 299:
            raise self.fail(ApiException(status=response.status, reason=response.reason), doing)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise self.fail(exc, doing) from exc
        return data if isinstance(data, dict) else {}

    def unserved(self, kind: SyncKind, served: dict[str, set[str]] | None) -> str:
        if served is None or not kind.group:
            return ""
        if kind.group == CALICO_CRD_GROUP and kind.plural in served.get(f"{CALICO_GROUP}/v3", set()):
            return f"read through {CALICO_GROUP}/v3 (the Calico API server)"
        if kind.api_version not in served:
            return f"the cluster does not serve {kind.api_version}"
        if kind.plural not in served[kind.api_version]:
            return f"the cluster does not serve {kind.plural} in {kind.api_version}"
        return ""

    # -- listing ------------------------------------------------------------------------------

    def list_kind(self, kind: SyncKind, warnings: list[str], skipped: list[str]) -> _KindBuffer | None:
        for attempt in (1, 2):
            buffer = _KindBuffer(kind, self.objects_per_file)
            try:
                self.list_pages(kind, buffer)
            except ApiException as exc:
                if exc.status == 403:
                    warnings.append(f"{kind.label}: forbidden, this account may not list them (403); "
                                    "the snapshot has none")
                    return None
                if exc.status == 404:
                    (skipped if kind.optional else warnings).append(
                        f"{kind.label}: not served by the cluster (404)")
                    return None
                if exc.status == 410 and attempt == 1:
                    continue  # the continue token expired: list again from the start
                raise self.fail(exc, f"listing {kind.label}") from exc
            except SyncError:
                raise
            except Exception as exc:
                raise self.fail(exc, f"listing {kind.label}") from exc
            return buffer
        raise AssertionError("unreachable")

    def list_pages(self, kind: SyncKind, buffer: _KindBuffer) -> None:
        call = self.list_call(kind)
        token = ""
        while True:
            response = call(limit=self.page_size, _continue=token or None, _preload_content=False,
                            _request_timeout=self.timeout)
            try:
                token = _read_page(response, buffer.add)
            except BaseException:
                response.close()
                raise
            response.release_conn()
            if not token:
                return

    def list_call(self, kind: SyncKind) -> Callable[..., Any]:
        core = client.CoreV1Api(self.api)
        apps = client.AppsV1Api(self.api)
        batch = client.BatchV1Api(self.api)
        typed: dict[tuple[str, str], Callable[..., Any]] = {
            ("", "namespaces"): core.list_namespace,
            ("", "pods"): core.list_pod_for_all_namespaces,
            ("apps", "deployments"): apps.list_deployment_for_all_namespaces,
            ("apps", "replicasets"): apps.list_replica_set_for_all_namespaces,
            ("apps", "statefulsets"): apps.list_stateful_set_for_all_namespaces,
            ("apps", "daemonsets"): apps.list_daemon_set_for_all_namespaces,
            ("batch", "jobs"): batch.list_job_for_all_namespaces,
            ("batch", "cronjobs"): batch.list_cron_job_for_all_namespaces,
            ("networking.k8s.io", "networkpolicies"):
                client.NetworkingV1Api(self.api).list_network_policy_for_all_namespaces,
        }
        if (kind.group, kind.plural) in typed:
            return typed[(kind.group, kind.plural)]
        custom = client.CustomObjectsApi(self.api)
        return functools.partial(custom.list_cluster_custom_object, kind.group, kind.version, kind.plural)


def _read_page(stream: Any, on_item: Callable[[dict[str, Any]], None]) -> str:
    """Hand each element of the list's ``items`` to ``on_item`` as it is read; return the page's
    ``metadata.continue`` token ("" on the last page)."""
    token = ""
    builder: ObjectBuilder | None = None
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if builder is not None:
            builder.event(event, value)
            if prefix == "items.item" and event == "end_map":
                on_item(builder.value)
                builder = None
        elif prefix == "items.item" and event == "start_map":
            builder = ObjectBuilder()
            builder.event(event, value)
        elif prefix == "metadata.continue" and event == "string":
            token = value
    return token
