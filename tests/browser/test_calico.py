"""The Calico demo in a browser: a node's policies in tier order on the graph, then the flow check's
trace tier by tier with the deciding rule's lines highlighted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies.models import Snapshot

from .test_pages import click_element, wait_for_graph

pytestmark = pytest.mark.browser


def test_calico_tiers_on_the_graph_and_the_flow_check(
    login: Callable[[], Any],
    live_server: Any,
    demo: dict[str, Snapshot],
    screenshot_path: Callable[[str], Path],
) -> None:
    snapshot = demo["Calico: security tier"]
    page = login()

    # The graph: the panel of payments-api lists its policies in the order Calico runs them.
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/graph/")
    wait_for_graph(page)
    click_element(page, "payments/Deployment/payments-api")
    panel = page.locator("#side-panel")
    placements = panel.locator(".policy-placement")
    placements.first.wait_for()
    assert placements.all_inner_texts() == [
        "GlobalNetworkPolicy, tier security, order 10",
        "NetworkPolicy, tier default, order 1000",
    ]

    # The flow check: denied in the security tier, the Deny rule's lines highlighted.
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/flow/")
    page.fill("#id_src", "storefront/Deployment/web")
    page.fill("#id_dst", "payments/Deployment/payments-api")
    page.fill("#id_port", "8080")
    page.get_by_role("button", name="Check").click()
    page.wait_for_url(re.compile(r"/flow/\?"))
    assert page.locator("#verdict").inner_text().startswith("✗Denied: storefront/Deployment/web may not reach")
    ingress = page.locator(".trace-direction").nth(1)
    assert ingress.locator(".tier-head").first.inner_text() == "Tier security (tier order 100)"
    assert ingress.locator(".trace-rules li.deciding .action").inner_text() == "Deny"
    highlighted = ingress.locator(".listing li.hl")
    assert highlighted.first.is_visible()
    assert highlighted.first.locator("code").inner_text().strip() == "- action: Deny"
    page.screenshot(path=str(screenshot_path("flow-check-calico.png")), full_page=True)
