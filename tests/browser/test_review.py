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
from policies.models import Proposal, Snapshot, Team, TeamExpectation
from tests.browser.conftest import finish_analyses
from tests.conftest import OPEN_POLICY

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
