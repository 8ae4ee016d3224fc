"""The cluster pages: the connections with how their syncs go, and one connection's history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from policies import services
from policies.models import ClusterConnection, ClusterSync, Snapshot
from policies.pages.compare import _node_from_id
from policies.pages.words import plural, short_label

HISTORY_ROWS = 50  # syncs on the history page


@dataclass
class Status:
    """How a connection's syncs go, in words: its state, the last error and the next try."""

    state: str  # "ok", "failing", "never", "syncing", "paused"
    text: str
    error: str = ""
    error_at: datetime | None = None
    checked: datetime | None = None
    next_sync: datetime | None = None
    next_text: str = ""


def status(connection: ClusterConnection, now: datetime | None = None) -> Status:
    now = now or timezone.now()
    due = connection.next_sync is None or connection.next_sync <= now
    if not connection.enabled:
        next_text = "never: periodic sync is paused"
    elif due:
        next_text = "due now (at the scheduler's next round, within a minute)"
    else:
        next_text = ""
    common: dict[str, Any] = {"checked": connection.last_checked, "next_sync": connection.next_sync,
                              "next_text": next_text}
    if connection.syncing_since is not None:
        return Status("syncing", "Syncing now", **common)
    if connection.last_error:
        retry = f"; the next try backs off ({plural(connection.failures, 'failed sync')} in a row)"
        return Status("failing", f"The last sync failed{retry}", connection.last_error, connection.last_error_at,
                      **common)
    if connection.last_checked is None:
        return Status("never", "Not synced yet", **common)
    if not connection.enabled:
        return Status("paused", "Periodic sync paused", **common)
    return Status("ok", "Synced", **common)


@dataclass
class ConnectionRow:
    connection: ClusterConnection
    status: Status
    latest: Snapshot | None


def connection_rows(connections: QuerySet[ClusterConnection]) -> list[ConnectionRow]:
    rows = []
    for connection in connections:
        latest = connection.snapshots.order_by("-created", "-id").first()
        rows.append(ConnectionRow(connection, status(connection), latest))
    return rows


@dataclass
class FlowLine:
    source: str
    target: str
    connections: str
    cause: str  # "policy" or "endpoints"


@dataclass
class SyncRow:
    sync: ClusterSync
    compare_url: str = ""  # the compare page: this snapshot against the one before
    summary: str = ""  # "2 flows opened, 1 closed, 0 changed; 1 policy changed"
    waiting: bool = False  # a comparison still waiting for an analysis
    opened: list[FlowLine] = field(default_factory=list)
    closed: list[FlowLine] = field(default_factory=list)
    more_opened: int = 0
    more_closed: int = 0


def _label(node_id: str) -> str:
    return short_label(_node_from_id(node_id))


def _lines(flows: list[dict[str, Any]]) -> list[FlowLine]:
    return [FlowLine(_label(f["source"]), _label(f["target"]), f["connections"], f.get("cause", "")) for f in flows]


def history_rows(connection: ClusterConnection) -> list[SyncRow]:
    """The latest syncs, newest first; comparisons that could not be made before are tried now."""
    syncs = list(connection.syncs.select_related("snapshot", "previous")[:HISTORY_ROWS])
    services.fill_changes(syncs)
    rows = []
    for sync in syncs:
        row = SyncRow(sync)
        if sync.snapshot_id and sync.previous_id:
            base = reverse("policies:compare", args=[sync.snapshot_id])
            row.compare_url = f"{base}?against={sync.previous_id}"
            changes = sync.changes
            if changes is None:
                row.waiting = True
            else:
                row.summary = (
                    f"{plural(changes['added'], 'flow')} opened, {changes['removed']} closed, "
                    f"{changes['changed']} changed; {plural(changes['policies'], 'policy', 'policies')} changed"
                )
                row.opened, row.closed = _lines(changes["opened"]), _lines(changes["closed"])
                row.more_opened = changes["added"] - len(row.opened)
                row.more_closed = changes["removed"] - len(row.closed)
        rows.append(row)
    return rows


def drift_choices(snapshots: QuerySet[Snapshot]) -> list[Snapshot]:
    """Of ``snapshots`` (those the user sees), the ones a synced one may be compared with for drift:
    uploads (the manifests in git)."""
    return list(snapshots.exclude(origin=Snapshot.Origin.CLUSTER).order_by("-created", "-id"))
