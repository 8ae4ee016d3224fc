"""Which pods a Calico policy applies to (SEMANTICS.md 5.4), in either direction."""

from __future__ import annotations

from policies.engine.calico.index import policy_applies
from policies.engine.model import Cluster

_KINDS = {"NetworkPolicy", "GlobalNetworkPolicy", "CalicoNetworkPolicy"}


def calico_selected_pods(cluster: Cluster, kind: str, namespace: str, name: str) -> list[str] | None:
    """Pod ids a Calico policy applies to, or None when the input has no such policy."""
    if cluster.calico is None or kind not in _KINDS:
        return None
    want_global = kind == "GlobalNetworkPolicy"
    for policy in cluster.calico.policies:
        if policy.name != name or (policy.kind == "GlobalNetworkPolicy") != want_global:
            continue
        if not want_global and policy.namespace != namespace:
            continue
        return sorted(
            p.workload_id if p.from_template else p.id
            for p in cluster.pods
            if any(policy_applies(cluster, policy, p, d) for d in ("Ingress", "Egress"))
        )
    return None
