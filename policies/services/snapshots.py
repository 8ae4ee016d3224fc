"""Storing uploaded manifests as a snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from policies import engine
from policies.models import Resource, Snapshot, SnapshotFile, Team
from policies.services.analyses import start_analysis
from policies.services.manifests import parse_manifests, remember_parse, unique_file_names

__all__ = ["create_snapshot"]


@transaction.atomic
def create_snapshot(
    *,
    name: str,
    files: Sequence[tuple[str, str]],
    origin: str = Snapshot.Origin.UPLOAD,
    user: User | AnonymousUser | None = None,
    team: Team | None = None,
) -> Snapshot:
    """Store the files and their objects as a new snapshot and queue its analysis.

    The manifests are parsed first: when they are invalid, PolicyError is raised and nothing is stored.
    """
    files = unique_file_names(files)
    parsed = parse_manifests(files=files, upload=origin == Snapshot.Origin.UPLOAD)

    snapshot = Snapshot.objects.create(
        name=name.strip() or _default_name(files),
        origin=origin,
        created_by=user if isinstance(user, User) else None,
        team=team or Team.default(),
    )
    store_contents(snapshot=snapshot, files=files, objects=parsed.objects)
    remember_parse(snapshot=snapshot, parsed=parsed)  # the analysis reads it instead of parsing again
    start_analysis(snapshot=snapshot)
    return snapshot


def store_contents(
    *,
    snapshot: Snapshot,
    files: Sequence[tuple[str, str]],
    objects: Iterable[engine.ManifestObject],
    resource_versions: Mapping[tuple[str, str, str, str], str] | None = None,
) -> None:
    """Store a new snapshot's files and the objects parsed from them (each with its file, document
    and lines; ``resource_versions`` by (apiVersion, kind, namespace, name), for synced objects)."""
    stored = {
        file_name: SnapshotFile.objects.create(snapshot=snapshot, name=file_name, text=text, position=i)
        for i, (file_name, text) in enumerate(files)
    }
    versions = resource_versions or {}
    Resource.objects.bulk_create(
        (
            Resource(
                snapshot=snapshot,
                file=stored.get(obj.source.file),
                kind=obj.kind,
                api_version=obj.api_version,
                namespace=obj.namespace or "",
                name=obj.name or "",
                document=obj.source.document,
                line=obj.source.line,
                end_line=obj.source.end_line,
                text=obj.text,
                resource_version=versions.get((obj.api_version, obj.kind, obj.namespace, obj.name), ""),
            )
            for obj in objects
        ),
        batch_size=1000,
    )


def _default_name(files: Sequence[tuple[str, str]]) -> str:
    names = ", ".join(name for name, _ in files[:3])
    name = names if len(files) <= 3 else f"{names} and {len(files) - 3} more"
    limit = Snapshot._meta.get_field("name").max_length or 200
    return name if len(name) <= limit else name[: limit - 3] + "..."
