"""The policies of a snapshot: which they are, what they select, what deleting one would change."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import QuerySet

from policies import engine
from policies.models import POLICY_KINDS, Resource, Snapshot
from policies.services.answers import get_graph
from policies.services.manifests import load_manifests

__all__ = ["AdminSummary", "admin_summaries", "policies_of", "selected_pods", "without_policy_diff"]


def policies_of(*, snapshot_id: int | None = None) -> QuerySet[Resource]:
    """Resources that are policies (Kubernetes and Calico), optionally of one snapshot."""
    # The file's name comes along, not its text (megabytes at cluster scale, read only when shown).
    queryset = Resource.objects.filter(kind__in=POLICY_KINDS).select_related("snapshot", "file").defer("file__text")
    if snapshot_id is not None:
        queryset = queryset.filter(snapshot_id=snapshot_id)
    return queryset


@dataclasses.dataclass(frozen=True)
class AdminSummary:
    """An admin network policy's place (tier, priority) and the pods its subject selects."""

    tier: str
    priority: int | None
    pods: tuple[str, ...]

    @property
    def namespaces(self) -> int:
        return len({p.split("/")[0] for p in self.pods})

    @property
    def text(self) -> str:
        where = f"{self.tier} tier" + (f", priority {self.priority}" if self.priority is not None else "")
        n, ns = len(self.pods), self.namespaces
        pods = "selects no pod" if not n else (
            f"selects {n} pod{'s' if n != 1 else ''} in {ns} namespace{'s' if ns != 1 else ''}")
        return f"{where}; {pods}"


def admin_summaries(*, snapshot: Snapshot) -> dict[str, AdminSummary]:
    """Engine id (Kind/name) -> tier, priority and selected pods of each admin network policy."""
    try:
        cluster = load_manifests(snapshot=snapshot).cluster
    except engine.PolicyError:
        return {}
    out = {}
    for admin in cluster.admin_policies:
        pods = tuple(sorted(p.workload_id if p.from_template else p.id for p in cluster.pods
                            if admin.selects(p, cluster.namespace(p.namespace).labels)))
        out[admin.id] = AdminSummary(admin.tier, admin.priority, pods)
    return out


def selected_pods(*, policy: Resource) -> list[str]:
    """The ids ("namespace/pod") of the pods a policy resource selects. A staged policy selects
    nothing (Calico never enforces it); a Calico NetworkPolicy is told apart from a Kubernetes
    one of the same name by its apiVersion."""
    if policy.is_staged:
        return []
    parsed = load_manifests(snapshot=policy.snapshot)
    kind = "CalicoNetworkPolicy" if policy.trace_kind == "CalicoNetworkPolicy" else policy.kind
    return list(engine.selected_pods(parsed.cluster, kind, policy.namespace, policy.name))


def without_policy_diff(*, snapshot: Snapshot, policy: Resource) -> dict[str, Any] | None:
    """What deleting the policy would change: the engine's diff of the stored workload graph
    against one built without it. None when the policy cannot be found in the parsed input."""
    parsed = load_manifests(snapshot=snapshot)
    cluster = parsed.cluster
    file_name = policy.file.name if policy.file else ""

    def is_it(obj: Any) -> bool:
        source = obj.source
        if file_name and policy.line:
            return bool(source.file == file_name and source.line == policy.line)
        return bool(getattr(obj, "namespace", "") == policy.namespace and obj.name == policy.name)

    if policy.is_admin_policy:
        admin_kept = tuple(a for a in cluster.admin_policies if not (a.kind == policy.kind and is_it(a)))
        if len(admin_kept) == len(cluster.admin_policies):
            return None
        return _diff_without(snapshot, dataclasses.replace(cluster, admin_policies=admin_kept))
    kept = tuple(p for p in cluster.policies if not is_it(p))
    changed = dataclasses.replace(cluster, policies=kept)
    if cluster.calico is not None:
        calico_kept = tuple(p for p in cluster.calico.policies if not is_it(p))
        changed = dataclasses.replace(changed, calico=dataclasses.replace(cluster.calico, policies=calico_kept))
        if len(kept) == len(cluster.policies) and len(calico_kept) == len(cluster.calico.policies):
            return None
    elif len(kept) == len(cluster.policies):
        return None
    return _diff_without(snapshot, changed)


def _diff_without(snapshot: Snapshot, changed: engine.Cluster) -> dict[str, Any]:
    before = get_graph(snapshot=snapshot, level="workload")
    after = engine.build_graph(changed, level="workload").to_dict()
    diff: dict[str, Any] = engine.diff_dicts(before, after).to_dict()
    return diff
