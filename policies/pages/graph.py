"""The graph page's configuration: where each policy's page is, and where Calico runs it."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from policies import services
from policies.models import Snapshot
from policies.pages.state import policy_resources
from policies.pages.words import order_text


def policy_urls(snapshot: Snapshot) -> dict[str, str]:
    """Engine policy id ("namespace/name", or the name of a global policy) -> its policy page."""
    urls: dict[str, str] = {}
    for resource in policy_resources(snapshot):
        urls.setdefault(resource.qualified_name, reverse("policies:policy", args=[snapshot.id, resource.id]))
    return urls


def policy_details(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Engine policy id -> its page, kind and, under Calico, tier, tier order, order and evaluation
    position (the graph's side panel lists a node's policies in that order)."""
    details: dict[str, dict[str, Any]] = {}
    for resource in policy_resources(snapshot):
        if resource.is_staged or resource.qualified_name in details:
            continue
        placement = services.policy_placement(policy=resource)
        entry: dict[str, Any] = {
            "url": reverse("policies:policy", args=[snapshot.id, resource.id]),
            "kind": resource.display_kind,
        }
        if placement is not None:
            entry.update(placement.to_dict())
            entry["position"] = placement.position
            entry["order_text"] = order_text(placement.order)
        details[resource.qualified_name] = entry
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
