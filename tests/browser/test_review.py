"""The whole review in a browser: alice proposes a change that opens a flow and breaks an
expectation, sees the opened flow and the broken expectation, comments on the flow; bob (a
reviewer) cannot approve without overriding, then approves with a comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from policies import services
from policies.models import Membership, Proposal, Snapshot, Team, TeamExpectation
from tests.browser.conftest import finish_analyses
from tests.conftest import OPEN_POLICY, POLICY

pytestmark = pytest.mark.browser


def log_in(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def finish_proposals() -> None:
    """What a worker would run when a broker holds the tasks (with none they ran in-process)."""
    finish_analyses()
    for proposal in Proposal.objects.filter(status=Proposal.Status.PENDING):
        services.run_proposal(proposal_id=proposal.id)


def test_propose_see_the_opened_flow_comment_approve(
    page: Page, live_server: Any, alice: User, bob: User, make_snapshot: Callable[..., Snapshot],
    screenshot_path: Callable[[str], Any],
) -> None:
    snapshot = make_snapshot()
    TeamExpectation.objects.create(team=Team.default(), name="db-closed-to-other", spec={
        "from": {"namespace": "other"}, "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
        "expect": "deny"})

    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/")
    page.get_by_role("link", name="Propose a change").click()
    page.fill("#id_title", "let other reach db")
    page.fill("#id_manifests", OPEN_POLICY)
    page.get_by_role("button", name="Propose").click()
    page.wait_for_url("**/proposals/*/")
    finish_proposals()
    page.reload()

    expect(page.locator("#broken-expectations")).to_contain_text("db-closed-to-other")
    opened = page.locator("section:has(#opened)")
    expect(opened).to_contain_text("Namespace prod")
    row = opened.locator("tr.flow-row").first
    expect(row).to_contain_text("other/intruder")
    expect(row).to_contain_text("prod/db")
    expect(page.locator("#yaml-diff")).to_contain_text("+        - namespaceSelector: {}")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # not on one's own proposal

    page.fill("#review-body", "other needs db for the migration")
    page.select_option("#review-flow", "other/Pod/intruder -> prod/Pod/db")
    page.get_by_role("button", name="Comment").click()
    expect(row.locator(".flow-comment")).to_contain_text("alice: other needs db for the migration")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob")
    proposal = Proposal.objects.get()
    page.goto(f"{live_server.url}/proposals/{proposal.id}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").filter(has_text="breaks db-closed-to-other")).to_be_visible()
    page.fill("#review-body", "agreed: the migration needs it until Friday")
    page.check("#review-override")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#proposal-state")).to_have_text("Approved")
    expect(page.locator("#review-log")).to_contain_text("overriding db-closed-to-other")
    page.screenshot(path=str(screenshot_path("proposal.png")), full_page=True)
    proposal.refresh_from_db()
    assert proposal.state == "approved"

    # The graph of the proposed snapshot, only what the change touches.
    page.click("#graph-changed")
    page.wait_for_function("() => window.netpolGraph && window.netpolGraph.cy && window.netpolGraph.cy.nodes().length")
    page.wait_for_function("() => document.getElementById('graph-status').textContent === ''")
    assert page.locator("#f-only").input_value() == "changed"
    focus = page.evaluate("() => window.netpolGraph.cy.nodes('.focus').map(n => n.id()).sort()")
    assert focus == ["other/Pod/intruder", "prod/Pod/db"]
    page.reload()
    page.wait_for_function("() => document.getElementById('graph-status').textContent === ''")
    assert "against=" in page.url and page.locator("#f-only").input_value() == "changed"
    assert [(r.author_name, r.decision) for r in proposal.reviews.all()] == [("alice", "comment"), ("bob", "approve")]


# db reachable only from pods labelled app=frontend, which none is: the flow from web closes.
FRONTEND_ONLY = POLICY.replace("        - podSelector: {}\n", "        - podSelector: {matchLabels: {app: frontend}}\n")
WEB_REACHES_DB = """\
expectations:
- name: web-reaches-db
  from: {namespace: prod, podSelector: {matchLabels: {app: web}}}
  to: {namespace: prod, podSelector: {matchLabels: {app: db}}}
  ports: ["TCP/5432"]
  expect: allow
