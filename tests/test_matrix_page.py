"""The matrix page: namespaces in natural order, cells classed and worded by how much they allow,
namespace cells drilling into the workload matrix of the pair, breadcrumbs back."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from policies.models import Snapshot
from policies.pages.matrix import Matrix

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app: {name}
spec:
  containers:
    - name: c
      image: busybox:1
"""

# ns-2's pod b admits only ns-1, on TCP 80; ns-10's pod c admits everyone; ns-1's pod a admits nobody.
POLICIES = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: b-from-ns-1
  namespace: ns-2
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: ns-1
      ports:
        - protocol: TCP
          port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-in
  namespace: ns-1
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def files() -> list[tuple[str, str]]:
    documents = []
    for namespace, pod in (("ns-10", "c"), ("ns-2", "b"), ("ns-1", "a")):
        documents.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n")
        documents.append(POD.format(name=pod, namespace=namespace))
    return [("cluster.yaml", "---\n".join(documents)), ("policies.yaml", POLICIES)]


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def numbered(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    return make_snapshot(files(), name="numbered")


def cells_by_pair(matrix: Matrix) -> dict[tuple[str, str], object]:
    columns = [label for label, _ in matrix.columns]
    return {(row, columns[i]): cell for row, _, cells in matrix.rows for i, cell in enumerate(cells)}


def test_namespaces_sort_naturally_with_the_outside_last(web: Client, numbered: Snapshot) -> None:
    matrix = web.get(reverse("policies:matrix", args=[numbered.id])).context["matrix"]
    inside = [label for label, _ in matrix.columns if label.startswith("ns-")]
    assert inside == ["ns-1", "ns-2", "ns-10"]
    assert [label for label, _, _ in matrix.rows][: len(inside)] == inside


def test_cells_are_classed_and_worded_by_how_much_they_allow(web: Client, numbered: Snapshot) -> None:
    response = web.get(reverse("policies:matrix", args=[numbered.id]))
    cells = cells_by_pair(response.context["matrix"])
    expected = {
        ("ns-1", "ns-10"): ("all", "1 of 1 pair · all traffic"),
        ("ns-1", "ns-2"): ("some", "1 of 1 pair · some ports"),
        ("ns-10", "ns-2"): ("none", "0 of 1 pair"),
        ("ns-2", "ns-1"): ("none", "0 of 1 pair"),
    }
    for pair, (openness, words) in expected.items():
        cell = cells[pair]
        assert cell.openness == openness, pair  # type: ignore[attr-defined]
        assert cell.text.startswith(words), (pair, cell.text)  # type: ignore[attr-defined]
    html = response.content.decode()
    # The colour comes with the words and a legend that names each colour.
    assert re.search(r'<td class="open-some" data-openness="some">\s*<a href="[^"]+" title="ns-1 → ns-2: 1 of 1 pair'
                     r' · some ports">1 of 1 pair · some ports</a>', html)
    for words in ("every pair, all connections (solid border)", "some pairs or some ports (dashed border)",
                  "nothing allowed (grey)"):
        assert words in html


def test_a_namespace_cell_drills_into_the_workload_matrix_of_the_pair(web: Client, numbered: Snapshot) -> None:
    url = reverse("policies:matrix", args=[numbered.id])
    cell = cells_by_pair(web.get(url).context["matrix"])[("ns-1", "ns-2")]
    link = urlsplit(unescape(cell.url))  # type: ignore[attr-defined]
    assert link.path == url and parse_qs(link.query) == {"from": ["ns-1"], "to": ["ns-2"]}

    response = web.get(unescape(cell.url))  # type: ignore[attr-defined]
    matrix = response.context["matrix"]
    assert [label for label, _, _ in matrix.rows] == ["ns-1/a"]
    assert [label for label, _ in matrix.columns] == ["ns-2/b"]
    only = matrix.rows[0][2][0]
    assert (only.openness, only.text) == ("some", "TCP 80")
    flow = urlsplit(only.url)
    assert flow.path == reverse("policies:flow", args=[numbered.id])
    assert parse_qs(flow.query) == {"src": ["ns-1/Pod/a"], "dst": ["ns-2/Pod/b"], "protocol": ["TCP"], "port": ["80"]}
    # Row and column names open the graph on that workload, its namespace opened.
    assert parse_qs(urlsplit(matrix.rows[0][1]).query) == {"open": ["ns-1"], "sel": ["ns-1/Pod/a"]}

    # Breadcrumbs lead back to the namespaces and the snapshot.
    html = response.content.decode()
    crumbs = html[html.index('<nav class="breadcrumbs"'):html.index("</nav>", html.index('<nav class="breadcrumbs"'))]
    assert f'href="{reverse("policies:snapshot", args=[numbered.id])}"' in crumbs
    assert f'<a href="{url}">Matrix of namespaces</a>' in crumbs
    assert '<li aria-current="page">ns-1 → ns-2</li>' in crumbs


def test_the_namespace_matrix_breadcrumb_ends_at_itself(web: Client, numbered: Snapshot) -> None:
    html = web.get(reverse("policies:matrix", args=[numbered.id])).content.decode()
    assert '<li aria-current="page">Matrix of namespaces</li>' in html
    assert 'class="corner"' in html  # the corner cell sticks both ways
