"""The kinds a cluster sync lists: what the engine reads, and nothing else.

Built-in kinds are listed through their typed APIs of the official client; the admin network
policy kinds (policy.networking.k8s.io) and Calico's resources, as the Calico API server serves
them (projectcalico.org/v3) or as their CRDs store them (crd.projectcalico.org/v1), through the
custom objects API. ``deploy/clusterrole.yaml`` grants exactly these (a test checks it).
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CALICO_CRD_GROUP", "CALICO_GROUP", "SYNC_KINDS", "SyncKind"]

CALICO_GROUP = "projectcalico.org"
CALICO_CRD_GROUP = "crd.projectcalico.org"
ADMIN_POLICY_GROUP = "policy.networking.k8s.io"


@dataclass(frozen=True)
class SyncKind:
    """One resource type: its group ("" for the core group), version, plural and kind."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    # A kind of an optional API group (admin policies, Calico): skipped without a warning
    # when the cluster does not serve the group at all.
    optional: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """How messages name the kind: ``pods``, ``networkpolicies.projectcalico.org/v3``."""
        return f"{self.plural}.{self.api_version}" if self.group else self.plural

    @property
    def file_stem(self) -> str:
        """The stored files' name: ``pods``, ``networkpolicies.projectcalico.org``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_CALICO_KINDS = (
    ("tiers", "Tier", False),
    ("globalnetworkpolicies", "GlobalNetworkPolicy", False),
    ("networkpolicies", "NetworkPolicy", True),
    ("stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", False),
    ("stagednetworkpolicies", "StagedNetworkPolicy", True),
    ("stagedkubernetesnetworkpolicies", "StagedKubernetesNetworkPolicy", True),
    ("globalnetworksets", "GlobalNetworkSet", False),
    ("networksets", "NetworkSet", True),
    ("hostendpoints", "HostEndpoint", False),
    ("profiles", "Profile", False),
)

SYNC_KINDS: tuple[SyncKind, ...] = (
    SyncKind("", "v1", "namespaces", "Namespace", namespaced=False),
    SyncKind("", "v1", "pods", "Pod"),
    SyncKind("apps", "v1", "deployments", "Deployment"),
    SyncKind("apps", "v1", "replicasets", "ReplicaSet"),
    SyncKind("apps", "v1", "statefulsets", "StatefulSet"),
    SyncKind("apps", "v1", "daemonsets", "DaemonSet"),
    SyncKind("batch", "v1", "jobs", "Job"),
    SyncKind("batch", "v1", "cronjobs", "CronJob"),
    SyncKind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
    SyncKind(ADMIN_POLICY_GROUP, "v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy",
             namespaced=False, optional=True),
    SyncKind(ADMIN_POLICY_GROUP, "v1alpha1", "baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy",
             namespaced=False, optional=True),
    SyncKind(ADMIN_POLICY_GROUP, "v1alpha2", "clusternetworkpolicies", "ClusterNetworkPolicy",
             namespaced=False, optional=True),
    *(SyncKind(CALICO_GROUP, "v3", plural, kind, namespaced=ns, optional=True) for plural, kind, ns in _CALICO_KINDS),
    *(SyncKind(CALICO_CRD_GROUP, "v1", plural, kind, namespaced=ns, optional=True)
      for plural, kind, ns in _CALICO_KINDS),
)
