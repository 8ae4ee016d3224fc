"""Admin network policies under the Calico evaluator, placed where Calico places them
(docs/admin-policies.md section 8): ClusterNetworkPolicy in the tiers kube-admin (order 1,000) and
kube-baseline (order 10,000,000), AdminNetworkPolicy in adminnetworkpolicy (order 1,000) and the
BaselineAdminNetworkPolicy in baselineadminnetworkpolicy (order 10,000,000, as order 1,000), all with
the default action Pass and the priority as the order."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.engine import build_graph, evaluate, explain, make_flow, parse_files
from policies.engine.options import Settings
from tests.engine import test_admin_conformance as conformance
from tests.engine import test_admin_vectors as vectors
from tests.engine.test_admin_vectors import _graph_node

BASE = (Path(__file__).parent / "admin_vectors" / "base.yaml").read_text()
BLUE = "  subject: {namespaces: {matchLabels: {team: blue}}}\n"


def cnp(name: str, body: str, tier: str = "Admin", priority: int = 10) -> str:
    return (f"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\n"
            f"spec:\n  tier: {tier}\n  priority: {priority}\n{body}")


def calico_tier(name: str, order: int, action: str = "Deny") -> str:
    return (f"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: {name}}}\n"
            f"spec: {{order: {order}, defaultAction: {action}}}\n")


def gnp(name: str, tier: str, rule: str) -> str:
    return (f"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {tier}.{name}}}\n"
            f"spec:\n  tier: {tier}\n  order: 1\n  selector: all()\n  types: [Ingress]\n  ingress: [{rule}]\n")


def verdicts(*docs: str, src: str = "y/cli", dst: str = "x/web", port: int = 80):  # type: ignore[no-untyped-def]
    cluster = parse_files([("base.yaml", BASE), ("p.yaml", "---\n".join(docs))]).cluster
    result = explain(cluster, src, dst, port=port, evaluator="calico")
    if result.verdict in ("ALLOW", "DENY"):
        graph = build_graph(cluster, evaluator="calico")
        ends = _graph_node(cluster, graph, src), _graph_node(cluster, graph, dst)
        assert None not in ends and graph.allows(*ends, "TCP", port) == result.allowed, "the graph disagrees"
    return result


ACCEPT_RED = cnp("accept-red", BLUE + "  ingress: [{name: red-in, action: Accept, from: [{namespaces: "
                 "{matchLabels: {team: red}}}]}]\n")
DENY_RED = cnp("deny-red", BLUE + "  ingress: [{name: red-out, action: Deny, from: [{namespaces: "
               "{matchLabels: {team: red}}}]}]\n")
PASS_RED = cnp("pass-red", BLUE + "  ingress: [{name: red-on, action: Pass, from: [{namespaces: "
               "{matchLabels: {team: red}}}]}]\n")
NP_DENY_ALL = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: closed, namespace: x}\n"
               "spec: {podSelector: {}, policyTypes: [Ingress]}\n")


@pytest.mark.parametrize("name", list(conformance.TESTS))
def test_the_conformance_suite_holds_under_calico(name: str) -> None:
    """Every poke of the suite, per flow and in the graph, with the Calico evaluator."""
    wrong = []
    for i, s in enumerate(conformance.TESTS[name][1]):
        namespaces, policies = conformance._state(name, i)
        cluster = parse_files([("c.yaml", conformance._manifests(namespaces, policies))]).cluster
        graph = build_graph(cluster, evaluator="calico")
        for client, server, protocol, port, reachable in s.pokes:
            src, dst = conformance._endpoint(client), conformance._endpoint(server)
            result = explain(cluster, src, dst, protocol=protocol, port=port, evaluator="calico")
            if result.allowed != reachable or graph.allows(src, dst, protocol, port) != reachable:
                wrong.append(f"{s.title}: {client} -> {server} {protocol}/{port}: expected {reachable}, "
                             f"got {result.verdict}")
    assert not wrong, "\n".join(wrong)


def test_admin_accept_decides_in_the_kube_admin_tier_before_the_default_tier() -> None:
    result = verdicts(ACCEPT_RED, NP_DENY_ALL)
    ingress = result.result.ingress
    assert result.verdict == "ALLOW" and ingress.reason == "CALICO_ALLOW"
    assert (ingress.deciding_tier, ingress.deciding_policy, ingress.deciding_rule) == (
        "kube-admin", "ClusterNetworkPolicy/accept-red", 0)
    trace = ingress.policies[0]
    assert (trace.kind, trace.id, trace.tier, trace.order) == (
        "ClusterNetworkPolicy", "ClusterNetworkPolicy/accept-red", "kube-admin", 10.0)
    assert (trace.rules[0].name, trace.rules[0].action) == ("red-in", "Allow")


def test_a_calico_tier_ordered_before_1000_decides_before_the_admin_tier() -> None:
    result = verdicts(calico_tier("security", 100), gnp("deny-all", "security", "{action: Deny}"), ACCEPT_RED)
    assert result.verdict == "DENY" and result.result.ingress.deciding_tier == "security"


def test_a_calico_tier_ordered_after_1000_sees_what_the_admin_tier_passes() -> None:
    after = [calico_tier("platform", 2000), gnp("deny-all", "platform", "{action: Deny}")]
    assert verdicts(*after, ACCEPT_RED).verdict == "ALLOW"
    passed = verdicts(*after, PASS_RED)
    assert passed.verdict == "DENY" and passed.result.ingress.deciding_tier == "platform"
    trace = passed.result.ingress.policies[0]
    assert trace.tier == "kube-admin" and trace.outcome == "passes to the next tier (rule 0)"


def test_admin_deny_cannot_be_undone_by_a_network_policy() -> None:
    allow_all = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: x}\n"
                 "spec: {podSelector: {}, ingress: [{}]}\n")
    result = verdicts(DENY_RED, allow_all)
    assert result.verdict == "DENY" and result.result.ingress.deciding_policy == "ClusterNetworkPolicy/deny-red"


def test_the_baseline_tier_only_sees_pods_the_default_tier_does_not_apply_to() -> None:
    baseline = cnp("base-deny", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", tier="Baseline")
    alone = verdicts(baseline)
    assert alone.verdict == "DENY" and alone.result.ingress.deciding_tier == "kube-baseline"
    allow_red = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: red, namespace: x}\n"
                 "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}]}]}\n")
    with_np = verdicts(baseline, allow_red)
    assert with_np.verdict == "ALLOW" and with_np.result.ingress.deciding_tier == "default"
    # mon is not red: the default tier applies and ends in a deny; the baseline is never reached.
    other = verdicts(baseline, allow_red, src="z/mon")
    assert other.result.ingress.reason == "END_OF_TIER" and other.result.ingress.deciding_tier == "default"


def test_v1alpha1_kinds_go_to_the_tiers_calico_330_gave_them() -> None:
    anp = ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n"
           "spec:\n  priority: 5\n" + BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n")
    banp = ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
            "metadata: {name: default}\nspec:\n" + BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n")
    result = verdicts(anp)
    assert (result.result.ingress.deciding_tier, result.result.ingress.policies[0].order) == (
        "adminnetworkpolicy", 5.0)
    base = verdicts(banp).result.ingress
    assert (base.deciding_tier, base.policies[0].order) == ("baselineadminnetworkpolicy", 1000.0)


def test_both_api_versions_at_once_order_their_tiers_by_name() -> None:
    """Calico documents adminnetworkpolicy (3.30, 3.31) and kube-admin (3.32) both at order 1,000;
    with both present, Calico's tier order (order, then name) runs adminnetworkpolicy first. The k8s
    evaluator instead puts AdminNetworkPolicy and Admin-tier ClusterNetworkPolicy in one priority order
    (vector A17)."""
    anp = ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n"
           "spec:\n  priority: 20\n" + BLUE + "  ingress: [{action: Allow, from: [{namespaces: {}}]}]\n")
    result = verdicts(anp, DENY_RED)
    assert result.verdict == "ALLOW" and result.result.ingress.deciding_tier == "adminnetworkpolicy"
    cluster = parse_files([("base.yaml", BASE), ("p.yaml", anp + "---\n" + DENY_RED)]).cluster
    assert explain(cluster, "y/cli", "x/web", port=80, evaluator="k8s").verdict == "DENY"


def test_domain_names_are_unsupported_for_addresses_and_never_match_pods() -> None:
    egress = cnp("dns-names", "  subject: {namespaces: {matchLabels: {team: red}}}\n"
                 "  egress: [{action: Deny, to: [{domainNames: [example.com]}]}]\n")
    outside = verdicts(egress, dst="203.0.113.7")
    assert outside.verdict == "UNSUPPORTED"
    assert "domainNames" in outside.result.egress.detail
    inside = verdicts(egress, dst="x/web")
    assert inside.verdict == "ALLOW"
    assert "domainNames name addresses outside the cluster" in str(inside.result.egress.policies[0].rules[0].why)


def test_node_and_network_peers_and_named_ports() -> None:
    nodes = cnp("no-infra", "  subject: {namespaces: {matchLabels: {team: blue}}}\n"
                "  egress: [{action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}]\n")
    assert verdicts(nodes, src="x/web", dst="node:n2", port=10250).verdict == "DENY"
    assert verdicts(nodes, src="x/web", dst="node:n1", port=10250).verdict == "ALLOW"
    assert verdicts(nodes, src="x/web", dst="192.168.0.2", port=10250).verdict == "DENY"
    networks = cnp("no-net", "  subject: {namespaces: {matchLabels: {team: blue}}}\n"
                   "  egress: [{action: Deny, to: [{networks: [203.0.113.0/24]}]}]\n")
    assert verdicts(networks, src="x/web", dst="203.0.113.9", port=443).verdict == "DENY"
    assert verdicts(networks, src="x/web", dst="198.51.100.1", port=443).verdict == "ALLOW"
    named = cnp("named", BLUE + "  ingress:\n  - {action: Accept, from: [{namespaces: {}}], protocols: "
                "[{destinationNamedPort: http}]}\n  - {action: Deny, from: [{namespaces: {}}]}\n")
    assert verdicts(named, port=80).verdict == "ALLOW"
    assert verdicts(named, port=8080).verdict == "DENY"


# The vectors' flows where Calico's placement gives another verdict than the API's order, and why.
CALICO_DIVERGES = {
    ("A11", "z/mon", "x/web", "ICMP"): ("ALLOW", "a NetworkPolicy port list leaves ICMP undefined; Calico matches "
                                        "the port-less rule for every protocol"),
    ("A17", "y/cli", "x/web", "TCP"): ("ALLOW", "adminnetworkpolicy runs before kube-admin (same order, by name)"),
    ("A17", "z/mon", "x/web", "TCP"): ("ALLOW", "baselineadminnetworkpolicy runs before kube-baseline"),
}


@pytest.mark.parametrize(("vector_id", "index"), vectors.CASES, ids=[vectors._flow_name(*c) for c in vectors.CASES])
def test_admin_vectors_under_calico(vector_id: str, index: int) -> None:
    """Every admin vector flow gives the same verdict under Calico, but for the documented divergences;
    the Calico graph agrees with its per-flow verdicts."""
    cluster, settings, _ = vectors._setup(vector_id)
    flow = next(v for v in vectors.VECTORS if v["id"] == vector_id)["flows"][index]
    result = explain(cluster, flow["src"], flow["dst"], protocol=flow["protocol"], port=flow.get("port"),
                     evaluator="calico", settings=settings).result
    expected, _why = CALICO_DIVERGES.get((vector_id, flow["src"], flow["dst"], flow["protocol"]),
                                         (flow["verdict"], ""))
    assert result.verdict == expected, (result.egress.detail, result.ingress.detail)
    if flow["protocol"] in ("TCP", "UDP", "SCTP") and expected in ("ALLOW", "DENY"):
        graph = build_graph(cluster, evaluator="calico", settings=settings)
        src, dst = _graph_node(cluster, graph, flow["src"]), _graph_node(cluster, graph, flow["dst"])
        assert src is not None and dst is not None
        assert graph.allows(src, dst, flow["protocol"], flow["port"]) == (expected == "ALLOW")


@pytest.mark.parametrize("seed", range(30))
def test_calico_graph_matches_its_flows_on_random_admin_clusters(seed: int) -> None:
    from tests.engine.randomclusters import random_admin_cluster
    from tests.engine.test_graph_consistency import _check

    assert _check(random_admin_cluster(seed), Settings(), evaluator="calico") > 0


@pytest.mark.parametrize(("seed", "version"), [(s, v) for s in range(30) for v in ("v1alpha1", "v1alpha2")])
def test_engines_agree_on_random_admin_clusters_of_one_api_version(seed: int, version: str) -> None:
    """With the kinds of one API version (as one Calico release runs them), Calico's tiers give the
    API's order: both evaluators agree on every TCP, UDP and SCTP flow."""
    from tests.engine.randomclusters import random_admin_cluster

    c = random_admin_cluster(seed, version)
    ids = [p.workload_id if p.from_template else p.id for p in c.pods]
    others = ["203.0.113.7", "10.0.1.2", "192.168.0.1", "192.168.0.2", "8.8.8.8"]
    wrong = []
    for src in ids:
        for dst in [*ids, *others]:
            if src == dst:
                continue
            for a, b in ((src, dst), (dst, src)):
                for proto, port in (("TCP", 53), ("UDP", 53), ("TCP", 80), ("SCTP", 80), ("TCP", 8080)):
                    flow = make_flow(c, a, b, protocol=proto, port=port)
                    k8s, cal = evaluate(c, flow, evaluator="k8s"), evaluate(c, flow, evaluator="calico")
                    if k8s.verdict != cal.verdict:
                        wrong.append(f"{a} -> {b} {proto}/{port}: k8s {k8s.verdict} ({k8s.egress.detail} | "
                                     f"{k8s.ingress.detail}), calico {cal.verdict} ({cal.egress.detail} | "
                                     f"{cal.ingress.detail})")
    assert not wrong, "\n".join(wrong[:5])
