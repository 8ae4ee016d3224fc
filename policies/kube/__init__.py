"""Reading live clusters with the official ``kubernetes`` client. No Django here: the sync
service (ORM side) calls ``read_cluster`` and stores what it returns."""

from policies.kube.client import api_client, kubeconfig_contexts, kubeconfig_summary
from policies.kube.errors import SyncError
from policies.kube.kinds import SYNC_KINDS, SyncKind
from policies.kube.reader import ClusterRead, read_cluster

__all__ = [
    "SYNC_KINDS",
    "ClusterRead",
    "SyncError",
    "SyncKind",
    "api_client",
    "kubeconfig_contexts",
    "kubeconfig_summary",
    "read_cluster",
]
