"""Dragging a node on the graph page with the mouse: the node and its edges move, nothing else does,
and the renderer redraws only those while the mouse moves (static/policies/graph-renderer.js)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.models import Snapshot

from .test_pages import CLICK_POINT, wait_for_graph

pytestmark = pytest.mark.browser

# A workload that shares its namespace box with others and has edges: dragging it is the case where
# cytoscape, left alone, would redraw the whole box and every edge of its neighbours on each move.
PICK = """() => window.netpolGraph.cy.nodes('.workload')
  .filter(n => n.parent().children().length > 1 && n.connectedEdges().length > 0)
  .sort((a, b) => b.connectedEdges().length - a.connectedEdges().length)[0].id()"""
POSITIONS = """() => Object.fromEntries(window.netpolGraph.cy.nodes().filter(n => !n.isParent())
  .map(n => [n.id(), n.position()]))"""
DRAG_LAYER = "() => window.netpolGraph.cy.renderer().getCachedZSortedEles().drag.map(e => e.id()).sort()"
MOVING = """(id) => { const n = window.netpolGraph.cy.getElementById(id);
  return n.union(n.connectedEdges()).map(e => e.id()).sort(); }"""
# A mouse move (in pixels) that takes the node to a free spot on screen, clear of every other node.
FREE_MOVE = """(id) => { const cy = window.netpolGraph.cy, n = cy.getElementById(id);
  const b = n.boundingBox(), z = cy.zoom();
  const others = cy.nodes().filter(o => !o.isParent() && !o.same(n)).map(o => o.boundingBox());
  const view = cy.extent();
  for (let r = 60; r <= 600; r += 30) for (let a = 0; a < 360; a += 30) {
    const dx = Math.round(r * Math.cos(a * Math.PI / 180)), dy = Math.round(r * Math.sin(a * Math.PI / 180));
    const m = { x1: b.x1 + dx / z - 8, x2: b.x2 + dx / z + 8, y1: b.y1 + dy / z - 8, y2: b.y2 + dy / z + 8 };
    const inView = view.x1 < m.x1 && m.x2 < view.x2 && view.y1 < m.y1 && m.y2 < view.y2;
    if (inView && others.every(o => o.x2 < m.x1 || m.x2 < o.x1 || o.y2 < m.y1 || m.y2 < o.y1)) return [dx, dy];
  }
  return null; }"""
INSIDE_ITS_BOX = """(id) => { const n = window.netpolGraph.cy.getElementById(id);
  const b = n.boundingBox(), p = n.parent().boundingBox();
  return p.x1 <= b.x1 && b.x2 <= p.x2 && p.y1 <= b.y1 && b.y2 <= p.y2; }"""


def test_dragging_a_workload_moves_it_and_redraws_only_it_and_its_edges(
    login: Callable[[], Any], live_server: Any, shop: Snapshot
) -> None:
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)
    node = page.evaluate(PICK)
    moving = page.evaluate(MOVING, node)
    assert len(moving) > 2
    before = page.evaluate(POSITIONS)
    zoom = page.evaluate("() => window.netpolGraph.cy.zoom()")
    start = page.evaluate(CLICK_POINT, node)
    move = page.evaluate(FREE_MOVE, node)
    assert move is not None

    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(start["x"] + move[0] * step / 10, start["y"] + move[1] * step / 10)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # While the mouse moves, the drag layer holds the node and its edges, not the rest of its box.
    assert page.evaluate(DRAG_LAYER) == moving
    page.mouse.up()

    after = page.evaluate(POSITIONS)
    assert after[node]["x"] == pytest.approx(before[node]["x"] + move[0] / zoom, abs=1.5)
    assert after[node]["y"] == pytest.approx(before[node]["y"] + move[1] / zoom, abs=1.5)
    assert {k: v for k, v in after.items() if k != node} == {k: v for k, v in before.items() if k != node}
    # Dropped: everything is back on the still layer and the box has grown around the node.
    assert page.evaluate(DRAG_LAYER) == []
    assert page.evaluate(INSIDE_ITS_BOX, node)
    # Its edges follow it: each ends on the node's border at its new place.
    ends = page.evaluate(
        """(id) => { const n = window.netpolGraph.cy.getElementById(id), b = n.boundingBox();
             return n.connectedEdges().map(e => {
               const p = e.source().same(n) ? e.sourceEndpoint() : e.targetEndpoint();
               return b.x1 - 3 <= p.x && p.x <= b.x2 + 3 && b.y1 - 3 <= p.y && p.y <= b.y2 + 3; }); }""",
        node,
    )
    assert len(ends) > 2 and all(ends)
    # A click right after still finds the node under the mouse (the hit test's boxes were renewed).
    point = page.evaluate(CLICK_POINT, node)
    assert point is not None
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).selected()", arg=node)


def test_the_side_panel_links_a_nodes_policies_by_their_key(
    login: Callable[[], Any], live_server: Any, shop: Snapshot
) -> None:
    """Graph nodes name their policies by the engine's key; the panel links each to its page."""
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)
    node = page.evaluate(PICK)
    point = page.evaluate(CLICK_POINT, node)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector("#panel-body a[data-policy-key]")
    links = page.eval_on_selector_all(
        "#panel-body a[data-policy-key]", "as => as.map(a => [a.dataset.policyKey, a.textContent, a.pathname])"
    )
    keys = {r.policy_key: r for r in shop.resources.exclude(policy_key="")}
    assert links
    for key, text, path in links:
        resource = keys[key]
        assert text == resource.engine_id
        assert path == f"/snapshots/{shop.id}/policies/{resource.id}/"
