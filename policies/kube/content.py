"""What of a listed object is kept, and the content hash that tells whether a cluster changed.

The API server adds bookkeeping to every object (resourceVersion, uid, managedFields, timestamps,
status conditions) that changes without the object's meaning changing. It is dropped before the
object is stored, except a Pod's phase and addresses, which decide what the engine sees. The
resourceVersion is kept apart, as the object's origin, and is not part of the hash.
https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["ContentHash", "object_key", "strip_noise"]

NOISE_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
NOISE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
POD_STATUS_KEPT = ("phase", "podIP", "podIPs", "hostIP", "hostIPs")


def strip_noise(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without bookkeeping (changed in place and returned)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        for key in NOISE_METADATA:
            metadata.pop(key, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            for key in NOISE_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                del metadata["annotations"]
    status = obj.pop("status", None)
    if obj.get("kind") == "Pod" and isinstance(status, dict):
        kept = {key: status[key] for key in POD_STATUS_KEPT if key in status}
        if kept:
            obj["status"] = kept
    return obj


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): one object's identity in a snapshot."""
    metadata = obj.get("metadata") or {}
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")),
            str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


class ContentHash:
    """A hash over a set of objects that depends neither on their order nor on key order."""

    def __init__(self) -> None:
        self._digests: list[tuple[tuple[str, str, str, str], str]] = []

    def add(self, obj: dict[str, Any]) -> None:
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._digests.append((object_key(obj), hashlib.sha256(canonical.encode()).hexdigest()))

    def extend(self, other: Iterable[tuple[tuple[str, str, str, str], str]]) -> None:
        self._digests.extend(other)

    def items(self) -> list[tuple[tuple[str, str, str, str], str]]:
        return list(self._digests)

    def hexdigest(self) -> str:
        total = hashlib.sha256()
        for key, digest in sorted(self._digests):
            total.update("\x1f".join((*key, digest)).encode())
            total.update(b"\n")
        return total.hexdigest()
