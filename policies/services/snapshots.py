"""Storing uploaded manifests as a snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from policies import engine
from policies.models import Snapshot, SnapshotFile, Team
from policies.services.analyses import start_analysis
from policies.services.manifests import check_manifests, parse_manifests, remember_parse, unique_file_names
from policies.services.objects import store_objects

__all__ = ["create_snapshot", "store_contents"]


@transaction.atomic
def create_snapshot(
    *,
    name: str,
    files: Sequence[tuple[str, str]],
    origin: str = Snapshot.Origin.UPLOAD,
    user: User | AnonymousUser | None = None,
    team: Team | None = None,
) -> Snapshot:
    """Store the files as a new snapshot and queue its analysis.

    An upload is checked only as far as is fast (``check_manifests``: sizes, YAML syntax, objects
    with a kind); its analysis reads the objects, stores them, and fails naming file, document,
    line and field when one is invalid. Other snapshots (demos, proposals) are read at once, and
    their objects stored with the files. Either way, PolicyError means nothing was stored.
    """
    files = unique_file_names(files)
    upload = origin == Snapshot.Origin.UPLOAD
    parsed = None
    if upload:
        check_manifests(files=files)
    else:
        parsed = parse_manifests(files=files)
    snapshot = Snapshot.objects.create(
        name=name.strip() or _default_name(files),
        origin=origin,
        created_by=user if isinstance(user, User) else None,
        team=team or Team.default(),
        objects_stored=parsed is not None,
    )
    store_contents(snapshot=snapshot, files=files, objects=parsed.objects if parsed is not None else None)
    if parsed is not None:
        remember_parse(snapshot=snapshot, parsed=parsed)  # the analysis reads it instead of parsing again
    start_analysis(snapshot=snapshot)
    return snapshot


def store_contents(
    *,
    snapshot: Snapshot,
    files: Sequence[tuple[str, str]],
    objects: Iterable[engine.ManifestObject] | None,
    resource_versions: Mapping[tuple[str, str, str, str], str] | None = None,
) -> None:
    """Store a new snapshot's files and, when given, the objects parsed from them (each with its
    file, document and lines; ``resource_versions`` by (apiVersion, kind, namespace, name), for
    synced objects)."""
    stored = SnapshotFile.objects.bulk_create(
        SnapshotFile(snapshot=snapshot, name=file_name, text=text, position=i)
        for i, (file_name, text) in enumerate(files)
    )
    if objects is None:
        return
    ids = {f.name: f.id for f in stored}
    if any(i is None for i in ids.values()):  # a database that does not return ids on insert
        ids = dict(SnapshotFile.objects.filter(snapshot=snapshot).values_list("name", "id"))
    store_objects(snapshot=snapshot, objects=objects, files=ids, resource_versions=resource_versions)


def _default_name(files: Sequence[tuple[str, str]]) -> str:
    names = ", ".join(name for name, _ in files[:3])
    name = names if len(files) <= 3 else f"{names} and {len(files) - 3} more"
    limit = Snapshot._meta.get_field("name").max_length or 200
    return name if len(name) <= limit else name[: limit - 3] + "..."
