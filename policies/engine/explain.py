"""Why a flow from A to B is allowed or denied: the per-direction evaluation trace in words.

Each direction says whether its endpoint is isolated, every policy that selects it, and for each
policy which rule, peer and port matched or why none did, with the policy's file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.engine.decisions import Decision
from policies.engine.evaluate import FlowResult, evaluate
from policies.engine.flows import EndpointIndex, flow_between, make_flow, workload_endpoints
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings
from policies.engine.stored_state import StateMismatch, dump_state, load_state

ADMIN_TRACE_KINDS = ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")
MAX_PAIRS = 400  # pod pairs tried for a workload whose pods differ
_VERDICT_WORD = {"ALLOW": "Allowed", "DENY": "Denied", "UNDEFINED": "Undefined", "UNSUPPORTED": "Unsupported"}


@dataclass(frozen=True)
class Explanation:
    result: FlowResult
    summary: str

    @property
    def allowed(self) -> bool:
        return self.result.allowed

    @property
    def verdict(self) -> str:
        return self.result.verdict

    def to_dict(self) -> dict[str, Any]:
        flow = self.result.flow
        return {
            "allowed": self.allowed,
            "verdict": self.verdict,
            "evaluator": self.result.evaluator,
            "summary": self.summary,
            "flow": {
                "source": flow.src.to_dict(),
                "destination": flow.dst.to_dict(),
                "protocol": flow.protocol,
                "port": flow.port,
                "icmp_type": flow.icmp_type,
                "icmp_code": flow.icmp_code,
            },
            "egress": self.result.egress.to_dict(),
            "ingress": self.result.ingress.to_dict(),
        }

    def to_text(self) -> str:
        lines = [self.summary, ""]
        for decision, who in ((self.result.egress, self.result.flow.src.id),
                              (self.result.ingress, self.result.flow.dst.id)):
            lines.extend(_decision_text(decision, who))
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _decision_text(d: Decision, who: str) -> list[str]:
    head = f"{d.direction} of {who}: {d.verdict} ({d.reason})"
    out = [head, f"  {d.detail}"]
    if d.approximate:
        out.append("  approximate: " + "; ".join(d.warnings))
    for p in d.policies:
        if p.priority is not None or p.kind in ADMIN_TRACE_KINDS:
            tier = f" [{p.tier} tier" + (f", priority {p.priority}]" if p.priority is not None else "]")
        else:
            tier = f" [tier {p.tier}, order {p.order}]" if p.tier else ""
        who = p.name if p.key else p.id  # an admin policy's id already starts with its kind
        out.append(f"  - {p.kind} {who}{tier} ({p.source}): {p.outcome}")
        for r in p.rules:
            mark = "*" if r.matched else " "
            name = f" {r.name!r}" if r.name else ""
            out.append(f"    {mark} rule {r.index}{name} ({r.action}, line {r.line}): {r.why}")
    return out


def _sentence(result: FlowResult) -> str:
    flow = result.flow
    what = flow.protocol if flow.port is None else f"{flow.protocol} {flow.port}"
    word = _VERDICT_WORD.get(result.verdict, result.verdict)
    if result.verdict == "ALLOW":
        return f"{word}: {flow.src.id} may reach {flow.dst.id} on {what}."
    blockers = [d for d in (result.egress, result.ingress) if d.verdict == result.verdict]
    why = "; ".join(f"{d.direction.lower()}: {d.detail}" for d in blockers)
    verb = "may not reach" if result.verdict == "DENY" else "reaching"
    if result.verdict == "DENY":
        return f"{word}: {flow.src.id} {verb} {flow.dst.id} on {what} ({why})."
    return f"{word}: {flow.src.id} {verb} {flow.dst.id} on {what} ({why})."


class Explainer:
    """Explanations of many flows of one cluster. The endpoint index is built once, so each
    explanation costs a lookup of both ends and the evaluation of one flow (the web app keeps one
    per snapshot in memory)."""

    def __init__(self, cluster: Cluster, settings: Settings = DEFAULT_SETTINGS) -> None:
        self.cluster = cluster
        self.settings = settings
        self.endpoints = EndpointIndex(cluster)

    def to_bytes(self, *, key: bytes) -> bytes:
        """This explainer (its cluster, settings and endpoint index) as signed bytes to store, read
        back by ``from_bytes`` with the same key in a process running the same engine code
        (stored_state says how and why that is safe)."""
        return dump_state(self, key=key)

    @classmethod
    def from_bytes(cls, data: bytes, *, key: bytes) -> Explainer:
        """The explainer ``to_bytes`` stored; StateMismatch (a ValueError) when the bytes are not
        one, were signed with another key or written by another version of the engine."""
        explainer = load_state(data, key=key)
        if not isinstance(explainer, cls):
            raise StateMismatch(f"the stored state is a {type(explainer).__name__}, not an explainer")
        return explainer

    def explain(
        self,
        src: str,
        dst: str,
        *,
        protocol: str = "TCP",
        port: int | None = None,
        icmp_type: int | None = None,
        icmp_code: int | None = None,
        evaluator: str = "auto",
    ) -> Explanation:
        """Evaluate one flow and explain the verdict.

        A workload (``ns/Kind/name``) stands for its pods. When they differ, every pod pair is tried
        (up to a bound) and an allowed pair is shown if there is one, as the workload graph's edges
        are the union over the pods; the summary then says which pods the trace is for.
        """
        cluster, settings, index = self.cluster, self.settings, self.endpoints
        flow = make_flow(cluster, src, dst, protocol=protocol, port=port, icmp_type=icmp_type,
                         icmp_code=icmp_code, index=index)
        result = evaluate(cluster, flow, evaluator=evaluator, settings=settings)
        sources, targets = workload_endpoints(cluster, src, index), workload_endpoints(cluster, dst, index)
        if result.allowed or len(sources) * len(targets) == 1:
            return Explanation(result, _sentence(result))
        tried = 0
        for s in sources:
            for d in targets:
                if (s.pod is not None and s.pod == d.pod) or tried >= MAX_PAIRS:
                    continue
                tried += 1
                other = evaluate(cluster, flow_between(s, d, protocol=flow.protocol, port=flow.port,
                                                       icmp_type=icmp_type, icmp_code=icmp_code),
                                 evaluator=evaluator, settings=settings)
                if other.allowed:
                    note = f" (shown for {s.id} -> {d.id}: {src} -> {dst} stands for {len(sources)} x " \
                           f"{len(targets)} pods, and their verdicts differ)"
                    return Explanation(other, _sentence(other)[:-1] + note + ".")
        return Explanation(result, _sentence(result))


def explain(
    cluster: Cluster,
    src: str,
    dst: str,
    *,
    protocol: str = "TCP",
    port: int | None = None,
    icmp_type: int | None = None,
    icmp_code: int | None = None,
    evaluator: str = "auto",
    settings: Settings = DEFAULT_SETTINGS,
) -> Explanation:
    """Evaluate one flow and explain the verdict (``Explainer.explain`` for one question)."""
    return Explainer(cluster, settings).explain(src, dst, protocol=protocol, port=port, icmp_type=icmp_type,
                                                icmp_code=icmp_code, evaluator=evaluator)
