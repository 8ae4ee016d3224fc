"""How responsive the graph page is in a browser: time to first draw, opening a namespace, and each
drag, pan, zoom and click, on a snapshot that bench/web.py left behind.

    python bench/web.py --work-dir /tmp/netpol-web           # 5,000 pods; keeps the database
    python bench/graph_browser.py --work-dir /tmp/netpol-web # this measurement
    python bench/graph_browser.py --work-dir /tmp/netpol-web --json graph.json

It serves that database with `manage.py runserver` (the site's settings; DEBUG on, so that the
static files are served from their folders) on a free port, drives Debian's chromium (headless,
software rendering, 1280 x 800) with Playwright, logs in as bench/web.py's user, opens the
snapshot's graph (at namespace level above a few hundred workloads) and expands the namespace with
the most workloads. Then each interaction is real mouse input, timed from just before the input
until the second animation frame after it (cytoscape redraws on the next frame), so a figure is
what a person waits for, plus Playwright's round trip (a few milliseconds). The long tasks (over
50 ms) the page ran meanwhile are listed too.

A measurement, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
LONG_TASKS = """() => {
  window.__longTasks = [];
  new PerformanceObserver(list => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
    .observe({ type: "longtask", buffered: false });
}"""
DRAWN = "() => window.netpolGraph && window.netpolGraph.cy && window.netpolGraph.cy.nodes().length"
# The closed namespace box with the most workloads (its label ends "N pods · M workloads").
MOST_WORKLOADS = """() => window.netpolGraph.cy.nodes('.collapsed:not(.outside)')
  .max(n => Number((/(\\d+) workloads?$/.exec(n.data('label')) || [0, 0])[1])).ele.id()"""
# Page coordinates of a node's centre.
NODE_POINT = """(id) => {
  const cy = window.netpolGraph.cy, n = cy.getElementById(id), box = cy.container().getBoundingClientRect();
  const p = n.renderedPosition();
  return { x: box.left + p.x, y: box.top + p.y };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(work: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        SECRET_KEY=env.get("SECRET_KEY", "bench-only-" + "x" * 50),
        DEBUG="True",  # WhiteNoise then serves the static files from their folders, without collectstatic
        NETPOL_ENV_FILE="/dev/null",
        NETPOL_ANALYSIS_RUNNER="thread",
        NETPOL_THROTTLE_USER="100000/minute",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


def timed(page: Any, action: Any) -> float:
    """Milliseconds from just before ``action`` to the second frame after it."""
    started = page.evaluate("() => performance.now()")
    action()
    return float(page.evaluate(FRAMES)) - float(started)


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure(base: str, snapshot: int | None, user: str, password: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.set_default_timeout(120_000)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("requestfailed", lambda request: problems.append(f"{request.url}: {request.failure}"))
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        if snapshot is None:
            snapshot = int(page.evaluate("() => fetch('/api/snapshots/').then(r => r.json())")["results"][0]["id"])

        started = time.perf_counter()
        page.goto(f"{base}/snapshots/{snapshot}/graph/")
        try:
            page.wait_for_function(DRAWN)
            page.wait_for_function("() => document.getElementById('graph-status').textContent === ''")
        except Exception as error:
            status = page.evaluate("() => document.getElementById('graph-status').textContent")
            raise SystemExit(f"the graph was not drawn ({status!r}): {problems or error}") from None
        first_draw = time.perf_counter() - started
        boxes = page.evaluate("() => window.netpolGraph.cy.nodes('.collapsed').length")
        namespace = page.evaluate(MOST_WORKLOADS)
        page.evaluate(LONG_TASKS)

        started = time.perf_counter()
        point = page.evaluate(NODE_POINT, namespace)
        page.mouse.click(point["x"], point["y"])
        page.wait_for_function("(id) => window.netpolGraph.cy.getElementById(id).isParent()", arg=namespace)
        page.wait_for_function("() => document.getElementById('graph-status').textContent === ''")
        page.evaluate(FRAMES)
        expand = time.perf_counter() - started
        drawn = page.evaluate("() => ({nodes: netpolGraph.cy.nodes().length, edges: netpolGraph.cy.edges().length})")
        children = page.evaluate("(id) => netpolGraph.cy.getElementById(id).children().map(n => n.id())", namespace)
        page.evaluate("() => window.netpolGraph.cy.fit(undefined, 30)")
        page.evaluate(FRAMES)
        expand_tasks = page.evaluate("() => window.__longTasks.splice(0)")

        # Drag a workload of the opened namespace.
        point = page.evaluate(NODE_POINT, children[0])
        page.mouse.move(point["x"], point["y"])
        page.mouse.down()
        drag = [timed(page, lambda i=i: page.mouse.move(point["x"] + 4 * i, point["y"] + 3 * i)) for i in range(1, 31)]
        page.mouse.up()
        # Pan: drag the background (a corner of the drawing, clear of the boxes).
        corner = "() => { const b = document.getElementById('cy').getBoundingClientRect(); return [b.left, b.top]; }"
        box = page.evaluate(corner)
        page.mouse.move(box[0] + 5, box[1] + 5)
        page.mouse.down()
        pan = [timed(page, lambda i=i: page.mouse.move(box[0] + 5 + 5 * i, box[1] + 5 + 3 * i)) for i in range(1, 31)]
        page.mouse.up()
        # Zoom with the wheel, in and out, over the middle of the drawing.
        middle = page.evaluate(
            "() => { const b = document.getElementById('cy').getBoundingClientRect();"
            " return [b.left + b.width / 2, b.top + b.height / 2]; }"
        )
        page.mouse.move(middle[0], middle[1])
        zoom = [timed(page, lambda d=d: page.mouse.wheel(0, d)) for d in [-120] * 10 + [120] * 10]
        page.evaluate("() => window.netpolGraph.cy.fit(undefined, 30)")
        page.evaluate(FRAMES)
        # Click workloads: each selects it and fills the side panel.
        clicks = []
        for node in children[1:11]:
            point = page.evaluate(NODE_POINT, node)
            clicks.append(timed(page, lambda p=point: page.mouse.click(p["x"], p["y"])))
        interaction_tasks = page.evaluate("() => window.__longTasks.splice(0)")
        browser.close()
    return {
        "snapshot": snapshot,
        "namespace_boxes": boxes,
        "first_draw_s": round(first_draw, 2),
        "expanded": namespace,
        "expand_s": round(expand, 2),
        "drawn_after_expanding": drawn,
        "long_tasks_while_expanding_ms": [round(t) for t in expand_tasks],
        "drag": figures(drag),
        "pan": figures(pan),
        "zoom": figures(zoom),
        "click": figures(clicks),
        "long_tasks_while_interacting_ms": [round(t) for t in interaction_tasks],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", required=True, help="the directory bench/web.py --work-dir kept")
    parser.add_argument("--snapshot", type=int, help="the snapshot's id (default: the newest)")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this file")
    args = parser.parse_args()
    work = Path(args.work_dir)
    if not (work / "bench.sqlite3").is_file():
        raise SystemExit(f"no bench.sqlite3 in {work}: run bench/web.py --work-dir {work} first")
    port = free_port()
    server = start_server(work, port)
    try:
        result = measure(f"http://127.0.0.1:{port}", args.snapshot, args.user, args.password)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
