"""The flow check: the trace of both directions beside each policy's YAML."""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from policies import services
from policies.models import ADMIN_POLICY_KINDS, Resource, Snapshot
from policies.pages.source import Listing, listing
from policies.pages.state import find_policy_resource, pod_nodes, policy_resources
from policies.pages.words import node_label, order_text


@dataclass
class PolicyStep:
    trace: dict[str, Any]
    resource: Resource | None
    listing: Listing | None
    deciding: bool
    url: str
    tier_order: float | None = None
    new_tier: bool = False  # the first step of its tier: the page opens the tier there
    end_of_tier: bool = False  # the last step of the tier whose end denied the flow

    @property
    def is_profile(self) -> bool:
        return self.trace.get("kind") == "Profile"

    @property
    def is_admin(self) -> bool:
        """An admin network policy as the Kubernetes evaluator runs it: in the Admin or Baseline tier,
        with a priority (under Calico it sits in a Calico tier, with an order, like any other)."""
        return self.trace.get("kind") in ADMIN_POLICY_KINDS and self.trace.get("tier") in ("Admin", "Baseline")

    @property
    def order_text(self) -> str:
        return order_text(self.trace.get("order"))

    @property
    def tier_order_text(self) -> str:
        return order_text(self.tier_order)


@dataclass
class DirectionTrace:
    key: str  # "egress" or "ingress"
    title: str
    endpoint: str
    decision: dict[str, Any]
    steps: list[PolicyStep]

    @property
    def policy_count(self) -> int:
        """The policies that select the endpoint (the namespace profile is not one)."""
        return sum(1 for step in self.steps if not step.is_profile)

    @property
    def tiered(self) -> bool:
        """Whether Calico decided: its steps are grouped by tier (or only the namespace profile spoke)."""
        return any((step.trace.get("tier") and not step.is_admin) or step.is_profile for step in self.steps)

    @property
    def admin(self) -> bool:
        """Whether admin network policies select the endpoint for this direction."""
        return any(step.is_admin for step in self.steps)


def _deciding_index(decision: dict[str, Any], traces: list[dict[str, Any]]) -> int | None:
    """The position of the deciding policy's trace. Calico stops at the deciding policy, so it is
    the last trace with that id (and tier): a Kubernetes and a Calico NetworkPolicy may share one."""
    policy, tier = decision.get("deciding_policy"), decision.get("deciding_tier")
    if not policy:
        return None
    found = None
    for i, trace in enumerate(traces):
        if trace.get("id") == policy and (not tier or trace.get("tier", "") == tier):
            found = i
    return found


def flow_trace(snapshot: Snapshot, explanation: dict[str, Any]) -> list[DirectionTrace]:
    """The two columns of the flow check: each policy with its YAML, deciding lines highlighted.
    Under Calico the policies come tier by tier, each with its tier's order and its own."""
    flow = explanation.get("flow", {})
    resources = policy_resources(snapshot)
    tier_orders: dict[str, float | None] = {}
    if any(_has_tiers(explanation.get(key)) for key in ("egress", "ingress")):
        tier_orders = {p.tier: p.tier_order for p in services.policy_placements(snapshot=snapshot).values()}
    columns = []
    for key, title, end in (
        ("egress", "Egress of the source", "source"),
        ("ingress", "Ingress of the destination", "destination"),
    ):
        decision = explanation.get(key) or {}
        traces = list(decision.get("policies", []))
        deciding_at = _deciding_index(decision, traces)
        end_tier = decision.get("deciding_tier") if decision.get("reason") == "END_OF_TIER" else None
        in_end_tier = [i for i, trace in enumerate(traces) if end_tier and trace.get("tier") == end_tier]
        last_of_end_tier = in_end_tier[-1] if in_end_tier else None
        steps = []
        previous_tier = None
        for i, trace in enumerate(traces):
            deciding = i == deciding_at
            spans = [
                (rule.get("line", 0), rule.get("end_line", 0))
                for rule in trace.get("rules", [])
                if deciding and rule.get("index") == decision.get("deciding_rule")
            ]
            resource = find_policy_resource(snapshot, trace, resources)
            tier = trace.get("tier") or ""
            steps.append(
                PolicyStep(
                    trace=trace,
                    resource=resource,
                    listing=listing(resource, highlight=spans) if resource else None,
                    deciding=deciding,
                    url=reverse("policies:policy", args=[snapshot.id, resource.id]) if resource else "",
                    tier_order=tier_orders.get(tier),
                    new_tier=bool(tier) and tier != previous_tier,
                    end_of_tier=i == last_of_end_tier,
                )
            )
            previous_tier = tier or previous_tier
        endpoint = (flow.get(end) or {}).get("id", "")
        columns.append(DirectionTrace(key, title, endpoint, decision, steps))
    return columns


