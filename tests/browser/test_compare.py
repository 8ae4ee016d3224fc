"""The compare page in a browser: from a snapshot's overview to what its change opens or closes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies.models import Snapshot

pytestmark = pytest.mark.browser


def test_compare_the_demo_change_from_its_overview(
    login: Callable[[], Any],
    live_server: Any,
    demo: dict[str, Snapshot],
    screenshot_path: Callable[[str], Path],
) -> None:
    change = demo["Shop: proposed change to the data namespace"]
    shop = demo["Shop: 12 services in 3 namespaces"]
    page = login()
    page.goto(f"{live_server.url}/snapshots/{change.id}/")

    # The overview's "Compare with…" form.
    page.select_option("#compare-against", str(shop.id))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(rf"/snapshots/{change.id}/compare/\?against={shop.id}"))
    assert page.locator("#compare-summary").inner_text() == ("1 flow opened, 12 closed, 3 changed; 4 policies changed.")
    closed = page.locator("section[aria-labelledby=closed] tbody tr")
    assert closed.count() == 12
    assert "data/kafka" in closed.first.inner_text()
    assert page.locator("section[aria-labelledby=changed]").get_by_text("closed", exact=True).count() == 3
    page.screenshot(path=str(screenshot_path("compare.png")), full_page=True)

    # A closed flow's check: allowed in the old snapshot, by the policies of that time.
    closed.first.get_by_role("link", name=re.compile(r"before$")).click()
    page.wait_for_url(re.compile(rf"/snapshots/{shop.id}/flow/\?"))
    assert "Allowed: data/StatefulSet/kafka may reach" in page.locator("#verdict").inner_text()

    # Back on the compare page, the changed flow's closed port is denied now.
    page.go_back()
    changed = page.locator("section[aria-labelledby=changed] tbody tr").first
    changed.get_by_role("link", name=re.compile(r"^closed ")).click()
    page.wait_for_url(re.compile(rf"/snapshots/{change.id}/flow/\?"))
    assert "Denied: data/StatefulSet/kafka may not reach kube-system/Deployment/coredns" in (
        page.locator("#verdict").inner_text()
    )
