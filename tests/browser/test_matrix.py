"""The matrix in a browser: scrolled down and right inside its box, the column headers stay at its
top and the row headers at its left (CSS position: sticky)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies import services

from .conftest import finish_analyses

pytestmark = pytest.mark.browser

NAMESPACES = 40  # a 41 x 41 matrix (and "outside cluster"): larger than the window both ways

# Where the headers are drawn, relative to the scrolling box.
HEADER_PLACES = """() => {
  const wrap = document.querySelector('.matrix-wrap');
  const box = wrap.getBoundingClientRect();
  const last = document.querySelector('table.matrix thead th:last-child');
  const column = last.getBoundingClientRect();
  const rows = [...document.querySelectorAll('table.matrix tbody th')];
  const row = rows[rows.length - 1].getBoundingClientRect();
  const corner = document.querySelector('table.matrix thead th.corner').getBoundingClientRect();
  return {
    scrolled: [wrap.scrollLeft, wrap.scrollTop],
    room: [wrap.scrollWidth - wrap.clientWidth, wrap.scrollHeight - wrap.clientHeight],
    box: [box.left, box.top, box.right, box.bottom],
    column: [column.left, column.top, column.right, column.bottom],
    row: [row.left, row.top, row.right, row.bottom],
    corner: [corner.left, corner.top],
    topmost: document.elementFromPoint(column.left + 3, column.top + 3)?.closest('th') === last,
    leftmost: document.elementFromPoint(row.left + 3, row.top + 3)?.closest('th') === rows[rows.length - 1],
  };
}"""


def test_the_headers_stay_in_view_when_the_matrix_scrolls_both_ways(
    login: Callable[[], Any], live_server: Any, transactional_db: None
) -> None:
    documents = []
    for n in range(1, NAMESPACES + 1):
        documents.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{n}\n")
        documents.append(
            f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: team-{n}\n  labels:\n    app: app\n"
            "spec:\n  containers:\n    - name: c\n      image: busybox:1\n"
        )
    snapshot = services.create_snapshot(name="wide", files=[("cluster.yaml", "---\n".join(documents))])
    finish_analyses()

    page = login()
    page.goto(f"{live_server.url}/snapshots/{snapshot.id}/matrix/")
    before = page.evaluate(HEADER_PLACES)
    assert before["room"][0] > 200 and before["room"][1] > 200, "the matrix must be larger than its box"

    assert not before["topmost"], "the last column starts out of view"
    page.eval_on_selector(
        ".matrix-wrap", "wrap => { wrap.scrollIntoView(); wrap.scrollTo(wrap.scrollWidth, wrap.scrollHeight); }"
    )
    page.wait_for_function("() => document.querySelector('.matrix-wrap').scrollTop > 0")
    after = page.evaluate(HEADER_PLACES)
    assert after["scrolled"][0] > 200 and after["scrolled"][1] > 200
    left, top, right, bottom = after["box"]
    # The last column's header is still at the top of the box, the last row's header at its left,
    # each drawn over the cells that scrolled under it.
    assert abs(after["column"][1] - top) < 4 and after["column"][2] <= right + 1
    assert abs(after["row"][0] - left) < 4 and after["row"][3] <= bottom + 1
    assert abs(after["corner"][0] - left) < 4 and abs(after["corner"][1] - top) < 4
    assert after["topmost"] and after["leftmost"]
    # The natural order holds in the browser too: team-2 before team-10.
    headers = page.eval_on_selector_all("table.matrix thead th a", "links => links.map(a => a.textContent)")
    assert headers.index("team-2") < headers.index("team-10")
