"""Admin network policies in a browser: the graph's side panel lists the admin policies that select
a pod, and the flow check shows the Admin tier with the priority, the rule's name and the Pass
handing the flow to the NetworkPolicy that decides (admin vector A03)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies import services

from .conftest import finish_analyses
from .test_pages import click_element, wait_for_graph

pytestmark = pytest.mark.browser

VECTORS = Path(__file__).resolve().parents[1] / "engine" / "admin_vectors"


def test_admin_policies_on_the_graph_and_the_flow_check(
    login: Callable[[], Any], live_server: Any, transactional_db: None
) -> None:
    policies = yaml.safe_load((VECTORS / "A03.yaml").read_text())["policies"]
    snapshot = services.create_snapshot(
        name="admin", files=[("base.yaml", (VECTORS / "base.yaml").read_text()), ("admin.yaml", policies)])
    finish_analyses()
    page = login()

    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/graph/")
    wait_for_graph(page)
    click_element(page, "x/Pod/web")
    panel = page.locator("#side-panel")
    admin = panel.locator(".admin-policies li")
    admin.first.wait_for()
    assert admin.all_inner_texts() == ["AdminNetworkPolicy deny-all (Admin tier, priority 20)",
                                       "AdminNetworkPolicy pass-blue (Admin tier, priority 10)"]

    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/flow/")
    page.fill("#id_src", "y/cli")
    page.fill("#id_dst", "x/db")
    page.fill("#id_port", "5432")
    page.get_by_role("button", name="Check").click()
    page.wait_for_url(re.compile(r"/flow/\?"))
    assert page.locator("#verdict").inner_text().startswith("✓Allowed: y/cli may reach x/db")
    ingress = page.locator(".trace-direction").nth(1)
    assert ingress.locator(".tier-head").first.inner_text().startswith("Admin tier")
    first = ingress.locator(".trace-policy").first
    assert "priority 10" in first.locator("h3").inner_text()
    assert first.locator(".rule-name").inner_text() == "to-owners"
    assert "to the NetworkPolicy tier" in first.inner_text()
    assert ingress.locator(".trace-policy.deciding h3 a").inner_text() == "x/db-from-red"
