"""The compare page: what a snapshot (the new one) opens or closes against another (the old one).

The small cluster of conftest.py, before and after its change:

    before: prod/web --TCP 5432--> prod/db     other/intruder --x--> prod/db
    after:  db admits every namespace, so other/intruder --TCP 5432--> prod/db opens

and the shop demo with its proposed change to the data namespace (data now isolates egress too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from policies import pages, services
from policies.models import Analysis, Snapshot

from .conftest import FILES, OPEN_FILES, PODS


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def compare(web: Client, new: Snapshot, old: Snapshot | int | str | None = None, **params: Any) -> Any:
    if old is not None:
        params["against"] = old.id if isinstance(old, Snapshot) else old
    return web.get(reverse("policies:compare", args=[new.id]), params)


def text_of(html: str) -> str:
    """The page's words without tags, spaces squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def section(html: str, heading_id: str) -> str:
    """The HTML of the card whose heading has that id."""
    found = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert found is not None, heading_id
    return found.group(0)


def flow_links(html: str) -> list[dict[str, str]]:
    """The flow check links of a piece of the page, as their query parameters (with the path)."""
    links = []
    for href in re.findall(r'href="([^"]*/flow/\?[^"]*)"', html):
        parts = urlsplit(unescape(href))
        links.append({"path": parts.path, **{k: v[0] for k, v in parse_qs(parts.query).items()}})
    return links


