"""The compare page: what one snapshot opens or closes against another."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from policies import services
from policies.models import Analysis, Snapshot
from policies.pages.state import PolicyPages, analysis_state, latest_analysis, policy_pages, stored_nodes
from policies.pages.words import KIND_WORDS, endpoint_text, plural, ports_text, probe, short_label, some_text

COMPARE_MAX_ROWS = 100  # rows per table of the compare page (900 took 0.8 s to render); the API's diff has them all


def compare_choices(snapshot: Snapshot) -> tuple[list[Snapshot], int | None]:
    """The snapshots to compare ``snapshot`` with, newest first, and the one to offer: the newest
    earlier snapshot of the same name (the "before" of a new version), else none (the page asks).
    Only the snapshot's own team's snapshots are offered."""
    others = list(Snapshot.objects.filter(team=snapshot.team).exclude(id=snapshot.id).order_by("-created", "-id"))
    earlier = next(
        (s for s in others if s.name == snapshot.name and (s.created, s.id) < (snapshot.created, snapshot.id)),
        None,
    )
    return others, earlier.id if earlier else None


@dataclass
class Waiting:
    """A snapshot of a comparison whose analysis has not finished (the API answers 409)."""

    snapshot: Snapshot
    analysis: Analysis | None
    role: str  # "before" or "after"

    @property
    def state(self) -> dict[str, Any] | None:
        return analysis_state(self.analysis)

    @property
    def title(self) -> str:
        if self.analysis is None:
            return "Not analysed yet"
        if self.analysis.status == Analysis.Status.FAILED:
            return "The analysis failed"
        return "Still analysing"

    @property
    def running(self) -> bool:
        """Queued or running: it will finish by itself (a failed one, or none, will not)."""
        return self.analysis is not None and not self.analysis.is_finished


def compare_waiting(old: Snapshot, new: Snapshot) -> list[Waiting]:
    """The snapshots of the pair that have no finished analysis yet, the new one first."""
    waiting = []
    for snapshot, role in ((new, "after"), (old, "before")):
        try:
            services.finished_analysis(snapshot=snapshot)
        except services.AnalysisNotReady:
            waiting.append(Waiting(snapshot, latest_analysis(snapshot), role))
    return waiting


@dataclass
class Endpoint:
    id: str
    label: str  # short: "data/kafka", "203.0.113.0/24", "0.0.0.0-198.51.100.24 +2 more"
    outside: bool  # an address block outside the cluster
    query: str  # what the flow check accepts for it


@dataclass
class Check:
    """A link to the flow check of one snapshot, its port filled in."""

    text: str
    url: str


@dataclass
class PolicyLink:
    id: str
    url: str
    change: str  # "added", "removed", "modified", or "" (the policy did not change)


@dataclass
class FlowRow:
    source: Endpoint
    target: Endpoint
    policies: list[PolicyLink]
    cause: str  # "policy", or "endpoints" (no policy changed: new pods or labels)
    checks: list[Check]
    ports: str = ""  # an added flow: what it allows now; a removed one: what it allowed before
    before: str = ""  # a changed flow: before and after, and what opened and closed
    after: str = ""
    opened: str = ""
    closed: str = ""


CHANGE_MARKS = {"added": "+", "opened": "+", "removed": "\u2212", "closed": "\u2212", "modified": "~", "changed": "~"}


@dataclass
class PolicyChange:
    id: str
    kind: str
    change: str  # "added", "removed" or "modified"
    url: str  # its page in the snapshot where it exists (the new one unless it was removed)
    before_url: str = ""  # a modified policy: its page in the old snapshot

    @property
    def mark(self) -> str:
        return CHANGE_MARKS.get(self.change, "")


@dataclass
class FlowTable:
    """One table of the compare page, with its heading's words."""

    key: str  # "opened", "closed" or "changed": the section's id and the rows' mark
    title: str
    meaning: str
    ports_title: str  # the ports column of opened and closed flows
    empty: str
    rows: list[FlowRow]
    total: int

    @property
    def mark(self) -> str:
        return CHANGE_MARKS[self.key]

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class NodeLink:
    endpoint: Endpoint
    url: str  # the node on the graph of the snapshot that has it


