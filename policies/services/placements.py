"""Where Calico runs each policy: tiers, their order, and the order within a tier."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from policies import engine
from policies.models import CALICO_API_GROUP, Resource, Snapshot
from policies.services.cache import SnapshotCache
from policies.services.manifests import load_manifests

__all__ = ["Placement", "PolicyKey", "placement_sort_key", "policy_placement", "policy_placements"]


@dataclass(frozen=True)
class Placement:
    """Where Calico runs a policy: its tier, the tier's order, and the policy's order in the tier
    (None: no order, evaluated last). ``position`` counts from 0 in evaluation order."""

    tier: str
    tier_order: float | None
    order: float | None
    position: int = 0
    staged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "tier_order": self.tier_order, "order": self.order}


PolicyKey = tuple[str, str, str]  # (trace kind, namespace, name), as in the Calico traces

_placements: SnapshotCache[dict[PolicyKey, Placement]] = SnapshotCache()


def policy_placements(*, snapshot: Snapshot) -> dict[PolicyKey, Placement]:
    """Every policy the Calico evaluator runs, in evaluation order (tier by tier, then by order and
    name), keyed by (trace kind, namespace, name): "GlobalNetworkPolicy", "CalicoNetworkPolicy",
    or "KubernetesNetworkPolicy" (default tier, order 1000). Empty when the snapshot is evaluated
    as plain Kubernetes (it has no Calico resource)."""
    return _placements.get(snapshot, lambda: _compute_placements(snapshot))


def _compute_placements(snapshot: Snapshot) -> dict[PolicyKey, Placement]:
    placements: dict[PolicyKey, Placement] = {}
    # Only a snapshot with Calico objects is parsed: the others have no tiers.
    cluster = None
    if snapshot.resources.filter(api_version__contains=CALICO_API_GROUP).exists():
        try:
            cluster = load_manifests(snapshot=snapshot).cluster
        except engine.PolicyError:
            cluster = None  # stored before the engine learnt to reject it: no tiers to show
    if cluster is not None and cluster.has_calico():
        index = engine.calico_index(cluster)
        for tier in index.tiers:
            for policy in index.by_tier[tier.name]:
                placements[(policy.trace_kind, policy.namespace, policy.name)] = Placement(
                    tier.name, tier.order, policy.order, len(placements)
                )
    return placements


def policy_placement(*, policy: Resource) -> Placement | None:
    """Where Calico runs ``policy`` (None when the snapshot is evaluated as plain Kubernetes). A
    staged policy is not run: its tier and order are read from its text."""
    if policy.is_staged:
        return _staged_placement(policy)
    return policy_placements(snapshot=policy.snapshot).get((policy.trace_kind, policy.namespace, policy.name))


def _staged_placement(policy: Resource) -> Placement | None:
    try:
        data = yaml.safe_load(policy.text)
    except yaml.YAMLError:
        return None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        spec = {}
    given = spec.get("tier")
    tier = given if isinstance(given, str) and given else "default"
    order = spec.get("order")
    order = float(order) if isinstance(order, int | float) and not isinstance(order, bool) else None
    tiers = {p.tier: p.tier_order for p in policy_placements(snapshot=policy.snapshot).values()}
    return Placement(tier, tiers.get(tier), order, position=-1, staged=True)


def placement_sort_key(placement: Placement | None) -> tuple[float, str, float, int]:
    """Evaluation order (tier order, tier, order in the tier); policies without a placement last."""
    if placement is None:
        return (math.inf, "\uffff", math.inf, 0)
    tier_order = math.inf if placement.tier_order is None else placement.tier_order
    order = math.inf if placement.order is None else placement.order
    return (tier_order, placement.tier, order, placement.position)
