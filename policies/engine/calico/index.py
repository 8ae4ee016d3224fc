"""The per-cluster Calico index: tiers, ordered policies and the labels Calico selectors see (5.1, 5.4).

Built once per cluster object and cached without keeping the cluster alive; the per-flow
evaluator, the graph tables and lint all read it.
https://docs.tigera.io/calico/latest/reference/resources/workloadendpoint
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Iterable

from policies.engine.calico.convert import convert_k8s_policy
from policies.engine.calico.model import (
    DEFAULT_TIER,
    NAME_LABEL,
    NAMESPACE_LABEL,
    ORCHESTRATOR_LABEL,
    SERVICE_ACCOUNT_LABEL,
    SERVICE_ACCOUNT_LABEL_MAX,
    CalicoPolicy,
    CalicoResources,
    Tier,
)
from policies.engine.cluster import NAMESPACE_NAME_LABEL, IPAddress, Labels, Pod
from policies.engine.flows import Endpoint
from policies.engine.model import Cluster

__all__ = ["CalicoIndex", "calico_index", "host_endpoint_of", "policy_applies"]


class CalicoIndex:
    """Tiers, ordered policies and the label sets Calico selectors see, for one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        # A weak reference: the module cache below must not keep clusters alive.
        self._cluster = weakref.ref(cluster)
        self.resources = cluster.calico or CalicoResources()
        policies = [*self.resources.policies, *(convert_k8s_policy(np) for np in cluster.policies)]
        names = {DEFAULT_TIER} | {p.tier for p in policies}
        tiers = {t.name: t for t in self.resources.tiers}
        for name in names:
            tiers.setdefault(name, self.resources.tier(name))
        self.tiers: list[Tier] = sorted(tiers.values(), key=lambda t: t.sort_key())
        self.by_tier: dict[str, list[CalicoPolicy]] = {t.name: [] for t in self.tiers}
        # Candidates per tier: the global policies, and the namespaced ones per namespace.
        self._global: dict[str, list[CalicoPolicy]] = {t.name: [] for t in self.tiers}
        self._namespaced: dict[tuple[str, str], list[CalicoPolicy]] = {}
        for p in sorted(policies, key=lambda p: p.sort_key()):
            self.by_tier[p.tier].append(p)
            if p.kind == "GlobalNetworkPolicy":
                self._global[p.tier].append(p)
            else:
                self._namespaced.setdefault((p.tier, p.namespace), []).append(p)
        self.ns_labels: dict[str, Labels] = {}
        for ns in cluster.namespaces:
            self.ns_labels[ns.name] = ns.labels.with_items({NAME_LABEL: ns.name})
        self.sa_labels: dict[tuple[str, str], Labels] = {
            (sa.namespace, sa.name): sa.labels.with_items({NAME_LABEL: sa.name})
            for sa in cluster.service_accounts
        }
        self._endpoint_labels: dict[tuple[str, str, Labels], Labels] = {}

    def belongs_to(self, cluster: Cluster) -> bool:
        return self._cluster() is cluster

    def namespace_labels(self, namespace: str) -> Labels:
        """A namespace's labels as namespaceSelectors see them (N1 + N2)."""
        labels = self.ns_labels.get(namespace)
        if labels is None:
            # A namespace only referenced by other objects carries the N1 label alone.
            labels = Labels({NAMESPACE_NAME_LABEL: namespace, NAME_LABEL: namespace})
            self.ns_labels[namespace] = labels
        return labels

    def service_account_labels(self, namespace: str, name: str) -> Labels:
        """A service account's labels as serviceAccountSelectors see them (5.4)."""
        labels = self.sa_labels.get((namespace, name))
        if labels is None:
            labels = Labels({NAME_LABEL: name})
            self.sa_labels[(namespace, name)] = labels
        return labels

    def endpoint_labels(self, namespace: str, labels: Labels, service_account: str) -> Labels:
        """The labels of a workload endpoint (5.1): the pod's own, Calico's, and the inherited
        ``pcns.`` / ``pcsa.`` labels of its profiles (own labels win over inherited ones)."""
        key = (namespace, service_account, labels)
        cached = self._endpoint_labels.get(key)
        if cached is not None:
            return cached
        merged: dict[str, str] = {}
        for k, v in self.namespace_labels(namespace).items():
            merged[f"pcns.{k}"] = v
        for k, v in self.service_account_labels(namespace, service_account).items():
            merged[f"pcsa.{k}"] = v
        merged.update(labels)
        merged[NAMESPACE_LABEL] = namespace
        merged[ORCHESTRATOR_LABEL] = "k8s"
        if len(service_account) < SERVICE_ACCOUNT_LABEL_MAX:
            merged[SERVICE_ACCOUNT_LABEL] = service_account
        result = Labels(merged)
        self._endpoint_labels[key] = result
        return result

    def pod_labels(self, pod: Pod) -> Labels:
        return self.endpoint_labels(pod.namespace, pod.labels, pod.service_account)

    def applies(
        self, policy: CalicoPolicy, namespace: str, labels: Labels, service_account: str, direction: str
    ) -> bool:
        """Whether ``policy`` applies to an endpoint for ``direction`` (5.4)."""
        if direction not in policy.types:
            return False
        if policy.kind != "GlobalNetworkPolicy" and policy.namespace != namespace:
            return False  # a namespaced policy never selects outside its namespace
        ep_labels = self.endpoint_labels(namespace, labels, service_account)
        if policy.selector is not None and not policy.selector.evaluate(ep_labels):
            return False
        if policy.namespace_selector is not None and not policy.namespace_selector.evaluate(
            self.namespace_labels(namespace), namespace_context=True
        ):
            return False
        if policy.service_account_selector is not None and not policy.service_account_selector.evaluate(
            self.service_account_labels(namespace, service_account)
        ):
            return False
        return True

    def applicable(
        self, namespace: str, labels: Labels, service_account: str, direction: str
    ) -> list[tuple[Tier, list[CalicoPolicy]]]:
        """The tiers that apply, in order, each with its applicable policies in order."""
        out = []
        for tier in self.tiers:
            candidates: Iterable[CalicoPolicy] = self._global[tier.name]
            local = self._namespaced.get((tier.name, namespace))
            if local:
                candidates = heapq.merge(candidates, local, key=lambda p: p.sort_key())
            pols = [p for p in candidates if self.applies(p, namespace, labels, service_account, direction)]
            if pols:
                out.append((tier, pols))
        return out


_INDEXES: dict[int, CalicoIndex] = {}


def calico_index(cluster: Cluster) -> CalicoIndex:
    """The index of ``cluster``, built once per cluster object."""
    key = id(cluster)
    index = _INDEXES.get(key)
    if index is None or not index.belongs_to(cluster):
        index = CalicoIndex(cluster)
        _INDEXES[key] = index
        weakref.finalize(cluster, _INDEXES.pop, key, None)
    return index


def policy_applies(cluster: Cluster, policy: CalicoPolicy, pod: Pod, direction: str) -> bool:
    """Whether ``policy`` applies to ``pod`` for ``direction`` (5.4); hostNetwork pods never."""
    if pod.host_network:
        return False
    return calico_index(cluster).applies(policy, pod.namespace, pod.labels, pod.service_account, direction)


def host_endpoint_of(index: CalicoIndex, end: Endpoint, ip: IPAddress | None = None) -> str:
    """The host endpoint that stands for ``end``: one on its node, or one expecting its address."""
    ip = ip or end.ip
    for hep in index.resources.host_endpoints:
        on_node = end.kind == "node" and bool(hep.node) and hep.node == end.node
        if on_node or (ip is not None and ip in hep.expected_ips):
            return hep.id
    return ""
