"""What a person does with netpol in a browser: load the demo, upload manifests, read the graph,
click an edge, read why, check a flow. Chromium runs headless against the live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from policies import services
from policies.models import Analysis, Snapshot
from tests.bench_generator import load_generator

from .conftest import finish_analyses

pytestmark = pytest.mark.browser

SHOP_FILES = sorted((settings.BASE_DIR / "policies" / "demo" / "shop").glob("*.yaml"))

# Page coordinates where a real mouse click lands on an element of the graph. For an edge, a point
# along its curve where the renderer's own hit test finds that edge and no crossing one.
CLICK_POINT = """(id) => {
  const cy = window.netpolGraph.cy;
  const element = cy.getElementById(id);
  const box = cy.container().getBoundingClientRect();
  const page = (p) => ({ x: box.left + p.x * cy.zoom() + cy.pan().x, y: box.top + p.y * cy.zoom() + cy.pan().y });
  if (element.isNode()) return page(element.position());
  const s = element.sourceEndpoint(), t = element.targetEndpoint();
  const c = (element.controlPoints() || [])[0];
  for (let i = 5; i <= 95; i += 5) {
    const u = i / 100;
    const along = (a, b, k) => (k === undefined ? a + (b - a) * u : (1-u) ** 2 * a + 2 * (1-u) * u * k + u ** 2 * b);
    const p = { x: along(s.x, t.x, c && c.x), y: along(s.y, t.y, c && c.y) };
    const hit = cy.renderer().findNearestElement(p.x, p.y, true, false);
    if (hit && hit.id() === id) return page(p);
  }
  return null;
}"""


def wait_for_graph(page: Any) -> None:
    page.wait_for_function("() => window.netpolGraph && window.netpolGraph.cy && window.netpolGraph.cy.nodes().length")
    page.wait_for_function("() => document.getElementById('graph-status').textContent === ''")


def click_element(page: Any, element_id: str) -> None:
    point = page.evaluate(CLICK_POINT, element_id)
    assert point is not None, f"no point of {element_id} is clear of other elements"
    page.mouse.click(point["x"], point["y"])


def classes_of(page: Any, element_id: str) -> list[str]:
    return page.evaluate("(id) => window.netpolGraph.cy.getElementById(id).classes()", element_id)


def test_demo_upload_graph_edge_explanation_and_flow_check(
    login: Callable[[], Any], live_server: Any, screenshot_path: Callable[[str], Path]
) -> None:
    page = login()

    # An empty list teaches: the demo data is one click away.
    page.get_by_role("button", name="Load the demo snapshots").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("link", name="Shop: 12 services in 3 namespaces").is_visible()

    # Upload the shop's manifests as files.
    page.get_by_role("link", name="Upload manifests").click()
    page.fill("#id_name", "my shop")
    page.set_input_files("#id_files", [str(p) for p in SHOP_FILES])
    assert page.locator("[data-file-list] li").count() == len(SHOP_FILES)
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/snapshots/\d+/$"))
    finish_analyses()
    page.reload()
    assert page.locator("h1").inner_text() == "my shop"
    assert page.locator("[data-analysis-status]").inner_text() == "Done"
    assert page.get_by_text("workloads reachable from outside the cluster").is_visible()

    # The graph: namespaces as boxes, marks, edges coloured and dashed by openness.
    page.get_by_role("link", name="Graph", exact=True).click()
    wait_for_graph(page)
    assert "shield" in classes_of(page, "storefront/Deployment/cart")
    assert {"shield", "globe"} <= set(classes_of(page, "storefront/Deployment/frontend"))
    assert page.evaluate("() => window.netpolGraph.cy.getElementById('ns:storefront').isParent()")
    edge = "e:storefront/Deployment/frontend->storefront/Deployment/cart"
    assert "open-some" in classes_of(page, edge)
    assert page.evaluate("(id) => window.netpolGraph.cy.getElementById(id).data('label')", edge) == "TCP 8080"

    # Click the edge: the panel names its ports and explains the first one.
    click_element(page, edge)
    panel = page.locator("#side-panel")
    assert panel.locator("#panel-title").inner_text() == "frontend → cart"
    verdict = panel.locator(".explain .verdict")
    verdict.wait_for()
    assert "Allowed: storefront/Deployment/frontend may reach storefront/Deployment/cart on TCP 8080." in (
        verdict.inner_text()
    )
    assert "by storefront/frontend" in panel.inner_text()
    assert "sel=e%3Astorefront%2FDeployment%2Ffrontend" in page.url
    page.screenshot(path=str(screenshot_path("graph.png")))

    # Another port of the same edge, typed into the picker: denied, and said so.
    panel.locator("#explain-port").fill("9999")
    panel.get_by_role("button", name="Explain").click()
    page.wait_for_function(
        "() => document.querySelector('#side-panel .explain .verdict')?.textContent.includes('TCP 9999')"
    )
    assert "Denied" in panel.locator(".explain .verdict").inner_text()

    # The full trace, on the flow check page.
    panel.locator("#explain-port").fill("8080")
    panel.get_by_role("button", name="Explain").click()
    page.wait_for_function(
        "() => document.querySelector('#side-panel .explain .verdict')?.textContent.includes('TCP 8080')"
    )
    panel.get_by_role("link", name="Open the full trace").click()
    page.wait_for_url(re.compile(r"/flow/\?"))
    assert (
        page.locator("#verdict")
        .inner_text()
        .endswith("Allowed: storefront/Deployment/frontend may reach storefront/Deployment/cart on TCP 8080.")
    )
    assert page.locator(".trace-direction").count() == 2
    assert page.locator(".listing li.hl").count() > 0
    page.screenshot(path=str(screenshot_path("flow-check.png")), full_page=True)

    # The form itself: a flow that no policy allows.
    page.fill("#id_src", "orders/Deployment/checkout")
    page.fill("#id_dst", "storefront/Deployment/frontend")
    page.fill("#id_port", "8080")
    page.get_by_role("button", name="Check").click()
    assert page.locator("#verdict").inner_text().startswith("✗Denied: orders/Deployment/checkout may not reach")
    page.get_by_role("button", name="Copy the netpol explain command").click()
    # (the suggestion above has copy buttons too: this is the command's own status)
    page.wait_for_function("() => document.querySelector('#cmd-cli ~ .copy-row .copy-status').textContent !== ''")
    assert page.locator("#cmd-cli ~ .copy-row .copy-status").inner_text() == "Copied."
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("netpol explain ") and copied.endswith(
        "--from orders/Deployment/checkout --to storefront/Deployment/frontend --port 8080 --protocol TCP"
    )


def test_search_keyboard_and_the_url_keep_the_view(login: Callable[[], Any], live_server: Any, shop: Snapshot) -> None:
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)

    # "/" focuses the search; a name jumps to its node and opens the panel; Esc closes it.
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "graph-search"
    page.keyboard.type("checkout")
    page.keyboard.press("Enter")
    assert page.locator("#panel-title").inner_text() == "orders/checkout"
    assert "1 policy selects this workload" not in page.locator("#side-panel").inner_text()
    assert re.search(r"\d+ polic(y selects|ies select) this workload", page.locator("#side-panel").inner_text())
    assert "sel=orders%2FDeployment%2Fcheckout" in page.url
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    assert "panel-closed" in page.locator(".graph-page").get_attribute("class")
    assert "sel=" not in page.url

    # Filters go into the URL, and a reload restores them.
    page.select_option("#f-ns", "data")
    page.wait_for_function("() => window.location.search.includes('ns=data')")
    focus = page.evaluate("() => window.netpolGraph.cy.nodes('.focus').map(n => n.id()).sort()")
    assert focus == ["data/StatefulSet/kafka", "data/StatefulSet/postgres", "data/StatefulSet/redis"]
    # Other namespaces' workloads appear only as the neighbours of those (faded, dotted).
    strangers = page.evaluate(
        "() => window.netpolGraph.cy.nodes('.context').filter(n => n.connectedEdges().connectedNodes('.focus').empty())"
        ".map(n => n.id())"
    )
    assert strangers == []
    drawn = page.evaluate("() => window.netpolGraph.cy.nodes('.workload').map(n => n.id()).sort()")
    assert len(drawn) < 13
    page.reload()
    wait_for_graph(page)
    assert page.locator("#f-ns").input_value() == "data"
    assert page.evaluate("() => window.netpolGraph.cy.nodes('.workload').map(n => n.id()).sort()") == drawn


def test_layout_is_the_same_after_a_reload(login: Callable[[], Any], live_server: Any, shop: Snapshot) -> None:
    page = login()
    positions = (
        "() => window.netpolGraph.cy.nodes().map(n => [n.id(), Math.round(n.position().x), Math.round(n.position().y)])"
    )
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)
    first = page.evaluate(positions)
    page.reload()
    wait_for_graph(page)
    assert page.evaluate(positions) == first
    leaves = page.evaluate(positions.replace("cy.nodes()", "cy.nodes(':childless')"))
    assert len({(x, y) for _, x, y in leaves}) == len(leaves), "no two nodes share a place"


def test_a_workload_opens_into_its_pods(login: Callable[[], Any], live_server: Any, demo: dict[str, Snapshot]) -> None:
    snapshot = next(s for name, s in demo.items() if name.startswith("Classic: allow from the same namespace"))
    page = login()
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/graph/")
    wait_for_graph(page)
    workload = page.evaluate("() => window.netpolGraph.cy.nodes('.workload')[0].id()")
    click_element(page, workload)
    page.get_by_role("button", name=re.compile(r"Show its \d+ pods?")).click()
    page.wait_for_function("() => window.netpolGraph.cy.nodes('.pod').length > 0")
    assert "pods=" in page.url
    pods = page.evaluate("() => window.netpolGraph.cy.nodes('.pod').map(n => n.id())")
    assert all("/Pod/" not in pod for pod in pods)


# The namespace boxes' bounding boxes (labels included) that intersect another's.
OVERLAPS = """() => {
  const boxes = window.netpolGraph.cy.nodes('.namespace').map(n => [n.id(), n.boundingBox()]);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [[p, a], [q, b]] = [boxes[i], boxes[j]];
    if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) hits.push(p + ' x ' + q);
  }
  return hits;
}"""


def test_a_large_graph_opens_at_namespace_level_and_expands_in_place(
    login: Callable[[], Any], live_server: Any, transactional_db: None
) -> None:
    files, summary = load_generator().generate(pods=2000, namespaces=20, policies=100)
    assert summary["pods"] == 2000
    snapshot = services.create_snapshot(name="large", files=sorted(files.items()))
    finish_analyses()
    assert snapshot.latest_analysis().result_part("summary")["counts"]["workloads"] > 150

    page = login()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url) if "/graph/?" in request.url else None)
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/graph/")
    wait_for_graph(page)
    assert [url.split("?")[1] for url in fetched] == ["level=namespace"], "the workload graph is not fetched"
    collapsed = page.evaluate("() => window.netpolGraph.cy.nodes('.collapsed').map(n => n.id())")
    assert len(collapsed) == summary["namespaces"] + 1  # and the "outside cluster" box
    assert page.evaluate("() => window.netpolGraph.cy.nodes('.workload').length") == 0
    namespace = next(n for n in collapsed if n != "ns:__outside__")
    label = page.evaluate("(id) => window.netpolGraph.cy.getElementById(id).data('label')", namespace)
    assert re.search(r"\n\d+ pods · \d+ workloads$", label), label
    # Edges between boxes say what they allow, in the engine's words.
    edge_labels = page.evaluate(
        "() => window.netpolGraph.cy.edges()"
        ".filter(e => ![e.source().id(), e.target().id()].includes('ns:__outside__')).map(e => e.data('label'))"
    )
    assert edge_labels and not any("flow" in text for text in edge_labels), edge_labels[:5]
    assert page.evaluate(OVERLAPS) == []

    name = namespace.removeprefix("ns:")
    click_element(page, namespace)
    page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).isParent()", arg=namespace)
    assert f"open={name}" in page.url
    assert fetched[-1].endswith(f"level=workload&namespace={name}")
    inside = page.evaluate("(id) => window.netpolGraph.cy.getElementById(id).children().map(n => n.id())", namespace)
    assert inside and all(node.startswith(f"{name}/") for node in inside)
    assert page.evaluate(OVERLAPS) == []
    # Its workloads do not pile up: no two share a spot.
    spots = page.evaluate(
        "(id) => window.netpolGraph.cy.getElementById(id).children().map(n => [n.position('x'), n.position('y')])",
        namespace,
    )
    assert len({tuple(spot) for spot in spots}) == len(spots)

    # A second namespace opens beside the first, still without overlap.
    other = next(n for n in collapsed if n not in ("ns:__outside__", namespace))
    click_element(page, other)
    page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).isParent()", arg=other)
    assert page.evaluate(OVERLAPS) == []
    assert page.evaluate("(id) => window.netpolGraph.cy.getElementById(id).isParent()", namespace)

    # Pods, only of the open namespaces.
    page.select_option("#f-level", "pod")
    page.wait_for_function("() => window.netpolGraph.cy.nodes('.pod').length > 0")
    opened = sorted([name, other.removeprefix("ns:")])
    assert fetched[-1].endswith(f"level=pod&namespace={'%2C'.join(opened)}")
    pods = page.evaluate("() => window.netpolGraph.cy.nodes('.pod').map(n => n.data('namespace'))")
    assert set(pods) == set(opened)
    assert page.evaluate(OVERLAPS) == []


def test_exports_follow_the_level_and_png_downloads_the_drawing(
    login: Callable[[], Any], live_server: Any, shop: Snapshot
) -> None:
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    wait_for_graph(page)
    csv = page.get_by_role("link", name="CSV")
    assert csv.get_attribute("href") == f"/snapshots/{shop.id}/graph.csv"
    page.select_option("#f-level", "pod")
    page.wait_for_function("() => window.location.search.includes('level=pod')")
    assert csv.get_attribute("href") == f"/snapshots/{shop.id}/graph.csv?level=pod"

    with page.expect_download() as download:
        page.get_by_role("button", name="PNG").click()
    assert download.value.suggested_filename == f"netpol-snapshot-{shop.id}.png"
    with open(download.value.path(), "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_pages_follow_a_running_analysis_until_it_is_done(
    login: Callable[[], Any], live_server: Any, shop: Snapshot
) -> None:
    running = Analysis.objects.create(snapshot=shop, status=Analysis.Status.RUNNING, progress=0.3)
    page = login()
    page.goto(f"{live_server.url}/snapshots/{shop.id}/")
    assert page.locator("#analysis-progress").get_attribute("value") == "30"
    Analysis.objects.filter(id=running.id).update(progress=0.6, progress_message="computing the pod graph")
    page.wait_for_function("() => document.getElementById('analysis-progress').value === 60")
    assert page.locator("[data-analysis-message]").inner_text() == "computing the pod graph"

    graph = page.context.new_page()
    graph.goto(f"{live_server.url}/snapshots/{shop.id}/graph/")
    graph.wait_for_function("() => document.getElementById('graph-status').textContent.startsWith('Analysing')")

    Analysis.objects.filter(id=running.id).update(status=Analysis.Status.QUEUED)
    services.run_analysis(analysis_id=running.id)
    # The overview reloads itself with the answers; the graph draws.
    page.wait_for_function("() => document.querySelector('[data-analysis-status]').textContent === 'Done'")
    assert page.get_by_text("workloads reachable from outside the cluster").is_visible()
    wait_for_graph(graph)
