"""A snapshot's objects as Resource rows: each with its file, document, lines, text and policy key.

An upload stores only its files and answers; its analysis reads the objects and stores them here
(``store_parsed``), once. Snapshots made in the background (cluster syncs, proposals, demos)
store them with their files (``store_objects``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from policies import engine
from policies.models import Resource, Snapshot, SnapshotFile
from policies.services.manifests import load_manifests

__all__ = ["ensure_objects", "store_objects", "store_parsed"]

BATCH = 2000


def store_objects(
    *,
    snapshot: Snapshot,
    objects: Iterable[engine.ManifestObject],
    files: Mapping[str, int] | None = None,
    resource_versions: Mapping[tuple[str, str, str, str], str] | None = None,
) -> None:
    """Store ``objects`` as the snapshot's Resource rows, in bulk; ``files`` maps a file name to
    its SnapshotFile id (read when not given); ``resource_versions`` by (apiVersion, kind,
    namespace, name), for synced objects."""
    if files is None:
        files = dict(SnapshotFile.objects.filter(snapshot=snapshot).values_list("name", "id"))
    versions = resource_versions or {}
    Resource.objects.bulk_create(
        (
            Resource(
                snapshot_id=snapshot.id,
                file_id=files.get(obj.source.file),
                kind=obj.kind,
                api_version=obj.api_version,
                namespace=obj.namespace or "",
                name=obj.name or "",
                document=obj.source.document,
                line=obj.source.line,
                end_line=obj.source.end_line,
                text=obj.text,
                resource_version=versions.get((obj.api_version, obj.kind, obj.namespace, obj.name), ""),
                policy_key=engine.object_policy_key(obj.kind, obj.api_version, obj.namespace or "", obj.name or ""),
            )
            for obj in objects
        ),
        batch_size=BATCH,
    )


def store_parsed(*, snapshot: Snapshot, parsed: engine.ParseResult) -> bool:
    """Store the objects of an upload read by its analysis, unless they are stored already (an
    analysis run again, or two at once); True when this call stored them."""
    with transaction.atomic():
        if Snapshot.objects.filter(id=snapshot.id, objects_stored=True).exists():
            stored = False
        else:
            Resource.objects.filter(snapshot_id=snapshot.id).delete()  # none, unless a run was cut off
            store_objects(snapshot=snapshot, objects=parsed.objects)
            # Last, so that the snapshot's row is written (locked) only for a moment.
            stored = bool(Snapshot.objects.filter(id=snapshot.id, objects_stored=False).update(objects_stored=True))
            if not stored:
                transaction.set_rollback(True)  # another run stored them meanwhile: keep theirs
    snapshot.objects_stored = True
    return stored


def ensure_objects(*, snapshot: Snapshot) -> None:
    """Make sure the snapshot's objects are stored (a proposal reads its base's objects, maybe before
    the base's analysis did): read and store them now if not. PolicyError when they cannot be read."""
    if Snapshot.objects.filter(id=snapshot.id, objects_stored=True).exists():
        return
    store_parsed(snapshot=snapshot, parsed=load_manifests(snapshot=snapshot))
