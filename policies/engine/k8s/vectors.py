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
        codes = [self._ns_code[ns] for ns in names if ns in self._ns_code]
        return np.isin(self._group_ns, codes)

    def in_namespace(self, name: str) -> Vector:
        return self.in_namespaces([name])

    def namespaces_matching(self, sel: LabelSelector) -> Vector:
        found = self._namespaces.get(sel)
        if found is None:
            found = self.in_namespaces([ns for ns, labels in self.index.ns_labels.items() if sel.matches(labels)])
            self._namespaces[sel] = found
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
