"""Findings about policies that probably do not do what their author meant, for every kind.

Kubernetes policies' findings (NP001 to NP005) are in ``policies.engine.k8s.lint``, Calico's in
``policies.engine.calico.lint``; this module runs both over one group index and sorts the result.
"""

from __future__ import annotations

from policies.engine.findings import SEVERITIES, Finding
from policies.engine.groups import GroupIndex
from policies.engine.k8s.lint import k8s_findings
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

__all__ = ["lint"]


def lint(cluster: Cluster, *, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Every finding, sorted by severity, policy and code."""
    index = GroupIndex(cluster, settings)
    findings = k8s_findings(index)
    if cluster.has_calico():
        try:
            from policies.engine.calico.lint import calico_findings
        except ImportError:
            pass
        else:
            findings += calico_findings(cluster, index)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order.get(f.severity, 9), f.policy, f.code, f.source.line, f.message))
