"""Label selectors evaluated over all endpoint groups at once, as boolean vectors.

A requirement is a vector over groups: ``key In values`` is the OR of the groups carrying each
value; ``NotIn`` its complement (a group without the key matches, SEMANTICS.md 3);
``Exists``/``DoesNotExist`` whether the key is present. A selector ANDs its requirements. Each
requirement and selector is evaluated once per index, in numpy, instead of once per group.
``GroupIndex.select_k8s_peer`` remains the one-group-at-a-time definition; ``test_matrices``
checks both select the same groups.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from policies.engine.groups import GroupIndex
from policies.engine.k8s.model import Peer
from policies.engine.k8s.selector import LabelSelector, Requirement

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Vector = NDArray[np.bool_]
    Keys = NDArray[np.intp]

__all__ = ["GroupVectors"]


class GroupVectors:
    """Selector and peer selections of one index's groups, as vectors and index arrays."""

    def __init__(self, index: GroupIndex) -> None:
        self.index = index
        n = index.n_groups
        self.n = n
        values: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for g in index.groups:
            for k, v in g.labels.items_tuple():
                values[k][v].append(g.index)
        self._values = values
        names = sorted({g.namespace for g in index.groups} | set(index.ns_labels))
        self._ns_code = {ns: i for i, ns in enumerate(names)}
        self._group_ns = np.array([self._ns_code[g.namespace] for g in index.groups], dtype=np.intp)
        # namespace selectors, evaluated as vectors over namespaces the same way
        self._ns_names = names
        ns_values: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for ns, labels in index.ns_labels.items():
            for k, v in labels.items_tuple():
                ns_values[k][v].append(self._ns_code[ns])
        self._ns_values = ns_values
        self._ns_labelled = np.zeros(len(names), dtype=bool)
        self._ns_labelled[[self._ns_code[ns] for ns in index.ns_labels]] = True
        self.pods = np.array([not g.host_network for g in index.groups], dtype=bool)  # selectable groups
        self._requirements: dict[Requirement, Vector] = {}
        self._selectors: dict[LabelSelector, Vector] = {}
        self._namespaces: dict[LabelSelector | None, Vector] = {}
        self._peers: dict[tuple[Peer, str], Keys] = {}

    def _key_vector(self, key: str, wanted: frozenset[str] | None) -> Vector:
        out = np.zeros(self.n, dtype=bool)
        for value, groups in self._values.get(key, {}).items():
            if wanted is None or value in wanted:
                out[groups] = True
        return out

    def requirement(self, req: Requirement) -> Vector:
        found = self._requirements.get(req)
        if found is None:
            if req.operator in ("In", "NotIn"):
                found = self._key_vector(req.key, req.values)
            else:
                found = self._key_vector(req.key, None)
            if req.operator in ("NotIn", "DoesNotExist"):
                found = ~found
            self._requirements[req] = found
        return found

    def selector(self, sel: LabelSelector) -> Vector:
        found = self._selectors.get(sel)
        if found is None:
            found = np.ones(self.n, dtype=bool)
            for req in sel.requirements:
                found &= self.requirement(req)
            self._selectors[sel] = found
        return found

    def in_namespaces(self, names: list[str]) -> Vector:
        chosen = np.zeros(len(self._ns_names), dtype=bool)
        chosen[[self._ns_code[ns] for ns in names if ns in self._ns_code]] = True
        return self._groups_in(chosen)

    def _groups_in(self, chosen: Vector) -> Vector:
        """The groups whose namespace is chosen (a vector over namespace codes)."""
        out: Vector = chosen[self._group_ns]
        return out

    def in_namespace(self, name: str) -> Vector:
        return self.in_namespaces([name])

    def _ns_requirement(self, req: Requirement) -> Vector:
        """A requirement over namespaces' labels (namespaces without labels match nothing)."""
        out = np.zeros(len(self._ns_names), dtype=bool)
        wanted = req.values if req.operator in ("In", "NotIn") else None
        for value, codes in self._ns_values.get(req.key, {}).items():
            if wanted is None or value in wanted:
                out[codes] = True
        if req.operator in ("NotIn", "DoesNotExist"):
            out = ~out
        return out

    def namespaces_matching(self, sel: LabelSelector) -> Vector:
        """The groups in namespaces whose labels ``sel`` matches."""
        found = self._namespaces.get(sel)
        if found is None:
            chosen = self._ns_labelled.copy()
            for req in sel.requirements:
                chosen &= self._ns_requirement(req)
            found = self._namespaces[sel] = self._groups_in(chosen)
        return found

    def policy_rows(self, namespace: str, pod_selector: LabelSelector) -> list[int]:
        """The groups a NetworkPolicy of ``namespace`` selects (hostNetwork pods are not selectable)."""
        return [int(i) for i in np.flatnonzero(self.in_namespace(namespace) & self.pods & self.selector(pod_selector))]

    def peer(self, peer: Peer, policy_ns: str) -> Keys:
        """The peer keys (groups and external blocks) one ``from``/``to`` entry selects (4.6)."""
        found = self._peers.get((peer, policy_ns))
        if found is not None:
            return found
        if peer.ip_block is not None:
            found = np.array(sorted(set(self.index.blocks_of_set(peer.ip_block))), dtype=np.intp)
        else:
            if peer.namespace_selector is None:
                chosen = self.in_namespace(policy_ns)
            else:
                chosen = self.namespaces_matching(peer.namespace_selector)
            chosen = chosen & self.pods
            if peer.pod_selector is not None:
                chosen = chosen & self.selector(peer.pod_selector)
            found = np.flatnonzero(chosen).astype(np.intp)
        self._peers[(peer, policy_ns)] = found
        return found
