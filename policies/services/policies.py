"""The policies of a snapshot: which they are, what they select, what deleting one would change."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import QuerySet

from policies import engine
from policies.models import POLICY_KINDS, Resource, Snapshot
from policies.services.answers import get_graph
from policies.services.manifests import load_manifests

__all__ = ["policies_of", "selected_pods", "without_policy_diff"]


def policies_of(*, snapshot_id: int | None = None) -> QuerySet[Resource]:
    """Resources that are policies (Kubernetes and Calico), optionally of one snapshot."""
    # The file's name comes along, not its text (megabytes at cluster scale, read only when shown).
    queryset = Resource.objects.filter(kind__in=POLICY_KINDS).select_related("snapshot", "file").defer("file__text")
    if snapshot_id is not None:
        queryset = queryset.filter(snapshot_id=snapshot_id)
    return queryset


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

    kept = tuple(p for p in cluster.policies if not is_it(p))
    changed = dataclasses.replace(cluster, policies=kept)
    if cluster.calico is not None:
        calico_kept = tuple(p for p in cluster.calico.policies if not is_it(p))
        changed = dataclasses.replace(changed, calico=dataclasses.replace(cluster.calico, policies=calico_kept))
        if len(kept) == len(cluster.policies) and len(calico_kept) == len(cluster.calico.policies):
            return None
    elif len(kept) == len(cluster.policies):
        return None
    before = get_graph(snapshot=snapshot, level="workload")
    after = engine.build_graph(changed, level="workload").to_dict()
    diff: dict[str, Any] = engine.diff_dicts(before, after).to_dict()
    return diff
