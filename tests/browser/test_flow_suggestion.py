"""The flow check proposes the smallest change: the YAML of the rule to add, a copy button, what
else it would open; an allowed flow shows how to deny it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from policies import engine
from policies.models import Snapshot

pytestmark = pytest.mark.browser


def flow_url(live_server: Any, snapshot: Snapshot, src: str, dst: str, port: int) -> str:
    query = urlencode({"src": src, "dst": dst, "port": port, "protocol": "TCP"})
    return f"{live_server.url}/snapshots/{snapshot.id}/flow/?{query}"


def test_a_denied_flow_shows_the_rules_to_add_and_they_allow_it(
    login: Callable[[], Any], live_server: Any, shop: Snapshot, screenshot_path: Callable[[str], Any]
) -> None:
    page = login()
    page.goto(flow_url(live_server, shop, "orders/Deployment/checkout", "storefront/Deployment/frontend", 8080))
    assert page.locator("#verdict").inner_text().startswith("✗Denied")
    section = page.locator("#suggestion")
    assert section.locator("h2").inner_text().startswith("The smallest change that allows it")
    assert "checked" in section.locator("h2").inner_text()
    blocks = section.locator("pre.suggestion-yaml")
    assert blocks.count() == 2  # both ends isolate: an egress rule and an ingress rule
    texts = [blocks.nth(i).inner_text() for i in range(2)]
    assert yaml.safe_load(texts[1]) == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "orders"}},
                  "podSelector": {"matchLabels": {"app": "checkout"}}}],
        "ports": [{"protocol": "TCP", "port": 8080}]}]
    # Each change links the policy it goes into.
    changes = section.locator(".suggestion-change")
    assert "Add this egress rule under spec.egress of NetworkPolicy orders/checkout" in changes.nth(0).inner_text()
    assert "Add this ingress rule under spec.ingress of NetworkPolicy storefront/frontend" in \
        changes.nth(1).inner_text()
    links = section.locator("a.suggestion-policy")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    pages = [shop.resources.get(kind="NetworkPolicy", namespace=ns, name=name).id
             for ns, name in (("orders", "checkout"), ("storefront", "frontend"))]
    assert hrefs == [f"/snapshots/{shop.id}/policies/{pk}/" for pk in pages]
    assert section.locator("#suggestion-others").inner_text() == "Would also open: nothing else."
    section.screenshot(path=str(screenshot_path("flow-suggestion.png")))

    page.get_by_role("button", name="Copy the YAML").nth(1).click()
    page.wait_for_function("() => document.querySelectorAll('#suggestion .copy-status')[1].textContent !== ''")
    assert page.evaluate("() => navigator.clipboard.readText()") == texts[1].strip()

    # The copied rules, written into the policies, allow the flow.
    files = [(f.name, f.text) for f in shop.files.all()]
    docs = [(name, d) for name, text in files for d in yaml.safe_load_all(text) if d]
    for text, (namespace, name, key) in zip(texts, [("orders", "checkout", "egress"),
                                                    ("storefront", "frontend", "ingress")], strict=True):
        policy = next(d for _, d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name
                      and d["metadata"]["namespace"] == namespace)
        policy["spec"].setdefault(key, []).extend(yaml.safe_load(text))
    cluster = engine.parse_files([("all.yaml", yaml.safe_dump_all([d for _, d in docs]))]).cluster
    assert engine.explain(cluster, "orders/Deployment/checkout", "storefront/Deployment/frontend", port=8080).allowed


def test_an_allowed_flow_shows_how_to_deny_it(login: Callable[[], Any], live_server: Any, shop: Snapshot) -> None:
    page = login()
    page.goto(flow_url(live_server, shop, "storefront/Deployment/frontend", "orders/Deployment/checkout", 8080))
    assert page.locator("#verdict").inner_text().startswith("✓Allowed")
    section = page.locator("#suggestion")
    assert section.locator("h2").inner_text().startswith("How to deny it")
    change = section.locator(".suggestion-change")
    assert change.get_attribute("data-action") == "remove-rule"
    assert "remove ingress rule 0 of orders/checkout" in change.inner_text().lower()
    assert section.locator("#suggestion-others").inner_text().startswith("Would also close:")