@dataclass
class Comparison:
    old: Snapshot
    new: Snapshot
    level: str
    added: list[FlowRow]
    removed: list[FlowRow]
    changed: list[FlowRow]
    totals: dict[str, int]  # flows added, removed and changed before the tables were cut
    policies: list[PolicyChange]
    nodes_added: list[NodeLink]
    nodes_removed: list[NodeLink]
    api_url: str

    @property
    def flows_changed(self) -> bool:
        return any(self.totals[key] for key in ("added", "removed", "changed"))

    @property
    def tables(self) -> list[FlowTable]:
        return [
            FlowTable(
                "opened",
                "Flows opened",
                "allowed now, denied before",
                "Now allowed",
                "No flow opened: everything allowed now was allowed before.",
                self.added,
                self.totals["added"],
            ),
            FlowTable(
                "closed",
                "Flows closed",
                "allowed before, denied now",
                "Was allowed",
                "No flow closed: everything allowed before is still allowed, at least in part.",
                self.removed,
                self.totals["removed"],
            ),
            FlowTable(
                "changed",
                "Flows changed",
                "allowed before and now, on other ports",
                "",
                "No flow changed its ports.",
                self.changed,
                self.totals["changed"],
            ),
        ]

    @property
    def node_groups(self) -> list[tuple[str, str, list[NodeLink]]]:
        """("Added", mark, nodes) and ("Removed", mark, nodes), when there are any."""
        groups = [
            ("Added", CHANGE_MARKS["added"], self.nodes_added),
            ("Removed", CHANGE_MARKS["removed"], self.nodes_removed),
        ]
        return [group for group in groups if group[2]]

    @property
    def summary(self) -> str:
        """'3 flows opened, 1 closed, 2 changed; 2 policies changed' (and endpoints, when any)."""
        text = (
            f"{plural(self.totals['added'], 'flow')} opened, {self.totals['removed']} closed, "
            f"{self.totals['changed']} changed; {plural(len(self.policies), 'policy', 'policies')} changed"
        )
        if self.nodes_added or self.nodes_removed:
            text += f"; {plural(len(self.nodes_added), 'endpoint')} added, {len(self.nodes_removed)} removed"
        return text


def _node_from_id(node_id: str) -> dict[str, Any]:
    """A node for an id no stored graph describes: "ns/Kind/name" a workload, "ns/name" a pod,
    an address or range an external block."""
    first = node_id.split(",")[0].split("-")[0].split("/")[0]
    try:
        ipaddress.ip_address(first)
    except ValueError:
        parts = node_id.split("/")
        if len(parts) == 3:
            return {"id": node_id, "kind": "workload", "namespace": parts[0], "name": parts[2]}
        if len(parts) == 2:
            return {"id": node_id, "kind": "pod", "namespace": parts[0], "name": parts[1]}
        return {"id": node_id, "kind": "pod", "namespace": "", "name": node_id}
    return {"id": node_id, "kind": "external", "cidrs": [], "name": ""}


