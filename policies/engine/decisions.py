"""Per-direction decisions about a flow, with their evaluation traces (SEMANTICS.md 2).

A connection between two pods needs both the source's egress and the destination's ingress:
each direction gives a ``Decision`` (verdict, reason, the policies and rules that were looked at)
and ``combine`` turns the two into the flow's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from policies.engine.cluster import Source
from policies.engine.keys import policy_key

__all__ = ["Decision", "PolicyTrace", "RuleTrace", "Verdict", "combine", "not_applicable"]

Verdict = Literal["ALLOW", "DENY", "UNDEFINED", "UNSUPPORTED", "NOT_APPLICABLE"]


@dataclass(frozen=True)
class RuleTrace:
    """How one rule fared against the flow."""

    index: int
    line: int
    matched: bool
    action: str = "Allow"
    peer_matched: bool = False
    port_matched: bool = False
    why: str = ""  # a sentence: what matched, or why the rule did not
    end_line: int = 0
    name: str = ""  # the rule's own name (admin network policies)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "line": self.line,
            "end_line": self.end_line,
            "action": self.action,
            "matched": self.matched,
            "peer_matched": self.peer_matched,
            "port_matched": self.port_matched,
            "why": self.why,
        }
        if self.name:
            data["name"] = self.name
        return data


@dataclass(frozen=True)
class PolicyTrace:
    """One policy that selects the endpoint for the direction, and its rules' results."""

    kind: str  # NetworkPolicy, CalicoNetworkPolicy, GlobalNetworkPolicy, Profile, AdminNetworkPolicy...
    namespace: str
    name: str
    source: Source
    rules: tuple[RuleTrace, ...] = ()
    tier: str = ""
    order: float | None = None
    outcome: str = ""  # e.g. "allows", "no rule matched", "denied by rule 2", "passed"
    warnings: tuple[str, ...] = ()
    priority: int | None = None  # admin network policies
    key: str = ""  # the policy's id when it is not namespace/name (admin policies: Kind/name)

    @property
    def id(self) -> str:
        if self.key:
            return self.key
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def policy_key(self) -> str:
        """The policy's one key (keys.py): unlike ``id``, never shared by two policies."""
        return policy_key(self.kind, self.namespace, self.name)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "id": self.id,
            "key": self.policy_key,
            "source": self.source.to_dict(),
            "outcome": self.outcome,
            "rules": [r.to_dict() for r in self.rules],
        }
        if self.tier:
            data["tier"] = self.tier
            data["order"] = self.order
        if self.priority is not None:
            data["priority"] = self.priority
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class Decision:
    """The verdict of one direction (egress of the source, or ingress of the destination)."""

    direction: str  # "Egress" or "Ingress"
    verdict: Verdict
    reason: str  # a SEMANTICS.md section 2 reason code, e.g. RULE_ALLOW, NO_MATCH
    isolated: bool = False
    detail: str = ""
    policies: tuple[PolicyTrace, ...] = ()
    deciding_policy: str = ""  # policy id of the deciding rule, if any
    deciding_rule: int | None = None
    deciding_tier: str = ""
    approximate: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def deciding_key(self) -> str:
        """The deciding policy's key (keys.py): that of the last trace with the deciding id (a
        Profile has none)."""
        if not self.deciding_policy:
            return ""
        trace = next((t for t in reversed(self.policies) if t.id == self.deciding_policy), None)
        return trace.policy_key if trace is not None and trace.kind != "Profile" else ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "direction": self.direction,
            "verdict": self.verdict,
            "reason": self.reason,
            "isolated": self.isolated,
            "detail": self.detail,
            "policies": [p.to_dict() for p in self.policies],
            "deciding_policy": self.deciding_policy or None,
            "deciding_key": self.deciding_key or None,
            "deciding_rule": self.deciding_rule,
        }
        if self.deciding_tier:
            data["deciding_tier"] = self.deciding_tier
        if self.approximate:
            data["approximate"] = True
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


def not_applicable(direction: str, why: str) -> Decision:
    return Decision(direction, "NOT_APPLICABLE", "NOT_APPLICABLE", detail=why)


def combine(egress: Decision, ingress: Decision) -> Verdict:
    """DENY if either denies; else UNSUPPORTED/UNDEFINED if either is; else ALLOW (SEMANTICS.md 2)."""
    verdicts = {egress.verdict, ingress.verdict}
    for v in ("DENY", "UNSUPPORTED", "UNDEFINED"):
        if v in verdicts:
            return v
    return "ALLOW"
