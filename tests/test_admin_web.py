"""Admin network policies in the web app and the API, on admin vector A03's cluster
(tests/engine/admin_vectors, docs/admin-policies.md):

    AdminNetworkPolicy pass-blue (priority 10) selects namespace x: ingress rule 0 'to-owners' Pass
    AdminNetworkPolicy deny-all (priority 20) selects namespace x: ingress rule 0 'everything' Deny
    NetworkPolicy x/db-from-red: x/db admits namespaces labelled team=red

    y/cli -> x/db  TCP 5432   passed by pass-blue, then allowed by x/db-from-red
    z/mon -> x/web TCP 80     passed by pass-blue to the default (nothing isolates x/web)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from policies.models import Resource, Snapshot

pytestmark = pytest.mark.django_db

VECTORS = Path(__file__).parent / "engine" / "admin_vectors"


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def admin_snapshot(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    policies = yaml.safe_load((VECTORS / "A03.yaml").read_text())["policies"]
    return make_snapshot([("base.yaml", (VECTORS / "base.yaml").read_text()), ("admin.yaml", policies)], name="admin")


def resource(snapshot: Snapshot, name: str) -> Resource:
    return snapshot.resources.get(kind="AdminNetworkPolicy", name=name)


def flow_page(web: Client, snapshot: Snapshot, src: str, dst: str, port: int) -> str:
    response = web.get(reverse("policies:flow", args=[snapshot.id]), {"src": src, "dst": dst, "port": port,
                                                                       "protocol": "TCP"})
    assert response.status_code == 200
    return response.content.decode()


def test_api_explain_names_tier_priority_policy_rule_and_action(api: APIClient, admin_snapshot: Snapshot) -> None:
    data = api.get(f"/api/snapshots/{admin_snapshot.id}/explain/",
                   {"from": "y/cli", "to": "x/db", "port": 5432}).json()
    ingress = data["ingress"]
    assert data["verdict"] == "ALLOW" and ingress["reason"] == "RULE_ALLOW"
    passing = ingress["policies"][0]
    assert passing["id"] == "AdminNetworkPolicy/pass-blue"
    assert (passing["kind"], passing["tier"], passing["priority"]) == ("AdminNetworkPolicy", "Admin", 10)
    assert passing["rules"][0]["name"] == "to-owners" and passing["rules"][0]["action"] == "Pass"
    assert passing["outcome"] == ("passed by rule 0 'to-owners' to the NetworkPolicy tier, which isolates x/db "
                                  "for ingress")
    assert ingress["deciding_policy"] == "x/db-from-red"
    assert [p["id"] for p in ingress["policies"]] == ["AdminNetworkPolicy/pass-blue", "x/db-from-red"]


def test_flow_page_shows_the_admin_tier_the_pass_and_the_network_policy_deciding(
    web: Client, admin_snapshot: Snapshot
) -> None:
    html = flow_page(web, admin_snapshot, "y/cli", "x/db", 5432)
    assert "Admin tier <span" in html and "then NetworkPolicy, then the Baseline tier" in html
    assert 'AdminNetworkPolicy, Admin tier, priority <span class="policy-priority">10</span>' in html
    assert '<q class="rule-name">to-owners</q>' in html
    assert "Passed by rule 0 &#x27;to-owners&#x27; to the NetworkPolicy tier" in html
    assert reverse("policies:policy", args=[admin_snapshot.id, resource(admin_snapshot, "pass-blue").id]) in html


def test_flow_page_shows_a_pass_handed_to_the_default(web: Client, admin_snapshot: Snapshot) -> None:
    html = flow_page(web, admin_snapshot, "z/mon", "x/web", 80)
    assert "to the default, which allows it" in html
    assert "walked Admin tier, NetworkPolicy, Baseline tier" in html
    # The Pass is the rule that decided nothing but handed the flow on: it is not highlighted as deciding.
    assert 'class="badge info">deciding' not in html


def test_flow_page_marks_an_admin_deny_as_deciding(web: Client, make_snapshot: Callable[..., Snapshot]) -> None:
    deny = ("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\n"
            "spec:\n  tier: Admin\n  priority: 3\n  subject: {namespaces: {matchLabels: {team: blue}}}\n"
            "  ingress:\n  - name: no-red\n    action: Deny\n    from: [{namespaces: {matchLabels: {team: red}}}]\n")
    snapshot = make_snapshot([("base.yaml", (VECTORS / "base.yaml").read_text()), ("guard.yaml", deny)])
    html = flow_page(web, snapshot, "y/cli", "x/web", 80)
    assert "ADMIN_DENY" in html and 'class="badge info">deciding' in html
    lines = [int(n) for n in re.findall(r'<li class="hl"><span class="ln">(\d+)</span>', html)]
    text = snapshot.files.get(name="guard.yaml").text.splitlines()
    assert [text[n - 1].strip() for n in lines][:1] == ["- name: no-red"]


def test_overview_lists_admin_policies_with_tier_priority_and_the_pods_they_select(
    web: Client, admin_snapshot: Snapshot
) -> None:
    html = web.get(reverse("policies:snapshot", args=[admin_snapshot.id])).content.decode()
    assert "pass-blue" in html and "deny-all" in html
    assert "Admin tier, priority 10; selects 2 pods in 1 namespace" in html
    assert "Admin tier, priority 20; selects 2 pods in 1 namespace" in html
    # Lint: deny-all's only rule never decides (pass-blue passes everything first).
    assert "AP002" in html and "ingress rule 0 &#x27;everything&#x27; (Deny) is shadowed" in html


def test_policy_page_of_an_admin_policy_lists_the_pods_it_selects(web: Client, admin_snapshot: Snapshot) -> None:
    response = web.get(reverse("policies:policy", args=[admin_snapshot.id, resource(admin_snapshot, "pass-blue").id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "x/web" in html and "x/db" in html


def test_graph_links_admin_policies_and_lists_them_on_the_nodes(
    web: Client, api: APIClient, admin_snapshot: Snapshot
) -> None:
    html = web.get(reverse("policies:graph", args=[admin_snapshot.id])).content.decode()
    config: dict[str, Any] = json.loads(
        re.search(r'<script id="graph-config" type="application/json">(.*?)</script>', html).group(1))
    url = reverse("policies:policy", args=[admin_snapshot.id, resource(admin_snapshot, "pass-blue").id])
    assert config["policy_urls"]["AdminNetworkPolicy/pass-blue"] == url
    assert config["policy_details"]["AdminNetworkPolicy/pass-blue"]["admin"] is True
    graph = api.get(f"/api/snapshots/{admin_snapshot.id}/graph/", {"level": "pod"}).json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    web_node = next(n for i, n in nodes.items() if i.startswith("x/") and "web" in i)
    assert web_node["admin_policies"] == ["AdminNetworkPolicy deny-all (Admin tier, priority 20)",
                                          "AdminNetworkPolicy pass-blue (Admin tier, priority 10)"]
    assert "AdminNetworkPolicy/pass-blue" in web_node["policies"]["ingress"]


def test_under_calico_admin_policies_sit_in_the_kube_admin_tier(
    web: Client, make_snapshot: Callable[..., Snapshot]
) -> None:
    guard = ("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\n"
             "spec:\n  tier: Admin\n  priority: 3\n  subject: {namespaces: {matchLabels: {team: blue}}}\n"
             "  ingress:\n  - name: no-red\n    action: Deny\n    from: [{namespaces: {matchLabels: {team: red}}}]\n")
    tier = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n"
    snapshot = make_snapshot([("base.yaml", (VECTORS / "base.yaml").read_text()), ("guard.yaml", guard),
                              ("tier.yaml", tier)])
    html = flow_page(web, snapshot, "y/cli", "x/web", 80)
    assert "Tier kube-admin" in html and "tier order 1000" in html
    assert 'ClusterNetworkPolicy, tier kube-admin, order <span class="policy-order">3</span>' in html
    assert "CALICO_DENY" in html and '<q class="rule-name">no-red</q>' in html
    overview = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    assert "kube-admin" in overview
