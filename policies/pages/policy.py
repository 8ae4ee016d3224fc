"""One policy's page: the flows it allows, its picture, its tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from policies import services
from policies.models import Resource, Snapshot
from policies.pages.state import pod_nodes, policy_resources, trace_is
from policies.pages.words import KIND_WORDS, endpoint_text, first_port, node_label, order_text, ports_text

POLICY_FLOW_CHECKS = 300  # explanations computed at most for one policy page


@dataclass
class PolicyFlow:
    source: dict[str, Any]
    target: dict[str, Any]
    edge: dict[str, Any]
    direction: str  # "ingress" (the policy lets the source in) or "egress"
    rule: int | None
    url: str
    action: str = "Allow"  # the rule's action: "Allow", or "Pass" (a Calico policy passed the flow on)

    @property
    def ports(self) -> str:
        return ports_text(self.edge)

    @property
    def source_label(self) -> str:
        return node_label(self.source)

    @property
    def target_label(self) -> str:
        return node_label(self.target)


def _group_name(policy_namespace: str, node: dict[str, Any]) -> str:
    if node["kind"] == "external":
        return "outside cluster"
    if node.get("namespace") == policy_namespace:
        return "in namespace"
    return "in cluster"


def policy_flows(snapshot: Snapshot, policy: Resource, graph: dict[str, Any]) -> tuple[list[PolicyFlow], int]:
    """Edges whose explanation cites the policy as allowing them (ingress or egress), or, for a
    Calico policy, as passing them to a later tier that allowed them; and how many candidate edges
    were left unchecked (at most POLICY_FLOW_CHECKS explanations per page)."""
    policy_id = policy.policy_key  # graph nodes name their policies by key (engine keys.py)
    nodes = {node["id"]: node for node in graph["nodes"]}
    candidates = []
    for edge in graph["edges"]:
        target = nodes[edge["target"]]
        source = nodes[edge["source"]]
        if policy_id in (target.get("policies") or {}).get("ingress", []):
            candidates.append((edge, "ingress"))
        if policy_id in (source.get("policies") or {}).get("egress", []):
            candidates.append((edge, "egress"))
    flow_url = reverse("policies:flow", args=[snapshot.id])
    flows = []
    for edge, direction in candidates[:POLICY_FLOW_CHECKS]:
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        protocol, port = first_port(edge)
        try:
            explanation = services.explain_flow(
                snapshot=snapshot,
                source=endpoint_text(source),
                destination=endpoint_text(target),
                port=port,
                protocol=protocol,
            )
        except services.PolicyError:
            continue
        decision = explanation.get(direction) or {}
        trace = next((p for p in decision.get("policies", []) if trace_is(p, policy)), None)
        if trace is None:
            continue
        # The rule that ended the policy's say: the first matched one that is not a Log rule.
        rule = next((r for r in trace.get("rules", []) if r.get("matched") and r.get("action") != "Log"), None)
        if rule is None or rule.get("action", "Allow") not in ("Allow", "Accept", "Pass"):
            continue
        params: dict[str, Any] = {"src": endpoint_text(source), "dst": endpoint_text(target), "protocol": protocol}
        if port is not None:
            params["port"] = port
        flows.append(
            PolicyFlow(
                source,
                target,
                edge,
                direction,
                rule.get("index"),
                f"{flow_url}?{urlencode(params)}",
                rule.get("action", "Allow"),
            )
        )
    return flows, max(0, len(candidates) - POLICY_FLOW_CHECKS)


def policy_picture(
    policy: Resource, flows: list[PolicyFlow], selected: list[str], graph: dict[str, Any]
) -> dict[str, Any]:
    """The Cilium-editor-style picture: sources left, selected endpoints in the middle, destinations
    right, each side grouped as in namespace / in cluster / outside cluster."""
    sides: dict[str, dict[str, dict[str, set[str]]]] = {"ingress": {}, "egress": {}}
    for flow in flows:
        if flow.action != "Allow":
            continue  # passed on: a later tier allowed it, not this policy
        peer = flow.source if flow.direction == "ingress" else flow.target
        group = _group_name(policy.namespace, peer)
        sides[flow.direction].setdefault(group, {}).setdefault(node_label(peer), set()).add(flow.ports)
    order = ("in namespace", "in cluster", "outside cluster")

    def side(direction: str) -> list[tuple[str, list[tuple[str, str]]]]:
        groups = sides[direction]
        return [
            (g, [(name, "; ".join(sorted(ports))) for name, ports in sorted(groups[g].items())])
            for g in order
            if g in groups
        ]

    workloads = {n["id"]: n for n in graph["nodes"]}
    middle = sorted({node_label(workloads[w]) if w in workloads else w for w in selected})
    return {"sources": side("ingress"), "middle": middle, "destinations": side("egress")}


@dataclass
class TierMember:
    """One policy of a tier, as the policy page lists them in evaluation order."""

    label: str
    kind: str
    order: str
    url: str
    current: bool


def tier_members(snapshot: Snapshot, policy: Resource, placement: services.Placement) -> list[TierMember]:
    """Every policy of ``policy``'s tier in the order Calico runs them (staged ones are not run)."""
    pages = {
        (r.trace_kind, r.namespace, r.name): reverse("policies:policy", args=[snapshot.id, r.id])
        for r in policy_resources(snapshot)
    }
    members = []
    for (kind, namespace, name), where in services.policy_placements(snapshot=snapshot).items():
        if where.tier != placement.tier:
            continue
        members.append(
            TierMember(
                f"{namespace}/{name}" if namespace else name,
                KIND_WORDS.get(kind, kind),
                order_text(where.order),
                pages.get((kind, namespace, name), ""),
                not policy.is_staged and (kind, namespace, name) == (policy.trace_kind, policy.namespace, policy.name),
            )
        )
    return members


def selected_workloads(snapshot: Snapshot, selected_pods: list[str]) -> list[str]:
    """The workloads of the selected pods (pods outside any workload stay themselves)."""
    nodes = pod_nodes(snapshot)
    if not nodes:
        return selected_pods
    workload_of = {n["id"]: n.get("workload") or n["id"] for n in nodes if n["kind"] == "pod"}
    return sorted({workload_of.get(p, p) for p in selected_pods})
