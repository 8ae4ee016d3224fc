"""A cluster's history: each new synced snapshot compared with the one before it.

The comparison is the compare page's (``diff_snapshots``); what the history keeps of it is small:
how many flows opened, closed and changed, how many policies changed, and the first opened and
closed flows by name and connections. It is filled in when the new snapshot's analysis finishes
(``compare_after_analysis``), or later by ``fill_changes`` when the one before was not done then.
"""

from __future__ import annotations

import logging
from typing import Any

from policies.models import ClusterSync, Snapshot
from policies.services.answers import connections_text, diff_snapshots
from policies.services.errors import AnalysisNotReady

__all__ = ["HISTORY_FLOWS", "compare_after_analysis", "compare_sync", "fill_changes"]

logger = logging.getLogger(__name__)

HISTORY_FLOWS = 20  # opened and closed flows kept per sync; the compare page lists them all


def compare_sync(sync: ClusterSync) -> bool:
    """Store what the sync's snapshot changed against the one before; False while either snapshot's
    analysis has not finished (or there is nothing to compare)."""
    if sync.changes is not None or sync.snapshot is None or sync.previous is None:
        return sync.changes is not None
    try:
        diff = diff_snapshots(old=sync.previous, new=sync.snapshot)
    except AnalysisNotReady:
        return False
    sync.changes = summarize(diff)
    sync.save(update_fields=["changes"])
    return True


def summarize(diff: dict[str, Any]) -> dict[str, Any]:
    def flows(key: str) -> list[dict[str, str]]:
        return [
            {"source": flow["source"], "target": flow["target"], "connections": connections_text(flow),
             "cause": flow.get("cause", "")}
            for flow in diff[key][:HISTORY_FLOWS]
        ]

    return {
        "added": len(diff["added"]),
        "removed": len(diff["removed"]),
        "changed": len(diff["changed"]),
        "policies": len(diff.get("policies_changed", [])),
        "opened": flows("added"),
        "closed": flows("removed"),
    }


def compare_after_analysis(*, snapshot: Snapshot) -> None:
    """Called when a snapshot's analysis finished: compare the syncs it takes part in (as the new
    snapshot, or as the one before a newer sync that waited for it)."""
    pending = ClusterSync.objects.filter(changes__isnull=True).select_related("snapshot", "previous")
    for sync in pending.filter(snapshot=snapshot) | pending.filter(previous=snapshot):
        try:
            compare_sync(sync)
        except Exception:  # the history is a view; it must not fail the analysis
            logger.exception("cluster sync %s: comparison failed", sync.id)


def fill_changes(syncs: list[ClusterSync]) -> None:
    """Compare the listed syncs that are still waiting (the history page calls this)."""
    for sync in syncs:
        if sync.changes is None and sync.snapshot_id and sync.previous_id:
            compare_sync(sync)