def _has_tiers(decision: dict[str, Any] | None) -> bool:
    return any(trace.get("tier") for trace in (decision or {}).get("policies", []))


@dataclass
class SuggestedChange:
    change: dict[str, Any]
    url: str  # the changed policy's page, when it is one of the snapshot's


def suggested_changes(snapshot: Snapshot, explanation: dict[str, Any]) -> list[SuggestedChange]:
    """The suggestion's changes, each with a link to the policy it changes."""
    changes = (explanation.get("suggestion") or {}).get("changes", [])
    resources = policy_resources(snapshot) if changes else []
    out = []
    for change in changes:
        url = ""
        if change.get("action") != "add-policy" and change.get("policy"):
            namespace, _, name = str(change["policy"]).rpartition("/")
            trace = {"kind": change.get("kind"), "id": change["policy"], "namespace": namespace, "name": name,
                     "source": change.get("source") or {}}
            resource = find_policy_resource(snapshot, trace, resources)
            if resource is not None:
                url = reverse("policies:policy", args=[snapshot.id, resource.id])
        out.append(SuggestedChange(change, url))
    return out


def explanation_warnings(explanation: dict[str, Any]) -> dict[str, Any]:
    """Whether a verdict is approximate or unsupported, and why: the warnings of both directions and
    of the policies they cite (fields the evaluator does not model, selectors that may match more)."""
    warnings: list[str] = []
    approximate = False
    for key in ("egress", "ingress"):
        decision = explanation.get(key) or {}
        approximate = approximate or bool(decision.get("approximate"))
        warnings.extend(decision.get("warnings") or [])
    return {
        "approximate": approximate,
        "unsupported": explanation.get("verdict") == "UNSUPPORTED",
        "warnings": list(dict.fromkeys(warnings)),
    }


def flow_commands(
    request_uri: str, snapshot: Snapshot, *, source: str, destination: str, port: int | None, protocol: str
) -> dict[str, str]:
    """The same question as a `netpol explain` command and as a curl call to the API."""
    files = [f.name for f in snapshot.files.all()]
    cli = ["netpol", "explain", *files, "--from", source, "--to", destination]
    params: dict[str, Any] = {"from": source, "to": destination, "protocol": protocol}
    if port is not None:
        cli += ["--port", str(port)]
        params["port"] = port
    cli += ["--protocol", protocol]
    api = f"{request_uri}?{urlencode(params)}"
    curl = f'curl -H "Authorization: Token $NETPOL_TOKEN" {shlex.quote(api)}'
    return {"cli": shlex.join(cli), "curl": curl}


def endpoint_options(snapshot: Snapshot) -> SafeString:
    """The flow form's autocomplete as <option> elements: at 10,000 pods the template's loop over
    them took seconds, one join takes milliseconds."""
    try:
        stored = services.finished_analysis(snapshot=snapshot).part("endpoints")
    except services.AnalysisNotReady:
        stored = None
    pairs = stored if stored is not None else endpoint_names(snapshot)
    return mark_safe("".join(  # noqa: S308 (each value and description is escaped)
        f'<option value="{html.escape(value)}">{html.escape(description)}</option>' for value, description in pairs))


def endpoint_names(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(value, description) for the flow form's autocomplete: workloads and pods (analyses stored
    before the analysis kept them)."""
    names: dict[str, str] = {}
    try:
        nodes = [*services.get_graph(snapshot=snapshot, level="workload")["nodes"], *pod_nodes(snapshot)]
    except services.AnalysisNotReady:
        nodes = []
    for node in nodes:
        if node["kind"] != "external":
            names.setdefault(node["id"], f"{node['kind']} {node_label(node)}")
    for namespace, name in snapshot.resources.filter(kind="Pod").values_list("namespace", "name"):
        names.setdefault(f"{namespace}/{name}", f"pod {namespace}/{name}")
    return sorted(names.items())