@pytest.fixture
def before(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    return make_snapshot(FILES, name="before")


@pytest.fixture
def after(make_snapshot: Callable[..., Snapshot], before: Snapshot) -> Snapshot:
    return make_snapshot(OPEN_FILES, name="after")


@pytest.fixture
def shop_pair(make_snapshot: Callable[..., Snapshot]) -> tuple[Snapshot, Snapshot]:
    """The demo's shop and its proposed change, stored as load_demo stores them."""
    files = dict(services.DEMOS)
    old = make_snapshot(services.demo_files(files["Shop: 12 services in 3 namespaces"]), name="shop")
    new = make_snapshot(services.demo_files(files["Shop: proposed change to the data namespace"]), name="change")
    return old, new


# --- access -----------------------------------------------------------------------------------------


def test_compare_page_redirects_anonymous_users_to_the_login_page(
    client: Client, before: Snapshot, after: Snapshot
) -> None:
    response = compare(client, after, before)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_compare_page_renders_for_a_logged_in_user(web: Client, before: Snapshot, after: Snapshot) -> None:
    response = compare(web, after, before)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Compare</h1>" in html
    # The snapshot's navigation has the page, marked current.
    assert re.search(rf'href="{reverse("policies:compare", args=[after.id])}"\s+aria-current="page"', html)


def test_without_a_choice_the_page_offers_the_other_snapshots_newest_first(
    web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot, after: Snapshot
) -> None:
    newest = make_snapshot(FILES, name="newest", analyse=False)
    response = compare(web, after)
    assert response.status_code == 200
    html = response.content.decode()
    options = re.findall(r'<option value="(\d+)" ?(selected)?>', section_of_form(html))
    assert [int(value) for value, _ in options] == [newest.id, before.id]
    # No earlier snapshot has this one's name: nothing is chosen for the user, the page asks.
    assert [int(value) for value, selected in options if selected] == []
    assert '<option value="" selected disabled>Choose a snapshot…</option>' in html
    assert "compare-summary" not in html


def test_the_earlier_snapshot_of_the_same_name_is_chosen(
    web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot, after: Snapshot
) -> None:
    older = make_snapshot(FILES, name="after", analyse=False)
    newer = make_snapshot(OPEN_FILES, name="after", analyse=False)
    html = compare(web, newer).content.decode()
    options = re.findall(r'<option value="(\d+)" ?(selected)?>', section_of_form(html))
    # "after" (the fixture) and older share the name; older is the newest of them made before.
    assert [int(value) for value, selected in options if selected] == [older.id]
    assert "Choose a snapshot" not in section_of_form(html)


def section_of_form(html: str) -> str:
    found = re.search(r'<select id="c-against".*?</select>', html, re.S)
    assert found is not None
    return found.group(0)


def test_the_only_snapshot_has_nothing_to_compare_with(web: Client, before: Snapshot) -> None:
    html = compare(web, before).content.decode()
    assert "Nothing to compare with" in html
    assert reverse("policies:upload") in html


# --- the answer ------------------------------------------------------------------------------------


def test_an_opened_flow_is_listed_with_its_policy_and_a_flow_check_link(
    web: Client, before: Snapshot, after: Snapshot
) -> None:
    response = compare(web, after, before)
    html = response.content.decode()
    comparison = response.context["comparison"]
    assert comparison.summary == "1 flow opened, 0 closed, 0 changed; 1 policy changed"
    assert "1 flow opened, 0 closed, 0 changed; 1 policy changed." in text_of(html)

    opened = section(html, "opened")
    assert "other/intruder" in opened and "prod/db" in opened
    assert "TCP 5432" in opened
    policy = after.resources.get(kind="NetworkPolicy", name="db-same-namespace")
    assert f'href="{reverse("policies:policy", args=[after.id, policy.id])}"' in opened
    now, earlier = flow_links(opened)
    assert now == {
        "path": reverse("policies:flow", args=[after.id]),
        "src": "other/Pod/intruder",
        "dst": "prod/Pod/db",
        "port": "5432",
        "protocol": "TCP",
    }
    assert earlier["path"] == reverse("policies:flow", args=[before.id])
    assert "No flow closed" in section(html, "closed")

    # The changed policy, with its page in each snapshot.
    policies = section(html, "policies")
    old_policy = before.resources.get(kind="NetworkPolicy", name="db-same-namespace")
    assert "prod/db-same-namespace" in policies and "modified" in policies
    assert f'href="{reverse("policies:policy", args=[before.id, old_policy.id])}"' in policies


def test_the_other_way_round_the_flow_closes_and_links_to_the_old_snapshot(
    web: Client, before: Snapshot, after: Snapshot
) -> None:
    html = compare(web, before, after).content.decode()
    assert "0 flows opened, 1 closed, 0 changed; 1 policy changed." in text_of(html)
    closed = section(html, "closed")
    assert "other/intruder" in closed
    first = flow_links(closed)[0]
    assert first["path"] == reverse("policies:flow", args=[after.id])  # the old snapshot, where it was allowed
    assert (first["src"], first["dst"], first["port"]) == ("other/Pod/intruder", "prod/Pod/db", "5432")


def test_the_demo_change_closes_the_data_namespace_egress_and_names_the_policies(
    web: Client, shop_pair: tuple[Snapshot, Snapshot]
) -> None:
    old, new = shop_pair
    response = compare(web, new, old)
    assert response.status_code == 200
    html = response.content.decode()
    comparison = response.context["comparison"]
    # The change isolates data's egress: its three stores lose the internet (four address blocks,
    # the backup host's /32 now among them) and keep only DNS. Postgres' wider ingress from orders
    # opens nothing, since orders' own egress policies still hold; the backup host's rule opens one.
    assert comparison.summary == "1 flow opened, 12 closed, 3 changed; 4 policies changed"
    opened = section(html, "opened")
    assert "198.51.100.40/32" in opened and "data/postgres" in opened and "TCP 5432" in opened

    closed = section(html, "closed")
    closed_pairs = {(r.source.label, r.target.label) for r in comparison.removed}
    assert ("data/kafka", "203.0.113.0/24") in closed_pairs
    assert ("data/postgres", "198.51.100.25/32") in closed_pairs
    assert {r.source.label for r in comparison.removed} == {"data/kafka", "data/postgres", "data/redis"}
    assert "All Connections" in closed and "outside the cluster" in closed
    # A closed flow's check goes to the old snapshot, where it was allowed; its policies link to
    # the snapshot that has them (allow-dns is new).
    link = flow_links(closed)[0]
    assert link["path"] == reverse("policies:flow", args=[old.id])
    allow_dns = new.resources.get(kind="NetworkPolicy", namespace="data", name="allow-dns")
    assert f'<a href="{reverse("policies:policy", args=[new.id, allow_dns.id])}">data/allow-dns</a>' in closed
    assert "data/default-deny" in closed

    changed = section(html, "changed")
    assert {(r.source.label, r.target.label) for r in comparison.changed} == {
        ("data/kafka", "kube-system/coredns"),
        ("data/postgres", "kube-system/coredns"),
        ("data/redis", "kube-system/coredns"),
    }
    assert "before</span> <code>All Connections</code>" in changed
    assert "after</span> <code>TCP 53; UDP 53</code>" in changed
    assert "closed</span> <code>all but TCP 53 and UDP 53</code>" in changed
    link = flow_links(changed)[0]
    assert link["path"] == reverse("policies:flow", args=[new.id])
    assert (link["src"], link["dst"], link["port"], link["protocol"]) == (
        "data/StatefulSet/kafka",
        "kube-system/Deployment/coredns",
        "1",
        "TCP",
    )

    policies = section(html, "policies")
    assert [(p.id, p.change) for p in comparison.policies] == [
        ("data/allow-dns", "added"),
        ("data/default-deny", "modified"),
        ("data/kafka", "modified"),
        ("data/postgres", "modified"),
    ]
    assert "only after" in policies  # allow-dns has no old version


def test_the_flow_check_links_answer_what_the_page_says(web: Client, shop_pair: tuple[Snapshot, Snapshot]) -> None:
    old, new = shop_pair
    html = compare(web, new, old).content.decode()
    closed_before = flow_links(section(html, "closed"))[0]
    page = web.get(closed_before.pop("path"), closed_before).content.decode()
    assert 'class="verdict allowed"' in page
    closed_now = flow_links(section(html, "changed"))[0]
    page = web.get(closed_now.pop("path"), closed_now).content.decode()
    assert 'class="verdict denied"' in page


def test_the_pod_level_names_pods(web: Client, before: Snapshot, after: Snapshot) -> None:
    response = compare(web, after, before, level="pod")
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.level == "pod"
    assert [(r.source.id, r.target.id) for r in comparison.added] == [("other/intruder", "prod/db")]
    link = flow_links(section(response.content.decode(), "opened"))[0]
    assert (link["src"], link["dst"]) == ("other/intruder", "prod/db")
    assert '<option value="pod" selected>' in response.content.decode()


def test_a_new_pod_opens_flows_without_a_policy_change(
    web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot
) -> None:
    pod = PODS.split("---")[0].replace("name: web", "name: cache", 1).replace("app: web", "app: cache")
    grown = make_snapshot([*FILES, ("cache.yaml", pod)], name="grown")
    response = compare(web, grown, before)
    html = response.content.decode()
    comparison = response.context["comparison"]
    assert comparison.summary.endswith("; 0 policies changed; 1 endpoint added, 0 removed")
    assert ("prod/cache", "prod/db") in {(r.source.label, r.target.label) for r in comparison.added}
    row = next(r for r in comparison.added if r.target.label == "prod/db")
    assert row.cause == "endpoints"
    assert [p.id for p in row.policies] == ["prod/db-same-namespace"]
    assert "No policy changed here (new endpoints or labels)" in section(html, "opened")
    graph = reverse("policies:graph", args=[grown.id])
    assert f'href="{graph}?sel=prod%2FPod%2Fcache"' in section(html, "endpoints")
    assert "No policy changed: the flows changed because endpoints did" in section(html, "policies")


def test_no_change_in_reachability(web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot) -> None:
    again = make_snapshot(FILES, name="again")
    html = compare(web, again, before).content.decode()
    assert "No change in reachability" in html
    assert "0 flows opened, 0 closed, 0 changed; 0 policies changed." in text_of(html)
    assert 'aria-labelledby="opened"' not in html


@pytest.mark.parametrize(
    ("connections", "expected"),
    [
        ({"all": True, "ports": []}, ("TCP", 80)),
        ({"all": False, "ports": [{"protocol": "UDP", "from": 53, "to": 53}]}, ("UDP", 53)),
        ({"all": False, "ports": [{"protocol": "SCTP", "from": None, "to": None}]}, ("SCTP", 80)),
        ({"all": False, "ports": [{"protocol": "*", "from": None, "to": None, "except": ["TCP"]}]}, ("UDP", 80)),
        ({"all": False, "ports": [{"protocol": "ICMP", "from": None, "to": None}]}, None),
        ({"all": False, "ports": []}, None),
    ],
)
def test_the_port_a_flow_check_link_asks_about(connections: dict[str, Any], expected: Any) -> None:
    assert pages.words.probe(connections) == expected


# --- what the page refuses, and what it waits for ------------------------------------------------------


def test_an_unknown_snapshot_to_compare_with_is_404(web: Client, before: Snapshot) -> None:
    assert compare(web, before, 99999).status_code == 404
    assert compare(web, before, "abc").status_code == 404
    assert web.get(reverse("policies:compare", args=[99999]), {"against": before.id}).status_code == 404


def test_an_unknown_level_is_404(web: Client, before: Snapshot, after: Snapshot) -> None:
    assert compare(web, after, before, level="galaxy").status_code == 404


def test_a_snapshot_compared_with_itself_says_so(web: Client, before: Snapshot, after: Snapshot) -> None:
    response = compare(web, after, after)
    assert response.status_code == 400
    html = response.content.decode()
    assert "That is this snapshot itself" in html
    assert "compare-summary" not in html


def test_a_running_analysis_is_a_message_with_a_progress_link(
    web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot
) -> None:
    running = make_snapshot(OPEN_FILES, name="running", analyse=False)
    analysis = running.analyses.get()
    Analysis.objects.filter(id=analysis.id).update(status="running", progress=0.4, progress_message="pod graph")
    # The API says 409 ...
    api = web.get(reverse("api:snapshot-diff", args=[running.id]), {"against": before.id})
    assert api.status_code == 409
    # ... the page says what is going on, and where to follow it.
    response = compare(web, running, before)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Still analysing" in html
    assert "is still running" in html
    assert f'href="{reverse("policies:snapshot", args=[running.id])}">See its progress</a>' in html
    assert re.search(r'<progress id="analysis-progress"\s+max="100" value="40">', html)
    assert f'data-poll="{reverse("api:analysis-detail", args=[analysis.id])}"' in html
    assert "compare-summary" not in html

    # The old side waiting works the same way.
    html = compare(web, before, running).content.decode()
    assert "(the before snapshot)" in html and "is still running" in html


def test_a_failed_analysis_says_why(web: Client, make_snapshot: Callable[..., Snapshot], before: Snapshot) -> None:
    broken = make_snapshot(OPEN_FILES, name="broken", analyse=False)
    broken.analyses.get().fail("internal error: boom")
    html = compare(web, broken, before).content.decode()
    assert "The analysis failed" in html and "internal error: boom" in html
    assert "data-poll" not in html


# --- the way in ----------------------------------------------------------------------------------------


def test_the_overview_offers_a_compare_form(web: Client, before: Snapshot, after: Snapshot) -> None:
    html = web.get(reverse("policies:snapshot", args=[after.id])).content.decode()
    assert "Compare with…" in html
    assert f'action="{reverse("policies:compare", args=[after.id])}"' in html
    assert f'<option value="{before.id}" >' in html
    assert '<option value="" selected disabled>Choose a snapshot…</option>' in html


def test_the_overview_of_the_only_snapshot_says_there_is_nothing_to_compare(web: Client, before: Snapshot) -> None:
    html = web.get(reverse("policies:snapshot", args=[before.id])).content.decode()
    assert "No other snapshot yet" in html


def test_the_snapshot_list_links_each_snapshot_to_its_compare_page(
    web: Client, before: Snapshot, after: Snapshot
) -> None:
    html = web.get(reverse("policies:snapshot-list")).content.decode()
    for snapshot in (before, after):
        assert f'href="{reverse("policies:compare", args=[snapshot.id])}"' in html
