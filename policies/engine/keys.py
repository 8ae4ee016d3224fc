"""One key per policy: what traces, graphs, diffs and the web app's stored objects call a policy.

``Kind/namespace/name`` for a namespaced policy, ``Kind/name`` for a cluster-wide one, where Kind
is the object's kind with one exception: Calico's namespaced ``NetworkPolicy``
(projectcalico.org) is ``CalicoNetworkPolicy``, so that it never shares a key with the Kubernetes
``NetworkPolicy`` (networking.k8s.io) of the same namespace and name. The Calico evaluator's
``KubernetesNetworkPolicy`` (a Kubernetes policy converted to Calico's model) keeps the key of the
Kubernetes object it came from; an admin network policy's key is its id (``AdminNetworkPolicy/name``).

The engine's older ``id`` (``namespace/name``, the name of a global policy) stays as it was: two
policies of different kinds may share it, the key never.
"""

from __future__ import annotations

__all__ = ["CALICO_GROUPS", "POLICY_OBJECT_KINDS", "object_policy_key", "policy_key"]

CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
# Kinds whose objects are policies, by API group ("" for Calico's: any of CALICO_GROUPS).
POLICY_OBJECT_KINDS = {
    "networking.k8s.io": frozenset({"NetworkPolicy"}),
    "policy.networking.k8s.io": frozenset({"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"}),
    "calico": frozenset({
        "NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy",
        "StagedKubernetesNetworkPolicy",
    }),
}
# The names traces give a kind, when they differ from the key's.
_KEY_KINDS = {"KubernetesNetworkPolicy": "NetworkPolicy"}


def policy_key(kind: str, namespace: str, name: str) -> str:
    """The key of a policy of ``kind`` as traces and graphs name kinds ("NetworkPolicy",
    "CalicoNetworkPolicy", "KubernetesNetworkPolicy", "GlobalNetworkPolicy", "Profile", ...)."""
    kind = _KEY_KINDS.get(kind, kind)
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def object_policy_key(kind: str, api_version: str, namespace: str, name: str) -> str:
    """The key of a stored object (its kind, apiVersion, namespace and name); "" when it is not a
    policy. A NetworkPolicy without apiVersion is read as networking.k8s.io's."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if group in CALICO_GROUPS:
        if kind not in POLICY_OBJECT_KINDS["calico"]:
            return ""
        return policy_key("CalicoNetworkPolicy" if kind == "NetworkPolicy" else kind, namespace, name)
    if kind == "NetworkPolicy" and group in ("networking.k8s.io", ""):
        return policy_key(kind, namespace, name)
    if kind in POLICY_OBJECT_KINDS.get(group, ()):
        return policy_key(kind, "", name)
    return ""
