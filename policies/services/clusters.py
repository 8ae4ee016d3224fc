"""Cluster connections and their syncs: the ORM side of ``policies.kube``.

A sync reads the whole cluster first (``kube.read_cluster``) and parses it with the engine; only
then, in one transaction, does it store a snapshot. So a sync that fails part way stores nothing
but the failure's message on the connection. A sync whose content hash equals the last snapshot's
stores no snapshot either, only the time it checked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from policies import audit, engine, kube, tasks
from policies.encryption import DecryptionError, decrypt_text, encrypt_text
from policies.models import ClusterConnection, ClusterSync, Snapshot, Team
from policies.services.analyses import start_analysis
from policies.services.manifests import remember_parse
from policies.services.snapshots import store_contents

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,98}[a-z0-9])?$")
# A sync that has held its connection this long is taken to have died (a killed worker).
STALE_SYNC = timedelta(minutes=30)


class InvalidConnection(Exception):
    """A connection cannot be registered as given (bad name, kubeconfig or context)."""


class SyncFailed(Exception):
    """The sync could not read the cluster; the message is also on the connection."""


class SyncInProgress(Exception):
    """Another sync of the same connection is running."""


@dataclass
class SyncOutcome:
    """What one sync did: the snapshot it made (created) or found unchanged, and its warnings."""

    snapshot: Snapshot | None
    created: bool
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot.id if self.snapshot else None, "created": self.created,
                "warnings": self.warnings}


# --- Connections ------------------------------------------------------------------------------


def add_cluster(
    *,
    name: str,
    kubeconfig: str | None,
    context: str = "",
    interval_minutes: int = 60,
    user: User | AnonymousUser | None = None,
    team: Team | None = None,
) -> ClusterConnection:
    """Register a cluster for ``team`` (the default team when None): with a kubeconfig (stored
    encrypted) or, when it is None, the in-cluster service account. Raises InvalidConnection with
    a clear message."""
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise InvalidConnection(f"name {name!r}: use lower-case letters, digits, '-' and '_' (at most 100)")
    if ClusterConnection.objects.filter(name=name).exists():
        raise InvalidConnection(f"a cluster named {name!r} already exists")
    if interval_minutes < 1:
        raise InvalidConnection("the sync interval must be at least 1 minute")
    connection = ClusterConnection(name=name, team=team or Team.default(), context=context.strip(),
                                   interval_minutes=interval_minutes,
                                   created_by=user if isinstance(user, User) else None)
    if kubeconfig is None:
        connection.in_cluster = True
    else:
        _check_kubeconfig(kubeconfig, connection.context)
        summary = kube.kubeconfig_summary(kubeconfig, connection.context)
        connection.kubeconfig_encrypted = encrypt_text(kubeconfig)
        connection.context = summary["context"]
        connection.server = summary["server"][:500]
        connection.user_name = summary["user"][:200]
    connection.save()
    details = {"source": connection.source, "server": connection.server, "context": connection.context,
               "team": connection.team.name}
    audit.record(user, "added a cluster connection", connection, details)
    return connection


def _check_kubeconfig(text: str, context: str) -> None:
    try:
        contexts = kube.kubeconfig_contexts(text)
        if context and context not in contexts:
            raise InvalidConnection(f"the kubeconfig has no context {context!r} (it has {', '.join(contexts)})")
        api: Any = kube.api_client(kubeconfig=text, context=context)
        api.close()
    except kube.SyncError as exc:
        raise InvalidConnection(exc.message) from exc


def _client(connection: ClusterConnection) -> Any:
    if connection.in_cluster:
        return kube.api_client(kubeconfig=None)
    try:
        text = decrypt_text(connection.kubeconfig_encrypted)
    except DecryptionError as exc:
        raise kube.SyncError(str(exc)) from exc
    return kube.api_client(kubeconfig=text, context=connection.context)


# --- Syncing ----------------------------------------------------------------------------------


def sync_cluster(*, connection: ClusterConnection, user: User | AnonymousUser | None = None) -> SyncOutcome:
    """Read the cluster now and store a snapshot when its content changed.

    Every sync that ran is kept as a ClusterSync (the history page) and in the audit trail.
    Raises SyncFailed (recorded on the connection, retried later with backoff) or SyncInProgress."""
    _hold(connection)
    started = connection.last_attempt or timezone.now()
    try:
        read, parsed = _read(connection)
    except (kube.SyncError, engine.PolicyError) as exc:
        message = exc.message if isinstance(exc, kube.SyncError) else f"the cluster's objects cannot be read: {exc}"
        _failed(connection, started, message, user)
        raise SyncFailed(message) from exc
    except BaseException:
        _failed(connection, started, "internal error while syncing", user)
        raise
    try:
        with transaction.atomic():
            last = connection.snapshots.order_by("-created", "-id").first()
            if last is not None and last.content_hash == read.content_hash:
                outcome = SyncOutcome(last, False, read.warnings, read.counts)
            else:
                snapshot = _store(connection, read, parsed, user)
                outcome = SyncOutcome(snapshot, True, read.warnings, read.counts)
            sync = ClusterSync.objects.create(
                connection=connection,
                started=started,
                finished=timezone.now(),
                outcome=ClusterSync.Outcome.CREATED if outcome.created else ClusterSync.Outcome.UNCHANGED,
                snapshot=outcome.snapshot,
                previous=last if outcome.created else None,
                warnings=read.warnings,
                counts=read.counts,
            )
    except BaseException:
        _failed(connection, started, "internal error while storing the snapshot", user)
        raise
    connection.record_success()
    audit.record(user, "synced", connection, {"sync": sync.id, **outcome.to_dict()})
    return outcome


def _failed(connection: ClusterConnection, started: Any, message: str, user: User | AnonymousUser | None) -> None:
    connection.record_failure(message)
    sync = ClusterSync.objects.create(connection=connection, started=started, finished=timezone.now(),
                                      outcome=ClusterSync.Outcome.FAILED, error=message)
    audit.record(user, "sync failed", connection, {"sync": sync.id, "error": message})


def _hold(connection: ClusterConnection) -> None:
    """Mark the connection as being synced, unless another live sync holds it."""
    now = timezone.now()
    held = ClusterConnection.objects.filter(id=connection.id).filter(
        Q(syncing_since__isnull=True) | Q(syncing_since__lt=now - STALE_SYNC)
    ).update(syncing_since=now, last_attempt=now)
    if not held:
        raise SyncInProgress(f"cluster {connection.name} is being synced already")
    connection.syncing_since = connection.last_attempt = now


def _read(connection: ClusterConnection) -> tuple[kube.ClusterRead, engine.ParseResult]:
    api = _client(connection)
    try:
        read = kube.read_cluster(
            api,
            page_size=settings.NETPOL_SYNC_PAGE_SIZE,
            timeout=(settings.NETPOL_SYNC_CONNECT_TIMEOUT, settings.NETPOL_SYNC_READ_TIMEOUT),
        )
    finally:
        api.close()
    parsed = engine.parse_files(read.files)
    return read, parsed


def _store(
    connection: ClusterConnection, read: kube.ClusterRead, parsed: engine.ParseResult,
    user: User | AnonymousUser | None,
) -> Snapshot:
    snapshot = Snapshot.objects.create(
        name=f"{connection.name} at {timezone.now():%Y-%m-%d %H:%M} UTC",
        origin=Snapshot.Origin.CLUSTER,
        cluster=connection,
        team_id=connection.team_id,
        content_hash=read.content_hash,
        warnings=read.warnings,
        created_by=user if isinstance(user, User) else None,
    )
    store_contents(
        snapshot=snapshot, files=read.files, objects=parsed.objects, resource_versions=read.resource_versions
    )
    remember_parse(snapshot=snapshot, parsed=parsed)  # the analysis reads it instead of parsing again
    start_analysis(snapshot=snapshot)
    return snapshot


def run_sync(*, connection_id: int, user_id: int | None = None) -> None:
    """The sync task's body: sync one connection; failures are recorded, not raised."""
    try:
        connection = ClusterConnection.objects.get(id=connection_id)
    except ClusterConnection.DoesNotExist:
        return
    user = User.objects.filter(id=user_id).first() if user_id is not None else None
    try:
        outcome = sync_cluster(connection=connection, user=user)
    except (SyncFailed, SyncInProgress) as exc:
        logger.warning("cluster %s: %s", connection.name, exc)
        return
    logger.info("cluster %s synced: %s", connection.name, outcome.to_dict())


def queue_sync(*, connection: ClusterConnection, user: User | AnonymousUser | None = None) -> None:
    """Sync in the background (in-process on the embedded default, where tasks run eagerly)."""
    user_id = user.id if isinstance(user, User) else None
    transaction.on_commit(lambda: tasks.sync_cluster.delay(connection.id, user_id))


def due_connections(*, now: Any = None) -> QuerySet[ClusterConnection]:
    now = now or timezone.now()
    return ClusterConnection.objects.filter(enabled=True).filter(Q(next_sync__isnull=True) | Q(next_sync__lte=now))


def start_due_syncs() -> list[int]:
    """Queue a sync of every connection that is due; their ids."""
    ids = list(due_connections().values_list("id", flat=True))
    for connection_id in ids:
        tasks.sync_cluster.delay(connection_id)
    return ids
