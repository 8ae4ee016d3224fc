"""The engine's input model: a ``Cluster`` gathers the cluster's objects and every policy.

The objects (namespaces, pods, nodes, labels) are in ``policies.engine.cluster``, Kubernetes
policies in ``policies.engine.k8s.model`` and Calico resources in ``policies.engine.calico.model``;
all of them are parsed, validated and defaulted, so the evaluators never see raw dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from policies.engine.admin.model import AdminPolicy
from policies.engine.cluster import NAMESPACE_NAME_LABEL, Labels, Namespace, Node, Pod, ServiceAccount
from policies.engine.k8s.model import NetworkPolicy

if TYPE_CHECKING:  # the Calico model is loaded when an input has Calico resources
    from policies.engine.calico.model import CalicoResources

__all__ = ["Cluster"]


@dataclass(frozen=True)
class Cluster:
    """Everything the evaluators need, sorted and deduplicated."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    nodes: tuple[Node, ...] = ()
    service_accounts: tuple[ServiceAccount, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()
    calico: CalicoResources | None = None
    admin_policies: tuple[AdminPolicy, ...] = ()  # AdminNetworkPolicy, its baseline, ClusterNetworkPolicy
    skipped: tuple[tuple[str, int], ...] = ()  # (kind, count) of objects that were not used
    warnings: tuple[str, ...] = ()

    def namespace(self, name: str) -> Namespace:
        found = self._namespaces_by_name.get(name)
        if found is not None:
            return found
        return Namespace(name, Labels({NAMESPACE_NAME_LABEL: name}), defined=False)

    @cached_property
    def _namespaces_by_name(self) -> dict[str, Namespace]:
        """Namespaces by name (the first of a name, as a scan would find it), built once."""
        out: dict[str, Namespace] = {}
        for ns in self.namespaces:
            out.setdefault(ns.name, ns)
        return out

    def namespace_labels(self) -> dict[str, Labels]:
        return {ns.name: ns.labels for ns in self.namespaces}

    def admin_policies_selecting(self, pod: Pod) -> list[AdminPolicy]:
        labels = self.namespace(pod.namespace).labels
        return [a for a in self.admin_policies if a.selects(pod, labels)]

    def has_calico(self) -> bool:
        return self.calico is not None and not self.calico.is_empty()