def comparison(old: Snapshot, new: Snapshot, level: str = "workload") -> Comparison:
    """What changes from ``old`` to ``new``: the engine's diff (services.diff_snapshots) with names,
    links to the flow check of the snapshot where each flow is allowed, and to the policies' pages.
    AnalysisNotReady when either snapshot has no finished analysis."""
    diff = services.diff_snapshots(old=old, new=new, level=level)
    old_nodes = {node["id"]: node for node in stored_nodes(old, level)}
    new_nodes = {node["id"]: node for node in stored_nodes(new, level)}
    old_pages, new_pages = policy_pages(old), policy_pages(new)
    changes = {p["id"]: p["change"] for p in diff.get("policies_changed", [])}

    def endpoint(node_id: str, first: dict[str, Any], then: dict[str, Any]) -> Endpoint:
        node = first.get(node_id) or then.get(node_id) or _node_from_id(node_id)
        return Endpoint(node_id, short_label(node), node["kind"] == "external", endpoint_text(node))

    def check(snapshot: Snapshot, src: Endpoint, dst: Endpoint, port: tuple[str, int] | None, text: str) -> Check:
        params: dict[str, Any] = {"src": src.query, "dst": dst.query}
        words = "check"  # only protocols the form does not ask about: it opens with the two ends filled in
        if port is not None:
            params.update(port=port[1], protocol=port[0])
            words = f"{port[0]} {port[1]}"
        return Check(text.format(port=words), f"{reverse('policies:flow', args=[snapshot.id])}?{urlencode(params)}")

    def known(nodes: dict[str, Any], flow: dict[str, Any]) -> bool:
        return flow["source"] in nodes and flow["target"] in nodes

    def links(flow: dict[str, Any], first: PolicyPages, then: PolicyPages) -> list[PolicyLink]:
        return [
            PolicyLink(pid, first.get(("", pid)) or then.get(("", pid), ""), changes.get(pid, ""))
            for pid in flow.get("policies", [])
        ]

    Side = tuple[Snapshot, dict[str, Any], PolicyPages]  # a snapshot, its graph nodes, its policy pages
    after: Side = (new, new_nodes, new_pages)
    before: Side = (old, old_nodes, old_pages)

    def one_sided(key: str, allowed: Side, other: Side, here: str, there: str) -> list[FlowRow]:
        """Opened (allowed now) or closed (allowed before) flows: the check goes to the snapshot
        that allows the flow, and to the other one too when both ends exist there."""
        rows = []
        for flow in diff[key][:COMPARE_MAX_ROWS]:
            src, dst = endpoint(flow["source"], allowed[1], other[1]), endpoint(flow["target"], allowed[1], other[1])
            port = probe(flow)
            checks = [check(allowed[0], src, dst, port, "{port} " + here)]
            if known(other[1], flow):
                checks.append(check(other[0], src, dst, port, there))
            policy_links = links(flow, allowed[2], other[2])
            rows.append(FlowRow(src, dst, policy_links, flow["cause"], checks, ports_text(flow)))
        return rows

    added = one_sided("added", after, before, "now", "before")
    removed = one_sided("removed", before, after, "before", "now")
    changed = []
    for flow in diff["changed"][:COMPARE_MAX_ROWS]:
        src, dst = endpoint(flow["source"], new_nodes, old_nodes), endpoint(flow["target"], new_nodes, old_nodes)
        opened, closed = probe(flow.get("opened")), probe(flow.get("closed"))
        checks = []
        if opened:
            checks.append(check(new, src, dst, opened, "opened {port}"))
        if closed:
            checks.append(check(new, src, dst, closed, "closed {port}"))
        if not checks:
            checks.append(check(new, src, dst, probe(flow.get("after")), "{port} now"))
        changed.append(
            FlowRow(
                src,
                dst,
                links(flow, new_pages, old_pages),
                flow["cause"],
                checks,
                before=ports_text(flow.get("before")),
                after=ports_text(flow.get("after")),
                opened=some_text(flow.get("opened")),
                closed=some_text(flow.get("closed")),
            )
        )

    policies = []
    for change in diff.get("policies_changed", []):
        key = ("key", change.get("key", ""))  # diffs kept from before the key: by id
        new_url = new_pages.get(key) or new_pages.get(("", change["id"]), "")
        old_url = old_pages.get(key) or old_pages.get(("", change["id"]), "")
        url = old_url if change["change"] == "removed" else new_url or old_url
        before_url = old_url if change["change"] == "modified" else ""
        kind = KIND_WORDS.get(change["kind"], change["kind"])
        policies.append(PolicyChange(change["id"], kind, change["change"], url, before_url))

    def node_links(ids: list[str], snapshot: Snapshot, nodes: dict[str, Any]) -> list[NodeLink]:
        base = reverse("policies:graph", args=[snapshot.id])
        extra = {"level": level} if level != "workload" else {}
        return [NodeLink(endpoint(i, nodes, {}), f"{base}?{urlencode({**extra, 'sel': i})}") for i in ids]

    api = reverse("api:snapshot-diff", args=[new.id])
    return Comparison(
        old=old,
        new=new,
        level=level,
        added=added,
        removed=removed,
        changed=changed,
        totals={key: len(diff[key]) for key in ("added", "removed", "changed")},
        policies=policies,
        nodes_added=node_links(list(diff.get("nodes_added", [])), new, new_nodes),
        nodes_removed=node_links(list(diff.get("nodes_removed", [])), old, old_nodes),
        api_url=f"{api}?{urlencode({'against': old.id, 'level': level})}",
    )
