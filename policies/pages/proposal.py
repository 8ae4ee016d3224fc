"""The proposal page: expectation results first, then the flows the change opens, closes and
changes (grouped by the destination's namespace), the YAML diff of the policies, the lint findings
it adds or fixes, and the review (comments, decisions, the forms the user's role allows).

The page shows the current revision, or with ``?revision=N`` an earlier one as it was reviewed
(its results as computed then; no review form)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from policies import access, services
from policies.models import Analysis, Membership, Proposal, ProposalRevision, Review
from policies.pages.compare import Comparison, FlowRow, comparison
from policies.pages.state import latest_analysis

OUTSIDE = "outside the cluster"


@dataclass
class FlowItem:
    row: FlowRow
    key: str  # "SOURCE -> TARGET", what a comment on this flow names
    comments: list[Review]


@dataclass
class FlowGroup:
    namespace: str
    items: list[FlowItem]


@dataclass
class FlowSection:
    key: str  # opened, closed, changed
    title: str
    meaning: str
    groups: list[FlowGroup]
    total: int


@dataclass
class DiffLine:
    text: str
    kind: str  # "add", "del", "hunk", "file" or ""


@dataclass
class PolicyDiff:
    policy: str
    kind: str
    change: str
    lines: list[DiffLine]


@dataclass
class Rights:
    comment: bool = False
    approve: bool = False  # approve and request changes
    close: bool = False
    reopen: bool = False
    apply: bool = False
    revise: bool = False  # submit a new revision


@dataclass
class Waiting:
    """One snapshot of a pending change and its analysis, as the waiting page shows its progress."""

    role: str  # "base" or "proposed"
    snapshot_name: str
    analysis: Analysis | None


@dataclass
class ProposalPage:
    proposal: Proposal
    expectations: list[dict[str, Any]]
    broken: list[str]
    sections: list[FlowSection]
    policies: list[PolicyDiff]
    lint_added: list[dict[str, Any]]
    lint_fixed: list[dict[str, Any]]
    reviews: list[Review]
    flow_comments: dict[str, list[Review]]
    rights: Rights
    comparison: Comparison | None = None
    waiting: bool = False
    failed: str = ""
    flows: list[str] = field(default_factory=list)  # every changed flow, for the per-flow comment form
    revision: ProposalRevision | None = None  # the revision shown
    revisions: list[ProposalRevision] = field(default_factory=list)
    earlier: bool = False  # an earlier revision is shown, not the current one
    # "current", "rechecking" (the team's expectations changed since), "pending" or "failed"
    expectations_state: str = "current"
    waiting_on: list[Waiting] = field(default_factory=list)  # while pending: both analyses' progress


def _namespace(endpoint_id: str, outside: bool) -> str:
    return OUTSIDE if outside else endpoint_id.split("/", 1)[0]


def flow_key(row: FlowRow) -> str:
    return f"{row.source.id} -> {row.target.id}"


def _group(rows: list[FlowRow], comments: dict[str, list[Review]]) -> list[FlowGroup]:
    """Rows by the namespace of their destination, then by destination workload and source."""
    groups: dict[str, list[FlowItem]] = {}
    for row in sorted(rows, key=lambda r: (r.target.id, r.source.id)):
        item = FlowItem(row, flow_key(row), comments.get(flow_key(row), []))
        groups.setdefault(_namespace(row.target.id, row.target.outside), []).append(item)
    return [FlowGroup(ns, items) for ns, items in sorted(groups.items())]


def _diff_lines(text: str) -> list[DiffLine]:
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = ""
        lines.append(DiffLine(line, kind))
    return lines


def _lint(analysis: Analysis | None) -> list[dict[str, Any]]:
    if analysis is None or analysis.status != Analysis.Status.DONE:
        return []
    return list(analysis.result_part("lint") or [])


def _finding_key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return str(finding.get("code")), str(finding.get("policy")), str(finding.get("message"))


def rights(proposal: Proposal, user: AbstractBaseUser | AnonymousUser) -> Rights:
    """What ``user`` may do on the page (the services check the same again on every POST)."""
    team, state = proposal.team, proposal.state
    mine = proposal.author_id == user.pk
    active = state in (Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED, Proposal.State.APPROVED)
    owner_or_admin = (mine and access.has_role(user, team, Membership.Role.AUTHOR)) or access.has_role(
        user, team, Membership.Role.ADMIN)
    reviewer = access.has_role(user, team, Membership.Role.REVIEWER)
    return Rights(
        revise=owner_or_admin and state in services.REVISABLE,
        comment=access.has_role(user, team, Membership.Role.AUTHOR),
        approve=reviewer and not mine and state in (Proposal.State.OPEN, Proposal.State.CHANGES_REQUESTED),
        close=owner_or_admin and active,
        reopen=owner_or_admin and state == Proposal.State.CLOSED,
        apply=reviewer and state == Proposal.State.APPROVED,
    )


def proposal_page(
    proposal: Proposal, user: AbstractBaseUser | AnonymousUser, revision: int | None = None
) -> ProposalPage:
    revisions = list(proposal.revisions.select_related("proposed", "author").order_by("number"))
    shown = next((r for r in revisions if r.number == (revision or proposal.revision)), None)
    if shown is None:
        raise Http404(f"Proposal {proposal.id} has no revision {revision}.")
    earlier = shown.number != proposal.revision
    reviews = list(proposal.reviews.all())
    flow_comments: dict[str, list[Review]] = {}
    for r in reviews:
        if r.flow and r.revision == shown.number:
            flow_comments.setdefault(r.flow, []).append(r)
    state = services.expectations_status(shown, proposal.team)
    if earlier and state == "rechecking":
        state = "current"  # an earlier revision's results are kept as they were reviewed
    expectations = sorted(shown.expectations, key=lambda r: (
        {"broken": 0, "failing": 1, "fixed": 2}.get(r.get("change", ""), 3), r["name"]))
    page = ProposalPage(
        proposal=proposal, expectations=expectations if state == "current" else [],
        broken=shown.broken_expectations if state == "current" else [], sections=[],
        policies=[PolicyDiff(c["policy"], c["kind"], c["change"], _diff_lines(c["diff"]))
                  for c in shown.policy_changes],
        lint_added=[], lint_fixed=[], reviews=reviews, flow_comments=flow_comments,
        rights=Rights() if earlier else rights(proposal, user), revision=shown, revisions=revisions,
        earlier=earlier, expectations_state=state,
    )
    if shown.status == Proposal.Status.PENDING:
        page.waiting = True
        if not earlier:
            services.resume_proposal(proposal=proposal)  # a stopped server left its run
        page.waiting_on = [Waiting(role, snapshot.name, latest_analysis(snapshot))
                           for role, snapshot in (("base", proposal.base), ("proposed", shown.proposed))]
        return page
    if shown.status == Proposal.Status.FAILED:
        page.failed = shown.error
        return page
    try:
        page.comparison = comparison(proposal.base, shown.proposed, "workload")
    except services.AnalysisNotReady:
        page.waiting = True
        return page
    c = page.comparison
    words = (("opened", "Flows opened", "allowed now, denied before", c.added, "added"),
             ("closed", "Flows closed", "allowed before, denied now", c.removed, "removed"),
             ("changed", "Flows changed", "allowed before and now, on other ports", c.changed, "changed"))
    page.sections = [FlowSection(key, title, meaning, _group(rows, flow_comments), c.totals[total])
                     for key, title, meaning, rows, total in words]
    page.flows = [flow_key(r) for r in (*c.added, *c.removed, *c.changed)]
    before = {_finding_key(f): f for f in _lint(proposal.base.latest_analysis())}
    after = {_finding_key(f): f for f in _lint(shown.proposed.latest_analysis())}
    page.lint_added = [f for k, f in after.items() if k not in before]
    page.lint_fixed = [f for k, f in before.items() if k not in after]
    return page
