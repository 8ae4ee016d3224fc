"""The verdict skeleton shared by both evaluators (SEMANTICS.md 2).

A pod talking to itself is always allowed; otherwise the source's egress (when it is a pod) and the
destination's ingress (when it is a pod) must both allow. The ``auto`` evaluator picks ``calico``
when any Calico resource is present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.engine.errors import PolicyError
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

if TYPE_CHECKING:
    from policies.engine.decisions import Decision, Verdict
    from policies.engine.flows import Flow

# The per-flow evaluators are imported by the functions that use them: the graph needs only
# ``choose_evaluator`` from here, and `netpol reach` starts faster without them.

EVALUATORS = ("auto", "k8s", "calico")


def choose_evaluator(cluster: Cluster, evaluator: str) -> str:
    if evaluator not in EVALUATORS:
        raise PolicyError(f"unknown evaluator {evaluator!r}; use one of {', '.join(EVALUATORS)}")
    if evaluator == "auto":
        return "calico" if cluster.has_calico() else "k8s"
    return evaluator


@dataclass(frozen=True)
class FlowResult:
    flow: Flow
    evaluator: str
    verdict: Verdict
    egress: Decision
    ingress: Decision
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict == "ALLOW"

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluator": self.evaluator,
            "verdict": self.verdict,
            "allowed": self.allowed,
            "reason": self.reason,
            "egress": self.egress.to_dict(),
            "ingress": self.ingress.to_dict(),
        }


def _decision(cluster: Cluster, flow: Flow, direction: str, evaluator: str, settings: Settings) -> Decision:
    from policies.engine.admin.evaluate import admin_decision
    from policies.engine.k8s.evaluate import k8s_decision

    if evaluator == "calico" or not cluster.admin_policies:
        return _evaluator_decision(cluster, flow, direction, evaluator, settings)
    # Admin tier, then NetworkPolicy, then Baseline tier (docs/admin-policies.md).
    return admin_decision(cluster, flow, direction, settings,
                          lambda: k8s_decision(cluster, flow, direction, settings))


def _evaluator_decision(
    cluster: Cluster, flow: Flow, direction: str, evaluator: str, settings: Settings
) -> Decision:
    if evaluator == "calico":
        from policies.engine.calico.evaluate import calico_decision

        decision: Decision = calico_decision(cluster, flow, direction, settings)
        return decision
    from policies.engine.k8s.evaluate import k8s_decision

    return k8s_decision(cluster, flow, direction, settings)


def evaluate(
    cluster: Cluster, flow: Flow, *, evaluator: str = "auto", settings: Settings = DEFAULT_SETTINGS
) -> FlowResult:
    """The verdict for one flow, with each direction's decision and trace."""
    from policies.engine.decisions import Decision, combine, not_applicable

    chosen = choose_evaluator(cluster, evaluator)
    s, d = flow.src, flow.dst
    if s.kind == "pod" and d.kind == "pod" and s.pod is not None and s.pod == d.pod:
        why = f"{s.id} talks to itself; a pod cannot block access to itself"
        self_decision = Decision("Egress", "ALLOW", "SELF", detail=why)
        return FlowResult(flow, chosen, "ALLOW", self_decision,
                          Decision("Ingress", "ALLOW", "SELF", detail=why), "SELF")
    if s.kind == "pod":
        egress = _decision(cluster, flow, "Egress", chosen, settings)
    else:
        egress = not_applicable("Egress", f"{s.id} is not a pod, so no egress policy applies to it")
    if d.kind == "pod":
        ingress = _decision(cluster, flow, "Ingress", chosen, settings)
    else:
        ingress = not_applicable("Ingress", f"{d.id} is not a pod, so no ingress policy applies to it")
    return FlowResult(flow, chosen, combine(egress, ingress), egress, ingress)
