"""Calico in the web app and the API, on the "Calico: security tier" demo (policies/demo/calico-tiers):

    tier security (order 100): GlobalNetworkPolicy security.protect-sensitive, order 10, selects every pod
        ingress rule 0  Pass  from namespace checkout        to a namespace with sensitivity: high
        ingress rule 1  Pass  from a sensitive namespace     to a sensitive namespace
        ingress rule 2  Deny                                 to a sensitive namespace
        ingress rule 3  Pass  everything else
    tier default: Kubernetes NetworkPolicies (order 1000) and the Calico NetworkPolicy storefront/web-public

    storefront/web    --x--> payments/payments-api   CALICO_DENY in tier security (rule 2)
    checkout/checkout -----> payments/payments-api   passed, then CALICO_ALLOW by payments/payments-api
                                                     (which admits every namespace: the tier keeps storefront out)
    checkout/checkout --x--> payments/ledger         passed, then END_OF_TIER(default)
    203.0.113.9       -----> storefront/web          passed, then CALICO_ALLOW by the Calico web-public
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from policies import services
from policies.models import Analysis, Resource, Snapshot

pytestmark = pytest.mark.django_db

GNP = "security.protect-sensitive"
BLOCKED = {"from": "storefront/Deployment/web", "to": "payments/Deployment/payments-api", "port": 8080}
PASSED = {"from": "checkout/Deployment/checkout", "to": "payments/Deployment/payments-api", "port": 8080}
END_OF_TIER = {"from": "checkout/Deployment/checkout", "to": "payments/StatefulSet/ledger", "port": 5432}
FROM_OUTSIDE = {"from": "203.0.113.9", "to": "storefront/Deployment/web", "port": 8080}

# A Calico policy whose second rule can never decide: the first allows every TCP packet already.
SHADOWED = """\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: catalog-shadowed
  namespace: storefront
spec:
  order: 200
  selector: app == 'catalog'
  types:
    - Ingress
  ingress:
    - action: Allow
      protocol: TCP
    - action: Deny
      protocol: TCP
      destination:
        ports:
          - 8080
