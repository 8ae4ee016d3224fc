"""The graph page's configuration: where each policy's page is, and where Calico runs it."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from policies import services
from policies.models import Snapshot
from policies.pages.state import policy_resources
from policies.pages.words import order_text


def policy_urls(snapshot: Snapshot) -> dict[str, str]:
    """Policy key (engine keys.py: "NetworkPolicy/shop/db", as graph nodes and explanations name
    policies) -> its policy page, an enforced policy before a staged one."""
    urls: dict[str, str] = {}
    for resource in sorted(policy_resources(snapshot), key=lambda r: r.is_staged):
        if resource.policy_key:
            urls.setdefault(resource.policy_key, reverse("policies:policy", args=[snapshot.id, resource.id]))
    return urls


def policy_details(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Policy key -> its name (the engine id, "namespace/name"), page, kind and, under Calico, tier,
    tier order, order and evaluation position (the graph's side panel lists a node's policies in
    that order)."""
    details: dict[str, dict[str, Any]] = {}
    for resource in policy_resources(snapshot):
        if resource.is_staged or not resource.policy_key or resource.policy_key in details:
            continue
        placement = services.policy_placement(policy=resource)
        entry: dict[str, Any] = {
            "name": resource.engine_id,
            "url": reverse("policies:policy", args=[snapshot.id, resource.id]),
            "kind": resource.display_kind,
        }
        if placement is not None:
            entry.update(placement.to_dict())
            entry["position"] = placement.position
            entry["order_text"] = order_text(placement.order)
        if resource.is_admin_policy:
            entry["admin"] = True
        details[resource.policy_key] = entry
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
