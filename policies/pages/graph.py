"""The graph page's configuration: where each policy's page is, and where Calico runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from policies import services
from policies.models import Resource, Snapshot
from policies.pages.state import policy_resources
from policies.pages.words import order_text


def _page_url(snapshot: Snapshot) -> Callable[[int], str]:
    """A policy's page by resource id: one reverse() for all of them (2,000 reverses took a second
    at 10,000 pods on a busy machine)."""
    pattern = reverse("policies:policy", args=[snapshot.id, 987654321])
    head, _, tail = pattern.partition("987654321")
    return lambda resource_id: f"{head}{resource_id}{tail}"


def policy_urls(snapshot: Snapshot, resources: list[Resource] | None = None) -> dict[str, str]:
    """Engine policy id ("namespace/name", or the name of a global policy) -> its policy page."""
    url = _page_url(snapshot)
    urls: dict[str, str] = {}
    for resource in policy_resources(snapshot) if resources is None else resources:
        urls.setdefault(resource.engine_id, url(resource.id))
    return urls


def policy_details(snapshot: Snapshot, resources: list[Resource] | None = None) -> dict[str, dict[str, Any]]:
    """Engine policy id -> its page, kind and, under Calico, tier, tier order, order and evaluation
    position (the graph's side panel lists a node's policies in that order)."""
    url = _page_url(snapshot)
    placements = services.policy_placements(snapshot=snapshot)  # staged policies are left out
    details: dict[str, dict[str, Any]] = {}
    for resource in policy_resources(snapshot) if resources is None else resources:
        if resource.is_staged or resource.engine_id in details:
            continue
        placement = placements.get((resource.trace_kind, resource.namespace, resource.name))
        entry: dict[str, Any] = {"url": url(resource.id), "kind": resource.display_kind}
        if placement is not None:
            entry.update(placement.to_dict())
            entry["position"] = placement.position
            entry["order_text"] = order_text(placement.order)
        if resource.is_admin_policy:
            entry["admin"] = True
        details[resource.engine_id] = entry
    return details


def changed_ids(old: Snapshot, new: Snapshot) -> list[str]:
    """The workloads and blocks whose flows change from ``old`` to ``new`` (the graph's "only what
    changed" filter); none while either analysis is unfinished."""
    try:
        diff = services.diff_snapshots(old=old, new=new, level="workload")
    except services.AnalysisNotReady:
        return []
    flows = [f for key in ("added", "removed", "changed") for f in diff[key]]
    return sorted({f["source"] for f in flows} | {f["target"] for f in flows})
