"""The overview's lists in a browser: a workload of a headline list opens the graph with that
workload selected, its namespace opened, also when the graph starts at namespace level."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies import services

from ..test_overview_lists import cluster_files
from .conftest import finish_analyses

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("namespace_first", [True, False])
def test_a_listed_workload_opens_selected_on_the_graph(
    login: Callable[[], Any], live_server: Any, transactional_db: None, settings: Any, namespace_first: bool
) -> None:
    settings.NETPOL_GRAPH_NAMESPACE_FIRST_ABOVE = 0 if namespace_first else 10_000
    snapshot = services.create_snapshot(name="spread", files=cluster_files())
    finish_analyses()

    page = login()
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/")
    group = page.locator('#list-not-isolated details[data-namespace="ns-2"]')
    assert group.locator("summary").inner_text().startswith("ns-2")
    # Collapsible: closing the group hides its workloads.
    group.locator("summary").click()
    assert not group.locator("a", has_text="ns-2/b").is_visible()
    group.locator("summary").click()
    group.locator("a", has_text="ns-2/b").first.click()

    page.wait_for_url("**/graph/?open=ns-2&sel=ns-2%2FPod%2Fb")
    page.wait_for_function("() => window.netpolGraph && window.netpolGraph.cy && window.netpolGraph.cy.nodes().length")
    page.wait_for_function(
        "() => { const n = window.netpolGraph.cy.getElementById('ns-2/Pod/b'); return n.nonempty() && n.selected(); }"
    )
    assert page.locator("#panel-title").inner_text() == "ns-2/b"
    # At namespace level only the opened namespace shows its workloads.
    closed = page.evaluate("() => window.netpolGraph.cy.nodes('.collapsed').map(n => n.id())")
    assert ("ns:ns-1" in closed) is namespace_first
