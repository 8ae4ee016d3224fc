"""Which pods a policy selects (SEMANTICS.md 4.3 for Kubernetes, 5.4 for Calico; admin network
policies: docs/admin-policies.md section 3)."""

from __future__ import annotations

from policies.engine.errors import PolicyError
from policies.engine.model import Cluster


def selected_pods(cluster: Cluster, kind: str, namespace: str, name: str) -> list[str]:
    """Ids of the pods (or workload templates) that a policy applies to, in either direction."""
    if kind == "NetworkPolicy":
        for np in cluster.policies:
            if np.namespace == namespace and np.name == name:
                return sorted(
                    p.workload_id if p.from_template else p.id
                    for p in cluster.pods
                    if p.namespace == np.namespace and not p.host_network and np.pod_selector.matches(p.labels)
                )
    for admin in cluster.admin_policies:
        if admin.kind == kind and admin.name == name:
            return sorted(
                p.workload_id if p.from_template else p.id
                for p in cluster.pods
                if admin.selects(p, cluster.namespace(p.namespace).labels)
            )
    if cluster.calico is not None:
        from policies.engine.calico.selection import calico_selected_pods

        found: list[str] | None = calico_selected_pods(cluster, kind, namespace, name)
        if found is not None:
            return found
    raise PolicyError(f"no {kind} {namespace + '/' if namespace else ''}{name} in the input")