"""


def edge_seen(page: Page, edge_id: str) -> dict[str, Any]:
    """How the change graph draws one edge: its classes, label and line style."""
    page.wait_for_function("() => window.netpolChangeGraph && window.netpolChangeGraph.cy"
                           " && window.netpolChangeGraph.cy.edges().length")
    seen: dict[str, Any] = page.evaluate(
        """(id) => { const e = window.netpolChangeGraph.cy.getElementById(id);
                     return {classes: e.classes(), label: e.style('label'), line: e.style('line-style')}; }""",
        edge_id)
    return seen


def test_request_changes_revise_see_the_graph_of_the_change_recheck_approve(
    page: Page, live_server: Any, alice: User, bob: User, make_snapshot: Callable[..., Snapshot],
    screenshot_path: Callable[[str], Any],
) -> None:
    snapshot = make_snapshot()
    TeamExpectation.objects.create(team=Team.default(), name="db-closed-to-other", spec={
        "from": {"namespace": "other"}, "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
        "expect": "deny"})
    ada = User.objects.create_user("ada", "ada@example.org", "password")
    Membership.objects.create(team=Team.default(), user=ada, role=Membership.Role.ADMIN)

    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/propose/")
    page.fill("#id_title", "let other reach db")
    page.fill("#id_manifests", OPEN_POLICY)
    page.get_by_role("button", name="Propose").click()
    page.wait_for_url("**/proposals/*/")
    finish_proposals()
    proposal = Proposal.objects.get()
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/proposals/{proposal.id}/")
    page.fill("#review-body", "keep other out; and does web still need db?")
    page.get_by_role("button", name="Request changes").click()
    expect(page.locator("#proposal-state")).to_have_text("Changes Requested")
    page.get_by_role("button", name="Log out").click()

    # alice answers with a second revision: other stays out, and web loses db.
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/proposals/{proposal.id}/")
    expect(page.locator("#revise-form")).to_be_visible()  # open while changes are requested
    page.fill("#revise-form #id_manifests", FRONTEND_ONLY)
    page.fill("#revise-form #id_body", "only the frontend, which web is not")
    page.get_by_role("button", name="Submit revision 2").click()
    finish_proposals()
    page.reload()
    expect(page.locator("#revision-number")).to_have_text("Revision 2 of 2")
    expect(page.locator("#proposal-state")).to_have_text("Open")
    expect(page.locator("#broken-expectations")).to_have_count(0)
    expect(page.locator("#revisions tbody tr")).to_have_count(2)
    expect(page.locator("#review-log li").last).to_contain_text("submitted revision 2")

    # The graph of this change: the closed edge drawn dashed, with its words.
    page.click("#graph-change")
    closed = edge_seen(page, "prod/Pod/web->prod/Pod/db")
    assert (closed["classes"], closed["label"], closed["line"]) == (["change-closed"], "closed: TCP 5432", "dashed")
    expect(page.locator("#change-legend")).to_contain_text("closed: …")
    expect(page.locator("#change-list li")).to_have_text(["closed: prod/Pod/web → prod/Pod/db (closed: TCP 5432)"])
    seen = page.evaluate("() => window.netpolChangeGraph.cy.nodes().map(n => n.visible() && n.width() > 60)")
    assert seen == [True] * 4  # every node drawn, as wide as its name
    page.screenshot(path=str(screenshot_path("proposal-graph.png")), full_page=True)
    # The first revision's graph: the opened edge, solid, with its words.
    page.goto(f"{live_server.url}/proposals/{proposal.id}/graph/?revision=1")
    opened = edge_seen(page, "other/Pod/intruder->prod/Pod/db")
    assert (opened["classes"], opened["label"], opened["line"]) == (["change-opened"], "opened: TCP 5432", "solid")
    page.get_by_role("button", name="Log out").click()

    # ada declares that web reaches db: the open proposal is checked again and now breaks it.
    log_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/teams/default/expectations/")
    page.fill("textarea[name=text]", WEB_REACHES_DB)
    page.locator("form:has(textarea[name=text]) button[type=submit]").click()
    finish_proposals()
    page.goto(f"{live_server.url}/proposals/{proposal.id}/")
    expect(page.locator("#broken-expectations")).to_contain_text("web-reaches-db")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/proposals/{proposal.id}/")
    page.fill("#review-body", "web moves to the frontend label next week")
    page.check("#review-override")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#proposal-state")).to_have_text("Approved")
    expect(page.locator("#review-log li").last).to_contain_text("on revision 2")
    proposal.refresh_from_db()
    assert (proposal.state, proposal.revision) == ("approved", 2)
    assert [(r.decision, r.revision) for r in proposal.reviews.all()] == [
        ("request_changes", 1), ("revise", 2), ("approve", 2)]
