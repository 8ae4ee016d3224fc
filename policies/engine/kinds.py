"""The kinds of policy object the engine reads, by the API that defines them.

Kept apart from the parsers so that the loader (which reads policy documents with the line of
every field at once) and the parsers name the same kinds without importing each other.
"""

from __future__ import annotations

__all__ = ["ADMIN_KINDS", "CALICO_KINDS", "CALICO_NAMESPACED_KINDS", "POLICY_KINDS"]

# policy.networking.k8s.io: admin network policies (v1alpha1) and ClusterNetworkPolicy (v1alpha2).
ADMIN_KINDS = frozenset({"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"})
# projectcalico.org (and crd.projectcalico.org).
CALICO_KINDS = frozenset(
    {
        "GlobalNetworkPolicy",
        "GlobalNetworkSet",
        "HostEndpoint",
        "NetworkPolicy",
        "NetworkSet",
        "Profile",
        "StagedGlobalNetworkPolicy",
        "StagedKubernetesNetworkPolicy",
        "StagedNetworkPolicy",
        "Tier",
    }
)
CALICO_NAMESPACED_KINDS = frozenset(
    {"NetworkPolicy", "NetworkSet", "StagedNetworkPolicy", "StagedKubernetesNetworkPolicy"}
)
# Every kind whose objects are policies or what policies name (Kubernetes' NetworkPolicy included).
POLICY_KINDS = frozenset({"NetworkPolicy"}) | ADMIN_KINDS | CALICO_KINDS
