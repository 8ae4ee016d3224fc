"""Calico's per-flow decision for one pod end, with a full trace (SEMANTICS.md 5.1 and 5.4 to 5.8).

Tiers are walked in TierLess order; inside a tier, the policies that apply to the pod for the
direction run in (order, "<name>/<namespace>/<kind>") order, and their rules in list order. Allow
and Deny are final, Log continues, Pass jumps to the next tier that applies. A tier that applies
and decides nothing ends in its defaultAction (Deny unless set to Pass). When every tier passed,
or none applied, the namespace profile ``kns.<ns>`` allows. Kubernetes NetworkPolicies take part
as Allow-only policies at order 1000 in the default tier (5.7).

Rules that use fields the evaluator cannot model (``http``, ``services``), and selectors that could
also match network sets or host endpoints (0.3), make a rule's outcome unknown. Both outcomes are
followed; if they lead to different verdicts the decision is UNSUPPORTED, otherwise it stands and
is marked approximate.
https://docs.tigera.io/calico/latest/network-policy/policy-tiers/tiered-policy
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from policies.engine.calico.index import CalicoIndex, calico_index, host_endpoint_of
from policies.engine.calico.match import PacketMatcher, RuleResult, packet_of
from policies.engine.calico.model import CalicoPolicy, CalicoRule, Tier
from policies.engine.cluster import Pod, Source
from policies.engine.decisions import Decision, PolicyTrace, RuleTrace, Verdict
from policies.engine.flows import Endpoint, Flow
from policies.engine.kinds import ADMIN_KINDS
from policies.engine.model import Cluster
from policies.engine.options import Settings

__all__ = ["calico_decision"]

# Unknown rule outcomes are explored both ways; past this many verdict paths give up (UNSUPPORTED).
MAX_PATHS = 256


# -- the tiered walk (5.6) ----------------------------------------------------------------------------


class _NeedChoice(Exception):
    def __init__(self, key: tuple[str, str, int], modelled: bool) -> None:
        super().__init__(key)
        self.key = key
        self.modelled = modelled


@dataclass
class _Run:
    verdict: Verdict
    reason: str
    detail: str
    traces: list[PolicyTrace]
    deciding_tier: str = ""
    deciding_policy: str = ""
    deciding_rule: int | None = None
    unknowns: list[str] = field(default_factory=list)


def _action_text(action: str) -> str:
    return {"Allow": "allows", "Deny": "denies", "Pass": "passes to the next tier", "Log": "logs"}[action]


def _rule_traces(
    policy: CalicoPolicy, results: list[tuple[int, CalicoRule, RuleResult, bool]]
) -> tuple[RuleTrace, ...]:
    """RuleTraces for the rules evaluated; a converted Kubernetes rule is shown once (5.7)."""
    if not policy.is_converted:
        return tuple(
            RuleTrace(
                i,
                r.line,
                matched,
                r.action,
                res.peer_matched,
                res.port_matched,
                res.why + (f" [not exact: {res.uncertain}]" if res.uncertain else ""),
                r.end_line,
            )
            for i, r, res, matched in results
        )
    grouped: dict[int, list[tuple[CalicoRule, RuleResult, bool]]] = {}
    for _, r, res, matched in results:
        grouped.setdefault(r.k8s_index or 0, []).append((r, res, matched))
    out = []
    for k8s_index, items in grouped.items():
        first = items[0][0]
        hit = next(((r, res) for r, res, m in items if m), None)
        if hit is not None:
            why, peer_ok, port_ok = hit[1].why, True, True
        else:
            whys = list(dict.fromkeys(res.why for _, res, _ in items))
            why = "; ".join(whys)
            peer_ok = any(res.peer_matched for _, res, _ in items)
            port_ok = any(res.port_matched for _, res, _ in items)
        out.append(
            RuleTrace(k8s_index, first.line, hit is not None, first.action, peer_ok, port_ok, why, first.end_line,
                      first.admin_name)
        )
    return tuple(out)


class _Walk:
    def __init__(
        self, index: CalicoIndex, matcher: PacketMatcher, pod: Pod, endpoint: Endpoint, direction: str
    ) -> None:
        self.index = index
        self.matcher = matcher
        self.pod = pod
        self.endpoint = endpoint
        self.direction = direction
        self.tiers = index.applicable(pod.namespace, pod.labels, pod.service_account, direction)
        self._results: dict[tuple[str, int], RuleResult] = {}

    def result(self, policy: CalicoPolicy, i: int, rule: CalicoRule) -> RuleResult:
        key = (policy.kind + ":" + policy.id, i)
        res = self._results.get(key)
        if res is None:
            res = self.matcher.rule(rule, policy, self.direction)
            self._results[key] = res
        return res

    def run(self, choices: Mapping[tuple[str, str, int], bool]) -> _Run:
        side = self.direction.lower()
        traces: list[PolicyTrace] = []
        unknowns: list[str] = []
        for tier, pols in self.tiers:
            for policy in pols:
                results: list[tuple[int, CalicoRule, RuleResult, bool]] = []
                decided: tuple[int, CalicoRule] | None = None
                for i, rule in enumerate(policy.rules(self.direction)):
                    res = self.result(policy, i, rule)
                    matched = res.matched
                    if res.uncertain and rule.action != "Log":
                        key = (policy.kind + ":" + policy.id, self.direction, i)
                        if key not in choices:
                            raise _NeedChoice(key, res.matched)
                        matched = choices[key]
                        unknowns.append(f"{side} rule {i} of {policy.id}: {res.uncertain}")
                    results.append((i, rule, res, matched))
                    if matched and rule.action != "Log":
                        decided = (i, rule)
                        break
                rule_traces = _rule_traces(policy, results)
                if decided is None:
                    outcome = "no rule matched" if policy.rules(self.direction) else f"has no {side} rules"
                    traces.append(self._trace(policy, tier, rule_traces, outcome))
                    continue
                i, rule = decided
                shown = rule.k8s_index if rule.k8s_index is not None else i
                traces.append(
                    self._trace(policy, tier, rule_traces, f"{_action_text(rule.action)} (rule {shown})")
                )
                if rule.action == "Pass":
                    break
                verdict: Verdict = "ALLOW" if rule.action == "Allow" else "DENY"
                reason = "CALICO_ALLOW" if verdict == "ALLOW" else "CALICO_DENY"
                detail = (
                    f"{side} rule {shown} of {policy.trace_kind} {policy.id} in tier {tier.name} "
                    f"{_action_text(rule.action)} it"
                )
                return _Run(verdict, reason, detail, traces, tier.name, policy.id, shown, unknowns)
            else:
                # No policy of the tier decided (none passed either).
                if tier.default_action == "Pass":
                    continue
                detail = (
                    f"tier {tier.name} applies to {self.endpoint.id} for {side} "
                    "and none of its policies allows or passes this flow, so the tier denies it"
                )
                return _Run("DENY", "END_OF_TIER", detail, traces, tier.name, unknowns=unknowns)
        profile = f"kns.{self.pod.namespace}"
        traces.append(
            PolicyTrace(
                "Profile",
                "",
                profile,
                Source(),
                (RuleTrace(0, 0, True, "Allow", True, True, "the namespace profile allows everything"),),
                outcome="allows",
            )
        )
        if self.tiers:
            why = "every tier that applies passed"
        else:
            why = f"no Calico or Kubernetes policy applies to {self.endpoint.id} for {side}"
        detail = f"{why}, so the namespace profile {profile} allows it"
        return _Run("ALLOW", "PROFILE_ALLOW", detail, traces, deciding_policy=profile, unknowns=unknowns)

    def _trace(
        self, policy: CalicoPolicy, tier: Tier, rules: tuple[RuleTrace, ...], outcome: str
    ) -> PolicyTrace:
        return PolicyTrace(
            policy.trace_kind,
            policy.namespace,
            policy.name,
            policy.source,
            rules,
            tier.name,
            policy.order,
            outcome,
            policy.warnings,
            key=policy.id if policy.kind in ADMIN_KINDS else "",
        )

    def explore(self) -> tuple[_Run, list[_Run], bool]:
        """Every verdict path through the unknown rule outcomes; the first follows the model."""
        leaves: list[_Run] = []
        stack: list[dict[tuple[str, str, int], bool]] = [{}]
        truncated = False
        while stack:
            choices = stack.pop()
            try:
                run = self.run(choices)
            except _NeedChoice as need:
                stack.append({**choices, need.key: not need.modelled})
                stack.append({**choices, need.key: need.modelled})
                continue
            leaves.append(run)
            if len(leaves) >= MAX_PATHS:
                truncated = bool(stack)
                break
        return leaves[0], leaves, truncated


# -- the entry point ----------------------------------------------------------------------------------


def calico_decision(cluster: Cluster, flow: Flow, direction: str, settings: Settings) -> Decision:
    """The Calico decision for the pod end of ``flow`` in ``direction`` ("Ingress": the destination's
    ingress, "Egress": the source's egress). Only call it for a pod end."""
    endpoint = flow.dst if direction == "Ingress" else flow.src
    remote = flow.src if direction == "Ingress" else flow.dst
    pod = endpoint.pod
    if endpoint.kind != "pod" or pod is None:
        raise ValueError(f"calico_decision needs a pod end, got {endpoint.id}")
    index = calico_index(cluster)
    matcher = PacketMatcher(index, settings, packet_of(flow))
    walk = _Walk(index, matcher, pod, endpoint, direction)
    isolated = bool(walk.tiers)
    host_ep = host_endpoint_of(index, remote)
    hep_warning = (
        f"{remote.id} has {host_ep}; host endpoint policy is not modelled (SEMANTICS 0.3)" if host_ep else ""
    )
    same_node = remote.kind == "node" and bool(pod.node) and remote.node == pod.node

    if direction == "Ingress" and same_node:
        detail = (
            f"{remote.id} is {endpoint.id}'s own node; Calico does not police host to local workload traffic"
        )
        if hep_warning:
            return Decision(
                direction,
                "UNSUPPORTED",
                "HOST_TO_LOCAL_WORKLOAD",
                isolated,
                f"{detail}, but {hep_warning}",
                warnings=(hep_warning,),
            )
        return Decision(direction, "ALLOW", "HOST_TO_LOCAL_WORKLOAD", isolated, detail)

    primary, leaves, truncated = walk.explore()
    verdict = primary.verdict
    reason, detail = primary.reason, primary.detail
    warnings: list[str] = list(dict.fromkeys(u for leaf in leaves for u in leaf.unknowns))
    approximate = bool(warnings)
    if truncated or len({leaf.verdict for leaf in leaves}) > 1:
        verdict = "UNSUPPORTED"
        detail += ". The verdict depends on rule matches the evaluator cannot model: " + "; ".join(warnings)
    if verdict == "ALLOW" and direction == "Egress" and same_node:
        action = settings.default_endpoint_to_host_action
        if action == "DROP":
            return Decision(
                direction,
                "DENY",
                "ENDPOINT_TO_HOST_ACTION",
                isolated,
                f"{detail}; then, as {remote.id} is {endpoint.id}'s own node, DefaultEndpointToHostAction "
                "DROP drops it",
                tuple(primary.traces),
                primary.deciding_policy,
                primary.deciding_rule,
                primary.deciding_tier,
                approximate,
                tuple(warnings),
            )
        detail += f"; then DefaultEndpointToHostAction {action} lets it reach its own node {pod.node}"
    if verdict == "ALLOW" and hep_warning:
        verdict = "UNSUPPORTED"
        detail += f". But {hep_warning}"
        warnings.append(hep_warning)
    return Decision(
        direction,
        verdict,
        reason,
        isolated,
        detail,
        tuple(primary.traces),
        primary.deciding_policy,
        primary.deciding_rule,
        primary.deciding_tier,
        approximate,
        tuple(warnings),
    )