"""


def demo_files() -> list[tuple[str, str]]:
    return services.demo_files(["calico-tiers"])


def upload(api: APIClient, capture: Any, files: list[tuple[str, str]], name: str = "calico") -> Snapshot:
    """Upload through the API, as a user would; the analysis runs in-process (eager Celery)."""
    payload = [SimpleUploadedFile(n, text.encode(), content_type="application/yaml") for n, text in files]
    with capture(execute=True):
        response = api.post("/api/snapshots/", {"name": name, "files": payload}, format="multipart")
    assert response.status_code == 201, response.content
    return Snapshot.objects.get(id=response.json()["id"])


@pytest.fixture
def calico(api: APIClient, django_capture_on_commit_callbacks: Any) -> Snapshot:
    return upload(api, django_capture_on_commit_callbacks, demo_files())


@pytest.fixture
def web(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def explain(api: APIClient, snapshot: Snapshot, flow: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/api/snapshots/{snapshot.id}/explain/", flow)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def flow_page(web: Client, snapshot: Snapshot, flow: dict[str, Any]) -> str:
    params = {"src": flow["from"], "dst": flow["to"], "port": flow["port"], "protocol": "TCP"}
    response = web.get(reverse("policies:flow", args=[snapshot.id]), params)
    assert response.status_code == 200
    return response.content.decode()


def highlighted_lines(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="hl"><span class="ln">(\d+)</span>', html)]


def file_line(snapshot: Snapshot, file_name: str, number: int) -> str:
    return snapshot.files.get(name=file_name).text.splitlines()[number - 1]


# --- the demo ------------------------------------------------------------------------------------


def test_the_calico_demo_is_registered_and_loads() -> None:
    names = [name for name, _ in services.DEMOS]
    assert "Calico: security tier" in names
    loaded = dict((s.name, s) for s, _ in services.load_demo())
    snapshot = loaded["Calico: security tier"]
    assert snapshot.resources.filter(kind="Tier", name="security").exists()
    assert snapshot.resources.filter(kind="GlobalNetworkPolicy", name=GNP).exists()


def test_the_upload_is_analysed_by_the_calico_evaluator(api: APIClient, calico: Snapshot) -> None:
    analysis = calico.analyses.get()
    assert analysis.status == Analysis.Status.DONE, analysis.error
    graph = api.get(f"/api/snapshots/{calico.id}/graph/").json()
    assert graph["evaluator"] == "calico"
    ids = {(e["source"], e["target"]) for e in graph["edges"]}
    assert ("checkout/Deployment/checkout", "payments/Deployment/payments-api") in ids
    assert ("storefront/Deployment/web", "payments/Deployment/payments-api") not in ids
    assert analysis.result["lint"] == []  # the demo is clean


# --- the API: policies ---------------------------------------------------------------------------


def test_api_policies_list_calico_kinds_with_tier_order_and_selected_pods(api: APIClient, calico: Snapshot) -> None:
    response = api.get("/api/policies/", {"snapshot": calico.id})
    assert response.status_code == 200
    body = response.json()
    policies = {(p["policy_kind"], p["namespace"], p["name"]): p for p in body.get("results", body)}

    gnp = policies[("GlobalNetworkPolicy", "", GNP)]
    assert gnp["kind"] == "GlobalNetworkPolicy"
    assert (gnp["tier"], gnp["tier_order"], gnp["order"]) == ("security", 100, 10)
    assert gnp["selected_pods"] == sorted(
        [
            "checkout/Deployment/checkout",
            "payments/Deployment/payments-api",
            "payments/StatefulSet/ledger",
            "storefront/Deployment/catalog",
            "storefront/Deployment/web",
        ]
    )

    web_public = policies[("CalicoNetworkPolicy", "storefront", "web-public")]
    assert web_public["kind"] == "NetworkPolicy"
    assert web_public["api_version"] == "projectcalico.org/v3"
    assert (web_public["tier"], web_public["tier_order"], web_public["order"]) == ("default", 1_000_000, 500)
    assert web_public["selected_pods"] == ["storefront/Deployment/web"]

    k8s = policies[("KubernetesNetworkPolicy", "payments", "payments-api")]
    assert (k8s["tier"], k8s["order"]) == ("default", 1000)
    assert k8s["selected_pods"] == ["payments/Deployment/payments-api"]


def test_api_policies_have_no_tier_outside_calico(api: APIClient, snapshot: Snapshot) -> None:
    body = api.get("/api/policies/", {"snapshot": snapshot.id}).json()
    [policy] = body.get("results", body)
    assert policy["policy_kind"] == "KubernetesNetworkPolicy"
    assert (policy["tier"], policy["tier_order"], policy["order"]) == (None, None, None)
    assert policy["selected_pods"] == ["prod/db"]


def test_a_calico_and_a_kubernetes_policy_of_the_same_name_select_their_own_pods(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    # A Calico NetworkPolicy named like the Kubernetes one "catalog" but selecting web.
    twin = (
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: catalog\n"
        "  namespace: storefront\nspec:\n  order: 1\n  selector: app == 'web'\n  ingress:\n    - action: Allow\n"
    )
    snapshot = upload(api, django_capture_on_commit_callbacks, [*demo_files(), ("twin.yaml", twin)])
    body = api.get("/api/policies/", {"snapshot": snapshot.id, "namespace": "storefront"}).json()
    selected = {p["policy_kind"]: p["selected_pods"] for p in body.get("results", body) if p["name"] == "catalog"}
    assert selected == {
        "KubernetesNetworkPolicy": ["storefront/Deployment/catalog"],
        "CalicoNetworkPolicy": ["storefront/Deployment/web"],
    }
    keys = {p["policy_kind"]: p["policy_key"] for p in body.get("results", body) if p["name"] == "catalog"}
    assert keys == {
        "KubernetesNetworkPolicy": "NetworkPolicy/storefront/catalog",
        "CalicoNetworkPolicy": "CalicoNetworkPolicy/storefront/catalog",
    }
    # A trace names each by its key, and the flow check links each to its own page.
    twin_id = Resource.objects.get(snapshot=snapshot, api_version="projectcalico.org/v3", name="catalog").id
    k8s_id = Resource.objects.get(snapshot=snapshot, api_version="networking.k8s.io/v1", name="catalog").id
    web = Client()
    web.force_login(User.objects.get(username="alice"))
    for source, target, policy_id, key in (
        ("storefront/catalog", "storefront/web", twin_id, "CalicoNetworkPolicy/storefront/catalog"),
        ("storefront/web", "storefront/catalog", k8s_id, "NetworkPolicy/storefront/catalog"),
    ):
        flow = {"from": source, "to": target, "port": 8080}
        assert key in [p["key"] for p in explain(api, snapshot, flow)["ingress"]["policies"]]
        assert reverse("policies:policy", args=[snapshot.id, policy_id]) in flow_page(web, snapshot, flow)


def test_a_staged_policy_is_listed_but_selects_nothing(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    staged = (
        "apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata:\n  name: security.preview\n"
        "spec:\n  tier: security\n  order: 5\n  selector: all()\n  ingress:\n    - action: Deny\n"
    )
    snapshot = upload(api, django_capture_on_commit_callbacks, [*demo_files(), ("staged.yaml", staged)])
    body = api.get("/api/policies/", {"snapshot": snapshot.id}).json()
    [policy] = [p for p in body.get("results", body) if p["kind"] == "StagedGlobalNetworkPolicy"]
    assert policy["staged"] is True
    assert policy["selected_pods"] == []
    assert (policy["tier"], policy["tier_order"], policy["order"]) == ("security", 100, 5)


# --- the API: explanations -----------------------------------------------------------------------


def test_explain_a_blocked_flow_denied_in_the_security_tier(api: APIClient, calico: Snapshot) -> None:
    body = explain(api, calico, BLOCKED)
    assert body["evaluator"] == "calico"
    assert body["verdict"] == "DENY"
    ingress = body["ingress"]
    assert ingress["reason"] == "CALICO_DENY"
    assert ingress["deciding_tier"] == "security"
    assert (ingress["deciding_policy"], ingress["deciding_rule"]) == (GNP, 2)
    [trace] = ingress["policies"]
    assert (trace["kind"], trace["tier"], trace["order"]) == ("GlobalNetworkPolicy", "security", 10)
    assert [r["action"] for r in trace["rules"]] == ["Pass", "Pass", "Deny"]
    # Nothing selects the source for egress: its namespace profile allows.
    assert body["egress"]["reason"] == "PROFILE_ALLOW"
    assert body["egress"]["policies"][0]["kind"] == "Profile"


def test_explain_a_passed_flow_decided_by_the_kubernetes_policy_in_the_default_tier(
    api: APIClient, calico: Snapshot
) -> None:
    body = explain(api, calico, PASSED)
    assert body["verdict"] == "ALLOW"
    ingress = body["ingress"]
    assert ingress["reason"] == "CALICO_ALLOW"
    assert ingress["deciding_tier"] == "default"
    assert ingress["deciding_policy"] == "payments/payments-api"
    kinds = [(t["kind"], t["tier"], t["outcome"]) for t in ingress["policies"]]
    assert kinds == [
        ("GlobalNetworkPolicy", "security", "passes to the next tier (rule 0)"),
        ("KubernetesNetworkPolicy", "default", "allows (rule 0)"),
    ]


# --- the flow check page -------------------------------------------------------------------------


def test_flow_check_shows_the_deny_in_the_security_tier_with_its_lines(web: Client, calico: Snapshot) -> None:
    html = flow_page(web, calico, BLOCKED)

    assert "Tier security" in html and "tier order 100" in html
    assert 'GlobalNetworkPolicy, tier security, order <span class="policy-order">10</span>' in html
    assert 'class="action action-pass">Pass</span>' in html
    assert 'class="action action-deny">Deny</span>' in html
    assert "CALICO_DENY" in html
    # The deciding rule (ingress rule 2, the Deny) is highlighted in the policy's YAML, and only it.
    lines = highlighted_lines(html)
    assert lines, "no highlighted lines"
    assert file_line(calico, "security-tier.yaml", lines[0]).strip() == "- action: Deny"
    assert all("Pass" not in file_line(calico, "security-tier.yaml", n) for n in lines)
    # The source's egress: the namespace profile, which has no YAML.
    assert "The namespace&#x27;s default allow" in html or "The namespace's default allow" in html
    assert "kns.storefront" in html


def test_flow_check_shows_the_pass_then_the_kubernetes_rule_deciding(web: Client, calico: Snapshot) -> None:
    html = flow_page(web, calico, PASSED)

    security, default = html.index("Tier security"), html.index("Tier default")
    assert security < default  # the tiers in the order Calico walks them
    assert 'KubernetesNetworkPolicy, tier default, order <span class="policy-order">1000</span>' in html
    assert "Passes to the next tier (rule 0)." in html
    assert "CALICO_ALLOW" in html
    lines = highlighted_lines(html)
    assert lines
    text = calico.files.get(name="default-tier.yaml").text.splitlines()
    highlighted = "\n".join(text[n - 1] for n in lines)
    assert "from:" in highlighted and "port: 8080" in highlighted
    # The link goes to the networking.k8s.io policy's page.
    policy = calico.resources.get(kind="NetworkPolicy", namespace="payments", name="payments-api")
    assert reverse("policies:policy", args=[calico.id, policy.id]) in html


def test_flow_check_shows_a_calico_network_policy_deciding_after_a_log_rule(web: Client, calico: Snapshot) -> None:
    html = flow_page(web, calico, FROM_OUTSIDE)
    assert 'CalicoNetworkPolicy, tier default, order <span class="policy-order">500</span>' in html
    assert 'class="action action-log">Log</span>' in html
    policy = calico.resources.get(kind="NetworkPolicy", api_version="projectcalico.org/v3", name="web-public")
    assert reverse("policies:policy", args=[calico.id, policy.id]) in html
    [line] = highlighted_lines(html)[:1]
    assert file_line(calico, "default-tier.yaml", line).strip() == "- action: Allow"


def test_flow_check_says_when_the_end_of_a_tier_denies(web: Client, calico: Snapshot) -> None:
    html = flow_page(web, calico, END_OF_TIER)
    assert "END_OF_TIER" in html
    assert "End of tier default" in html
    assert highlighted_lines(html) == []  # no rule decided


def test_flow_check_marks_approximate_verdicts(
    web: Client, api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    # An http match is not modelled: the verdict stands either way, but is approximate.
    http = (
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: catalog-http\n"
        "  namespace: storefront\nspec:\n  order: 100\n  selector: app == 'catalog'\n  ingress:\n"
        "    - action: Allow\n      protocol: TCP\n      http:\n        methods: [GET]\n"
        "    - action: Allow\n      protocol: TCP\n"
    )
    snapshot = upload(api, django_capture_on_commit_callbacks, [*demo_files(), ("http.yaml", http)])
    flow = {"from": "storefront/Deployment/web", "to": "storefront/Deployment/catalog", "port": 8080}
    assert explain(api, snapshot, flow)["ingress"].get("approximate") is True

    html = flow_page(web, snapshot, flow)
    assert 'id="verdict-approximate"' in html
    assert 'id="flow-warnings"' in html
    assert "http match" in html


# --- the other pages -----------------------------------------------------------------------------


def test_overview_lists_calico_policies_in_evaluation_order_with_tier_and_order(
    web: Client, calico: Snapshot
) -> None:
    html = web.get(reverse("policies:snapshot", args=[calico.id])).content.decode()
    assert "evaluated as calico" in html
    assert "<th>Tier</th><th>Order</th>" in html
    assert "Calico NetworkPolicy" in html
    # The security tier's policy first, then the default tier by order: web-public (500), then 1000s.
    table = html[html.index('id="policies-title"') :]
    assert table.index(GNP) < table.index("storefront/web-public") < table.index("payments/payments-api")


def test_overview_lint_shows_a_shadowed_calico_rule(
    web: Client, api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    snapshot = upload(api, django_capture_on_commit_callbacks, [*demo_files(), ("shadowed.yaml", SHADOWED)])
    codes = {(f["code"], f["policy"]) for f in snapshot.analyses.get().result["lint"]}
    assert ("CP002", "storefront/catalog-shadowed") in codes

    html = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    assert ">CP002</span>" in html
    assert "storefront/catalog-shadowed" in html


def test_policy_page_shows_tier_order_selected_pods_and_yaml(web: Client, calico: Snapshot) -> None:
    gnp = calico.resources.get(kind="GlobalNetworkPolicy", name=GNP)
    html = web.get(reverse("policies:policy", args=[calico.id, gnp.id])).content.decode()

    assert '<span class="value" id="policy-tier">security</span>' in html
    assert "tier order 100" in html
    assert '<span class="value" id="policy-order">10</span>' in html
    for pod in ("payments/Deployment/payments-api", "storefront/Deployment/web", "checkout/Deployment/checkout"):
        assert pod in html
    assert "It selects 5 pods" in html
    assert "namespaceSelector: sensitivity == &#x27;high&#x27;" in html  # the YAML
    # The tier's members, and the flows it passes on to the default tier.
    assert 'id="tier-title">Tier security' in html
    assert "Flows it allows or passes on" in html
    assert 'class="action action-pass">Pass</span>' in html
    # Without it, payments' own too-broad policy would let storefront in.
    assert "this policy denies them or keeps them from a later tier" in html
    assert "storefront/Deployment/web → payments/Deployment/payments-api" in html


def test_policy_page_of_a_kubernetes_policy_under_calico(web: Client, calico: Snapshot) -> None:
    policy = calico.resources.get(kind="NetworkPolicy", namespace="payments", name="payments-api")
    html = web.get(reverse("policies:policy", args=[calico.id, policy.id])).content.decode()
    assert '<span class="value" id="policy-tier">default</span>' in html
    assert '<span class="value" id="policy-order">1000</span>' in html
    assert "Calico runs every Kubernetes NetworkPolicy in the default tier at order 1000" in html
    # The default tier lists the Calico policy (order 500) before the Kubernetes ones.
    tier = html[html.index('id="tier-title"') :]
    assert tier.index("storefront/web-public") < tier.index("payments/payments-api")
    assert "payments/Deployment/payments-api" in html  # selected pod


def test_graph_page_config_has_tier_and_order_of_each_policy(web: Client, calico: Snapshot) -> None:
    response = web.get(reverse("policies:graph", args=[calico.id]))
    assert response.status_code == 200
    config = response.context["config"]
    details = config["policy_details"]  # by policy key, as graph nodes name their policies
    gnp, web_public = f"GlobalNetworkPolicy/{GNP}", "CalicoNetworkPolicy/storefront/web-public"
    payments = "NetworkPolicy/payments/payments-api"
    assert details[gnp]["tier"] == "security"
    assert details[gnp]["order_text"] == "10"
    assert details[gnp]["name"] == GNP
    assert details[web_public]["kind"] == "Calico NetworkPolicy"
    assert details[web_public]["name"] == "storefront/web-public"
    assert details[payments]["tier"] == "default"
    assert details[gnp]["position"] < details[web_public]["position"]
    assert details[payments]["url"] == config["policy_urls"][payments]
    graph = web.get(reverse("api:snapshot-graph", args=[calico.id])).json()
    named = {key for node in graph["nodes"] for keys in (node.get("policies") or {}).values() for key in keys}
    assert {gnp, web_public, payments} <= named <= set(details) | set(config["policy_urls"])


def test_pages_of_a_kubernetes_snapshot_show_no_tiers(web: Client, snapshot: Snapshot) -> None:
    policy: Resource = snapshot.resources.get(kind="NetworkPolicy")
    overview = web.get(reverse("policies:snapshot", args=[snapshot.id])).content.decode()
    assert "<th>Tier</th>" not in overview
    page = web.get(reverse("policies:policy", args=[snapshot.id, policy.id])).content.decode()
    assert 'id="policy-tier"' not in page
    params = {"src": "prod/web", "dst": "prod/db", "port": 5432, "protocol": "TCP"}
    flow = web.get(reverse("policies:flow", args=[snapshot.id]), params).content.decode()
    assert "Tier " not in flow
    assert highlighted_lines(flow)
