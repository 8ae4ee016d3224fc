"""Clicking a node on the graph page: it is selected, a ring marks it and the side panel shows it,
without cytoscape redrawing the still layer (every edge) for the click (static/policies/graph-renderer.js)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.models import Snapshot

from .test_graph_drag import PICK
from .test_pages import CLICK_POINT, wait_for_graph

pytestmark = pytest.mark.browser

FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Counts the still layer's redraws (cytoscape draws it with drawLayeredElements) and the drag layer's.
COUNT_DRAWS = """() => { const r = window.netpolGraph.cy.renderer();
  window.__draws = { still: 0, drag: 0 };
  const still = r.drawLayeredElements, drag = r.drawCachedElements;
  r.drawLayeredElements = function (...a) { window.__draws.still += 1; return still.apply(this, a); };
  r.drawCachedElements = function (...a) { window.__draws.drag += 1; return drag.apply(this, a); }; }"""
RING = """() => { const ring = document.querySelector('#cy .selection-ring');
  if (!ring || ring.hidden) return null;
  const b = ring.getBoundingClientRect(), c = document.getElementById('cy').getBoundingClientRect();
  return { x1: b.left - c.left, y1: b.top - c.top, x2: b.right - c.left, y2: b.bottom - c.top }; }"""
RENDERED_BOX = """(id) => window.netpolGraph.cy.getElementById(id)
  .renderedBoundingBox({ includeLabels: false, includeOverlays: false })"""


def surrounds(ring: dict[str, float], box: dict[str, float]) -> bool:
    return ring["x1"] <= box["x1"] and box["x2"] <= ring["x2"] and ring["y1"] <= box["y1"] and box["y2"] <= ring["y2"]


def test_clicking_a_workload_selects_it_shows_the_panel_and_leaves_the_edges_undrawn(
    login: Callable[[], Any], live_server: Any, shop: Snapshot
) -> None:
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)
    first, second = page.evaluate(
        """() => window.netpolGraph.cy.nodes('.workload').filter(n => n.connectedEdges().length > 0)
             .map(n => n.id()).slice(0, 2)"""
    )
    # The first click opens the side panel, which narrows the drawing: that redraws everything.
    point = page.evaluate(CLICK_POINT, first)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).selected()", arg=first)
    page.wait_for_timeout(300)  # the drawing's resize observer answers the panel's opening
    page.wait_for_function("() => !window.netpolGraph.cy.animated()")  # nor is it still moving into view
    page.evaluate(FRAMES)
    page.evaluate(COUNT_DRAWS)

    node = page.evaluate(PICK)
    if node == first:
        node = second
    title = page.text_content("#panel-title")
    point = page.evaluate(CLICK_POINT, node)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).selected()", arg=node)
    page.evaluate(FRAMES)
    assert page.evaluate("() => window.netpolGraph.cy.nodes(':selected').map(n => n.id())") == [node]
    # The panel shows the clicked node.
    assert page.evaluate("() => !document.querySelector('.graph-page').classList.contains('panel-closed')")
    assert page.text_content("#panel-title") not in ("", title)
    # The ring is drawn around the node, and nothing but the drag layer was drawn for the click.
    ring = page.evaluate(RING)
    assert ring is not None and surrounds(ring, page.evaluate(RENDERED_BOX, node))
    draws = page.evaluate("() => window.__draws")
    assert draws["still"] == 0 and draws["drag"] > 0

    # Told of a resize to the size it already has (the resize observer after the panel opened), the
    # renderer draws nothing again either.
    page.evaluate("() => window.netpolGraph.cy.resize()")
    page.evaluate(FRAMES)
    assert page.evaluate("() => window.__draws.still") == 0

    # Panning redraws the still layer and the ring follows the node.
    box = page.evaluate(
        "() => { const b = document.getElementById('cy').getBoundingClientRect(); return [b.left, b.top]; }"
    )
    page.mouse.move(box[0] + 5, box[1] + 5)
    page.mouse.down()
    page.mouse.move(box[0] + 45, box[1] + 35, steps=10)
    page.mouse.up()
    page.evaluate(FRAMES)
    assert page.evaluate("() => window.__draws.still") > 0
    ring = page.evaluate(RING)
    assert ring is not None and surrounds(ring, page.evaluate(RENDERED_BOX, node))

    # A click on the background unselects it: the ring goes.
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.netpolGraph.cy.nodes(':selected').empty()")
    page.evaluate(FRAMES)
    assert page.evaluate(RING) is None
