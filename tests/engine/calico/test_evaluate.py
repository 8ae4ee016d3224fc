"""calico_decision on small clusters: the F vectors of SEMANTICS.md 7 (V44-V66) and V38, checked with
their reasons, plus traces, Kubernetes conversion (5.7), special paths (5.8) and out-of-scope input (0.3).

Reasons are written as in the spec, ``CALICO_DENY(tier, policy, rule)``, and checked against the
direction that decides (``in`` = the destination's ingress, ``eg`` = the source's egress).
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.engine.calico.convert import convert_k8s_policy, label_selector_to_calico
from policies.engine.calico.evaluate import calico_decision
from policies.engine.cluster import ServiceAccount
from policies.engine.decisions import Decision
from policies.engine.flows import make_flow
from policies.engine.k8s.selector import LabelSelector, Requirement
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS, Settings

from .helpers import cluster, decide, k8s_policy, labels, namespace, pod

V3 = "apiVersion: projectcalico.org/v3\n"


def reason(d: Decision) -> str:
    """A decision in the spec's notation."""
    if d.reason in ("CALICO_ALLOW", "CALICO_DENY"):
        name = d.deciding_policy.split("/")[-1]
        return f"{d.reason}({d.deciding_tier}, {name}, {d.deciding_rule})"
    if d.reason == "END_OF_TIER":
        return f"END_OF_TIER({d.deciding_tier})"
    if d.reason == "PROFILE_ALLOW":
        return f"PROFILE_ALLOW({d.deciding_policy})"
    return d.reason


Row = tuple[str, str, str, Any, str, str, str]  # src, dst, proto, port, verdict, direction, reason


def check(c: Cluster, rows: list[Row], settings: Settings = DEFAULT_SETTINGS) -> None:
    for src, dst, proto, port, want, direction, why in rows:
        kw: dict[str, Any] = {}
        if proto in ("ICMP", "ICMPv6"):
            kw = {"icmp_type": port[0], "icmp_code": port[1]} if port else {}
            port = None
        got, eg, ing = decide(c, src, dst, proto, port, settings, **kw)
        flow = f"{src} -> {dst} {proto}/{port}"
        assert got == want, f"{flow}: expected {want}, got {got} (egress {eg.detail}; ingress {ing.detail})"
        if why:
            d = ing if direction == "in" else eg
            assert reason(d) == why, f"{flow}: expected {why}, got {reason(d)}: {d.detail}"


# -- V44-V46: selectors deciding which policies apply ---------------------------------------------------


def test_v44_selector_operators_in_not_has_and() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/w", "app=web", "10.0.1.81@n1"),
            pod("x/wc", "app=web,canary=true", "10.0.1.82@n1"),
            pod("x/o", "app=other", "10.0.1.83@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
        ],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: iso, namespace: x}
spec: {selector: "app in {'web', 'api'} && !has(canary)", types: [Ingress]}
""",
    )
    check(
        c,
        [
            ("y/c", "x/w", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/wc", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("y/c", "x/o", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
        ],
    )


def test_v45_ne_matches_a_missing_key_and_a_gnp_spans_namespaces() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/p", "env=prod", "10.0.1.91@n1"),
            pod("x/c", "", "10.0.1.92@n1"),
            pod("y/n", "", "10.0.2.91@n2"),
        ],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: iso-nonprod}
spec: {selector: "env != 'prod'", types: [Ingress]}
""",
    )
    check(
        c,
        [
            ("x/c", "y/n", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("x/c", "x/p", "TCP", 80, "ALLOW", "eg", "PROFILE_ALLOW(kns.x)"),
        ],
    )


def test_v46_string_operators_and_precedence() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/p1", "app=frontend,team=devops", "10.0.1.101@n1"),
            pod("x/p2", "app=frontend,team=dev", "10.0.1.102@n1"),
            pod("x/p3", "tier=platinum-gold-1", "10.0.1.103@n1"),
            pod("x/p4", "", "10.0.1.104@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
        ],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: prec}
spec:
  selector: "app starts with 'fr' && team ends with 'ops' || tier contains 'gold'"
  types: [Ingress]
""",
    )
    check(
        c,
        [
            ("y/c", "x/p1", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/p2", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("y/c", "x/p3", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/p4", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
        ],
    )


# -- V47-V50: order inside the default tier, and Kubernetes policies at order 1000 ---------------------

DB3 = [
    pod("x/db", "app=db", "10.0.1.10@n1"),
    pod("x/u", "role=untrusted", "10.0.1.14@n1"),
    pod("x/t", "", "10.0.1.15@n1"),
]
V47 = (
    V3
    + """kind: GlobalNetworkPolicy
metadata: {name: deny-untrusted}
spec:
  order: 100
  selector: "app == 'db'"
  ingress: [{action: Deny, source: {selector: "role == 'untrusted'"}}]
---
"""
    + V3
    + """kind: NetworkPolicy
metadata: {name: allow-all-db, namespace: x}
spec:
  order: ORDER
  selector: "app == 'db'"
  ingress: [{action: Allow}]
"""
)


def test_v47_deny_before_allow_by_order() -> None:
    c = cluster(["x"], DB3, calico_docs=V47.replace("ORDER", "200"))
    check(
        c,
        [
            ("x/u", "x/db", "TCP", 80, "DENY", "in", "CALICO_DENY(default, deny-untrusted, 0)"),
            ("x/t", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-all-db, 0)"),
        ],
    )
    _, _, ing = decide(c, "x/t", "x/db", "TCP", 80)
    assert [(p.kind, p.name, p.order, p.outcome) for p in ing.policies] == [
        ("GlobalNetworkPolicy", "deny-untrusted", 100.0, "no rule matched"),
        ("CalicoNetworkPolicy", "allow-all-db", 200.0, "allows (rule 0)"),
    ]
    variant = cluster(["x"], DB3, calico_docs=V47.replace("ORDER", "50"))
    check(variant, [("x/u", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-all-db, 0)")])


def test_v48_absent_order_is_last() -> None:
    c = cluster(
        ["x"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("x/fe", "role=fe", "10.0.1.11@n1"),
            pod("x/other", "", "10.0.1.13@n1"),
        ],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: deny-rest, namespace: x}
spec: {selector: "app == 'db'", ingress: [{action: Deny}]}
---
"""
        + V3
        + """kind: NetworkPolicy
metadata: {name: allow-fe, namespace: x}
spec:
  order: 10
  selector: "app == 'db'"
  ingress: [{action: Allow, source: {selector: "role == 'fe'"}}]
""",
    )
    check(
        c,
        [
            ("x/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-fe, 0)"),
            ("x/other", "x/db", "TCP", 80, "DENY", "in", "CALICO_DENY(default, deny-rest, 0)"),
        ],
    )


DENY_INGRESS_X = k8s_policy(
    "metadata: {name: deny-ingress, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress]}"
)


def test_v49_a_calico_allow_after_order_1000_overrides_k8s_isolation() -> None:
    c = cluster(
        ["x", "y", "z"],
        [pod("x/db", "app=db", "10.0.1.10@n1"), pod("y/c", "", "10.0.2.1@n2"), pod("z/c", "", "10.0.3.1@n2")],
        k8s=[DENY_INGRESS_X],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: allow-y, namespace: x}
spec:
  order: 2000
  selector: "app == 'db'"
  ingress: [{action: Allow, source: {namespaceSelector: "kubernetes.io/metadata.name == 'y'"}}]
""",
    )
    check(
        c,
        [
            ("y/c", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-y, 0)"),
            ("z/c", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )
    _, _, ing = decide(c, "y/c", "x/db", "TCP", 80)
    assert [(p.kind, p.name, p.order, p.outcome) for p in ing.policies] == [
        ("KubernetesNetworkPolicy", "deny-ingress", 1000.0, "has no ingress rules"),
        ("CalicoNetworkPolicy", "allow-y", 2000.0, "allows (rule 0)"),
    ]


def test_v50_calico_deny_before_k8s_allow_and_deny_only_policy_isolates() -> None:
    c = cluster(
        ["x", "y", "z"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("x/web", "app=web", "10.0.1.16@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
            pod("z/c", "", "10.0.3.1@n2"),
        ],
        k8s=[
            k8s_policy(
                "metadata: {name: allow-db, namespace: x}\n"
                "spec: {podSelector: {matchLabels: {app: db}}, ingress: [{}]}"
            )
        ],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: deny-z}
spec:
  order: 500
  selector: "projectcalico.org/namespace == 'x'"
  types: [Ingress]
  ingress: [{action: Deny, source: {namespaceSelector: "kubernetes.io/metadata.name == 'z'"}}]
""",
    )
    check(
        c,
        [
            ("z/c", "x/db", "TCP", 80, "DENY", "in", "CALICO_DENY(default, deny-z, 0)"),
            ("y/c", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-db, 0)"),
            ("y/c", "x/web", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )
    _, _, ing = decide(c, "y/c", "x/db", "TCP", 80)
    assert ing.isolated and ing.deciding_policy == "x/allow-db"


# -- V51-V55, V65: tiers, Pass, defaultAction and profiles ----------------------------------------------

TIER = V3 + "kind: Tier\nmetadata: {name: security}\nspec: {order: 100ACTION}\n---\n"
V51 = (
    TIER
    + V3
    + """kind: GlobalNetworkPolicy
metadata: {name: gate}
spec:
  tier: security
  order: 1
  selector: all()
  types: [Ingress]
  ingress:
  - action: Pass
    source: {namespaceSelector: "kubernetes.io/metadata.name == 'y'"}
  - action: Deny
"""
)
PODS_51 = [
    pod("x/db", "app=db", "10.0.1.10@n1"),
    pod("x/web", "app=web", "10.0.1.16@n1"),
    pod("y/c", "", "10.0.2.1@n2"),
    pod("z/c", "", "10.0.3.1@n2"),
]


def test_v51_pass_goes_to_the_next_tier() -> None:
    k8s = k8s_policy("""
metadata: {name: db-5432-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]
    ports: [{port: 5432}]
""")
    c = cluster(["x", "y", "z"], PODS_51, k8s=[k8s], calico_docs=V51.replace("ACTION", ""))
    check(
        c,
        [
            ("y/c", "x/db", "TCP", 5432, "ALLOW", "in", "CALICO_ALLOW(default, db-5432-from-y, 0)"),
            ("y/c", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("z/c", "x/db", "TCP", 5432, "DENY", "in", "CALICO_DENY(security, gate, 1)"),
            ("y/c", "x/web", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("x/web", "y/c", "TCP", 80, "DENY", "in", "CALICO_DENY(security, gate, 1)"),
        ],
    )
    _, _, ing = decide(c, "y/c", "x/db", "TCP", 5432)
    assert [(p.tier, p.name, p.outcome) for p in ing.policies] == [
        ("security", "gate", "passes to the next tier (rule 0)"),
        ("default", "db-5432-from-y", "allows (rule 0)"),
    ]


V52 = (
    TIER
    + V3
    + """kind: GlobalNetworkPolicy
metadata: {name: db-fe}
spec:
  tier: security
  selector: "app == 'db'"
  types: [Ingress]
  ingress: [{action: Allow, source: {selector: "role == 'fe'"}}]
---
"""
    + V3
    + """kind: NetworkPolicy
metadata: {name: deny-fe, namespace: x}
spec:
  order: 1
  selector: "app == 'db'"
  ingress: [{action: Deny, source: {selector: "role == 'fe'"}}]
"""
)
PODS_52 = [
    pod("x/db", "app=db", "10.0.1.10@n1"),
    pod("x/fe", "role=fe", "10.0.1.11@n1"),
    pod("x/other", "", "10.0.1.13@n1"),
]
ALLOW_ALL_DB = k8s_policy(
    "metadata: {name: allow-all-db, namespace: x}\n"
    "spec: {podSelector: {matchLabels: {app: db}}, ingress: [{}]}"
)


def test_v52_end_of_tier_deny_and_final_allow_in_a_higher_tier() -> None:
    c = cluster(["x"], PODS_52, k8s=[ALLOW_ALL_DB], calico_docs=V52.replace("ACTION", ""))
    check(
        c,
        [
            ("x/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(security, db-fe, 0)"),
            ("x/other", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(security)"),
        ],
    )


def test_v53_tier_default_action_pass() -> None:
    c = cluster(
        ["x"], PODS_52, k8s=[ALLOW_ALL_DB], calico_docs=V52.replace("ACTION", ", defaultAction: Pass")
    )
    check(
        c,
        [
            ("x/other", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, allow-all-db, 0)"),
            ("x/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(security, db-fe, 0)"),
        ],
    )


def test_v54_pass_in_the_last_tier_reaches_the_profile() -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/a", "app=a", "10.0.1.1@n1"), pod("y/c", "", "10.0.2.1@n2")],
        k8s=[DENY_INGRESS_X],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: pass-all}
spec: {order: 10, selector: all(), types: [Ingress], ingress: [{action: Pass}]}
""",
    )
    check(c, [("y/c", "x/a", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)")])
    _, _, ing = decide(c, "y/c", "x/a", "TCP", 80)
    assert ing.isolated
    assert [p.name for p in ing.policies] == ["pass-all", "kns.x"]  # the K8s policy is skipped


def test_v55_profile_default_when_no_policy_applies() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("x/web", "app=web", "10.0.1.16@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
        ],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: iso-db, namespace: x}
spec: {selector: "app == 'db'", types: [Ingress, Egress]}
""",
    )
    check(
        c,
        [
            ("y/c", "x/web", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("y/c", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("x/db", "y/c", "TCP", 80, "DENY", "eg", "END_OF_TIER(default)"),
        ],
    )
    _, _, ing = decide(c, "y/c", "x/web", "TCP", 80)
    assert not ing.isolated
    assert [(p.kind, p.name) for p in ing.policies] == [("Profile", "kns.x")]


def test_v65_an_egress_only_tier_does_not_apply_to_ingress() -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/a", "", "10.0.1.1@n1"), pod("y/c", "", "10.0.2.1@n2")],
        calico_docs=TIER.replace("ACTION", "")
        + V3
        + """kind: GlobalNetworkPolicy
metadata: {name: egress-open}
spec: {tier: security, selector: all(), types: [Egress], egress: [{action: Allow}]}
""",
    )
    check(
        c,
        [
            ("y/c", "x/a", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("y/c", "x/a", "TCP", 80, "ALLOW", "eg", "CALICO_ALLOW(security, egress-open, 0)"),
            ("x/a", "8.8.8.8", "UDP", 53, "ALLOW", "eg", "CALICO_ALLOW(security, egress-open, 0)"),
        ],
    )


# -- V56-V63: rule matching ------------------------------------------------------------------------------


def test_v56_types_default_to_egress_for_egress_rules_only() -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/a", "app=a", "10.0.1.1@n1"), pod("y/c", "", "10.0.2.1@n2")],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: eg, namespace: x}
spec:
  selector: "app == 'a'"
  egress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]
""",
    )
    check(
        c,
        [
            ("y/c", "x/a", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("x/a", "y/c", "TCP", 443, "ALLOW", "eg", "CALICO_ALLOW(default, eg, 0)"),
            ("x/a", "y/c", "TCP", 80, "DENY", "eg", "END_OF_TIER(default)"),
        ],
    )


V57 = """kind: KIND
metadata: {name: db, namespace: x}
spec:
  selector: "app == 'db'"
  ingress: [{action: Allow, source: {selector: "role == 'fe'"NSSEL}}]
"""
PODS_57 = [
    pod("x/db", "app=db", "10.0.1.10@n1"),
    pod("x/fe", "role=fe", "10.0.1.11@n1"),
    pod("y/fe", "role=fe", "10.0.2.11@n2"),
]


@pytest.mark.parametrize(
    ("kind", "nssel", "y_verdict"),
    [
        ("NetworkPolicy", "", "DENY"),  # scoped to the policy's namespace
        ("NetworkPolicy", ", namespaceSelector: all()", "ALLOW"),  # variant b
        ("GlobalNetworkPolicy", "", "ALLOW"),  # variant c
    ],
)
def test_v57_rule_selectors_of_a_namespaced_policy_are_scoped(kind: str, nssel: str, y_verdict: str) -> None:
    c = cluster(["x", "y"], PODS_57, calico_docs=V3 + V57.replace("KIND", kind).replace("NSSEL", nssel))
    check(c, [("x/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 0)")])
    check(c, [("y/fe", "x/db", "TCP", 80, y_verdict, "in", "")])
    if y_verdict == "DENY":
        _, _, ing = decide(c, "y/fe", "x/db", "TCP", 80)
        assert "outside the policy's namespace x" in ing.policies[0].rules[0].why


def test_v58_selector_all_is_not_any_source() -> None:
    docs = (
        V3
        + """kind: NetworkPolicy
metadata: {name: db, namespace: x}
spec:
  selector: "app == 'db'"
  ingress: [RULE]
"""
    )
    pods = [
        pod("x/db", "app=db", "10.0.1.10@n1"),
        pod("x/fe", "", "10.0.1.11@n1"),
        pod("y/fe", "", "10.0.2.11@n2"),
    ]
    c = cluster(
        ["x", "y"], pods, calico_docs=docs.replace("RULE", "{action: Allow, source: {selector: all()}}")
    )
    check(
        c,
        [
            ("x/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 0)"),
            ("y/fe", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("203.0.113.5", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )
    _, _, ing = decide(c, "203.0.113.5", "x/db", "TCP", 80)
    assert "not a workload endpoint" in ing.policies[0].rules[0].why
    variant = cluster(["x", "y"], pods, calico_docs=docs.replace("RULE", "{action: Allow}"))
    check(
        variant,
        [
            ("203.0.113.5", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 0)"),
            ("y/fe", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 0)"),
        ],
    )


@pytest.mark.parametrize("kind", ["GlobalNetworkPolicy", "NetworkPolicy"])
def test_v59_not_selector_in_a_gnp_and_in_a_namespaced_policy(kind: str) -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("x/bad", "role=bad", "10.0.1.17@n1"),
            pod("x/ok", "", "10.0.1.18@n1"),
            pod("y/ok", "", "10.0.2.18@n2"),
        ],
        calico_docs=V3
        + f"""kind: {kind}
metadata: {{name: not-bad, namespace: x}}
spec:
  selector: "app == 'db'"
  ingress: [{{action: Allow, source: {{notSelector: "role == 'bad'"}}}}]
""",
    )
    outside = "ALLOW" if kind == "GlobalNetworkPolicy" else "DENY"
    check(
        c,
        [
            ("203.0.113.5", "x/db", "TCP", 80, outside, "in", ""),
            ("y/ok", "x/db", "TCP", 80, outside, "in", ""),
            ("x/ok", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, not-bad, 0)"),
            ("x/bad", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )


def test_v60_nets_not_nets_port_range_not_ports() -> None:
    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1@n1")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: egress-a}
spec:
  selector: "app == 'a'"
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination:
      nets: [198.51.100.0/24]
      notNets: [198.51.100.128/25]
      ports: ['8000:8080']
      notPorts: [8008]
""",
    )
    ok, no = "CALICO_ALLOW(default, egress-a, 0)", "END_OF_TIER(default)"
    check(
        c,
        [
            ("x/a", "198.51.100.10", "TCP", 8000, "ALLOW", "eg", ok),
            ("x/a", "198.51.100.10", "TCP", 8080, "ALLOW", "eg", ok),
            ("x/a", "198.51.100.200", "TCP", 8000, "DENY", "eg", no),
            ("x/a", "198.51.100.10", "TCP", 8008, "DENY", "eg", no),
            ("x/a", "198.51.100.10", "TCP", 8081, "DENY", "eg", no),
            ("x/a", "198.51.100.10", "UDP", 8000, "DENY", "eg", no),
        ],
    )


def test_v61_log_icmp_not_protocol_and_rule_order() -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/a", "app=a", "10.0.1.1@n1"), pod("y/c", "", "10.0.2.1@n2")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: icmp-a}
spec:
  selector: "app == 'a'"
  types: [Ingress]
  ingress:
  - action: Log
  - action: Allow
    protocol: ICMP
    icmp: {type: 8, code: 0}
  - action: Deny
    notProtocol: TCP
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
""",
    )
    check(
        c,
        [
            ("y/c", "x/a", "ICMP", (8, 0), "ALLOW", "in", "CALICO_ALLOW(default, icmp-a, 1)"),
            ("y/c", "x/a", "ICMP", (13, 0), "DENY", "in", "CALICO_DENY(default, icmp-a, 2)"),
            ("y/c", "x/a", "ICMP", None, "DENY", "in", "CALICO_DENY(default, icmp-a, 2)"),  # no type given
            ("y/c", "x/a", "UDP", 53, "DENY", "in", "CALICO_DENY(default, icmp-a, 2)"),
            ("y/c", "x/a", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, icmp-a, 3)"),
            ("y/c", "x/a", "TCP", 22, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )
    _, _, ing = decide(c, "y/c", "x/a", "TCP", 80)
    rules = ing.policies[0].rules
    assert [(r.index, r.action, r.matched) for r in rules] == [
        (0, "Log", True),
        (1, "Allow", False),
        (2, "Deny", False),
        (3, "Allow", True),
    ]


def test_v62_service_accounts_match_is_scoped_to_the_namespace() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/db", "app=db", "10.0.1.10@n1"),
            pod("x/api", "", "10.0.1.19@n1", sa="api-sa"),
            pod("x/other", "", "10.0.1.13@n1"),
            pod("y/api", "", "10.0.2.19@n2", sa="api-sa"),
        ],
        service_accounts=[ServiceAccount("x", "api-sa"), ServiceAccount("y", "api-sa")],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: db, namespace: x}
spec:
  selector: "app == 'db'"
  ingress: [{action: Allow, source: {serviceAccounts: {names: [api-sa]}}}]
""",
    )
    check(
        c,
        [
            ("x/api", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 0)"),
            ("x/other", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/api", "x/db", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )


@pytest.mark.parametrize("protocol", ["protocol: TCP, ", ""])
def test_v63_named_ports_with_and_without_protocol(protocol: str) -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/w1", "app=web", "10.0.1.61@n1", ports="http=8080/TCP"), pod("y/c", "", "10.0.2.1@n2")],
        calico_docs=V3
        + f"""kind: GlobalNetworkPolicy
metadata: {{name: web}}
spec:
  selector: "app == 'web'"
  ingress: [{{action: Allow, {protocol}destination: {{ports: [http]}}}}]
""",
    )
    check(
        c,
        [
            ("y/c", "x/w1", "TCP", 8080, "ALLOW", "in", "CALICO_ALLOW(default, web, 0)"),
            ("y/c", "x/w1", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/w1", "UDP", 8080, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )


def test_named_port_in_an_egress_rule_resolves_on_the_destination() -> None:
    """x/a's own https (443) is irrelevant; y/s's https is 8443; an external IP has no named ports."""
    c = cluster(
        ["x", "y"],
        [
            pod("x/a", "app=a", "10.0.1.1@n1", ports="https=443/TCP"),
            pod("y/s", "", "10.0.2.5@n2", ports="https=8443/TCP"),
            pod("y/t", "", "10.0.2.6@n2"),
        ],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: https-out}
spec:
  selector: "app == 'a'"
  egress: [{action: Allow, destination: {nets: [0.0.0.0/0], ports: [https]}}]
""",
    )
    check(
        c,
        [
            ("x/a", "93.184.216.34", "TCP", 443, "DENY", "eg", "END_OF_TIER(default)"),
            ("x/a", "y/s", "TCP", 8443, "ALLOW", "eg", "CALICO_ALLOW(default, https-out, 0)"),
            ("x/a", "y/s", "TCP", 443, "DENY", "eg", "END_OF_TIER(default)"),
            ("x/a", "y/t", "TCP", 443, "DENY", "eg", "END_OF_TIER(default)"),
        ],
    )


def test_source_ports_use_the_flow_source_port() -> None:
    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1@n1")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: src}
spec:
  selector: "app == 'a'"
  ingress: [{action: Allow, protocol: UDP, source: {ports: ['1024:65535'], notPorts: [40001]}}]
""",
    )
    check(
        c, [("203.0.113.1", "x/a", "UDP", 53, "ALLOW", "in", "CALICO_ALLOW(default, src, 0)")]
    )  # port 40000
    got, _, ing = decide(c, "203.0.113.1", "x/a", "UDP", 53, src_port=53)
    assert (got, reason(ing)) == ("DENY", "END_OF_TIER(default)")
    got, _, _ = decide(c, "203.0.113.1", "x/a", "UDP", 53, src_port=40001)
    assert got == "DENY"


# -- V38 (calico side) and the Kubernetes conversion (5.7) -----------------------------------------------


def test_v38_a_converted_rule_without_ports_matches_every_protocol() -> None:
    c = cluster(
        ["x", "y"],
        [
            pod("x/a", "app=a", "10.0.1.1@n1"),
            pod("x/b", "app=b", "10.0.1.2@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
        ],
        k8s=[
            k8s_policy("""
metadata: {name: a-from-all-pods, namespace: x}
spec: {podSelector: {matchLabels: {app: a}}, ingress: [{from: [{namespaceSelector: {}}]}]}"""),
            k8s_policy("""
metadata: {name: b-web-only, namespace: x}
spec: {podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{port: 80}]}]}"""),
        ],
    )
    check(
        c,
        [
            ("y/c", "x/a", "ICMP", (8, 0), "ALLOW", "in", "CALICO_ALLOW(default, a-from-all-pods, 0)"),
            ("y/c", "x/b", "ICMP", (8, 0), "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/a", "TCP", 22, "ALLOW", "in", "CALICO_ALLOW(default, a-from-all-pods, 0)"),
        ],
    )


def test_k8s_conversion_makes_one_rule_per_protocol_and_peer() -> None:
    np = k8s_policy("""
metadata: {name: mixed, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    - namespaceSelector: {}
      podSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}
    ports: [{port: 53, protocol: UDP}, {port: 53}, {port: dns-tcp}, {protocol: UDP, port: 5353}]
  egress:
  - ports: [{protocol: SCTP}, {protocol: SCTP, port: 9}]
""")
    p = convert_k8s_policy(np)
    assert (p.kind, p.tier, p.order, p.id) == ("KubernetesNetworkPolicy", "default", 1000.0, "x/mixed")
    assert str(p.selector) == 'projectcalico.org/orchestrator == "k8s" && app == "db"'
    assert p.types == frozenset({"Ingress", "Egress"})
    assert len(p.ingress) == 4  # 2 peers x 2 protocols
    first, second, third, fourth = p.ingress
    assert (first.protocol, [str(n) for n in first.source.nets], [str(n) for n in first.source.not_nets]) == (
        "UDP",
        ["172.17.0.0/16"],
        ["172.17.1.0/24"],
    )
    assert first.destination.ports == ((53, 53), (5353, 5353))
    assert (second.protocol, second.destination.ports) == ("TCP", ((53, 53), "dns-tcp"))
    assert str(third.source.namespace_selector) == "all()"
    assert str(third.source.selector) == 'projectcalico.org/orchestrator == "k8s" && env not in {"prod"}'
    assert {r.k8s_index for r in p.ingress} == {0}
    (egress,) = p.egress
    assert (egress.protocol, egress.destination.ports) == ("SCTP", ())  # a port-less entry opens them all


def test_label_selector_conversion_preserves_semantics() -> None:
    sel = LabelSelector(
        (
            Requirement("a", "In", frozenset({"1"})),
            Requirement("b", "In", frozenset({"1", "2"})),
            Requirement("c", "NotIn", frozenset({"1"})),
            Requirement("d", "Exists"),
            Requirement("e", "DoesNotExist"),
        )
    )
    calico_sel = label_selector_to_calico(sel)
    assert str(calico_sel) == 'a == "1" && b in {"1", "2"} && c not in {"1"} && has(d) && !has(e)'
    for lab in ({"a": "1", "b": "2", "d": ""}, {"a": "1", "b": "2", "d": "", "c": "1"}, {"a": "1"}, {}):
        assert calico_sel.evaluate(lab) == sel.matches(lab)
    assert label_selector_to_calico(LabelSelector()).is_all()


def test_k8s_policy_trace_shows_original_rules() -> None:
    np = k8s_policy("""
metadata: {name: db, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: fe}}}, {ipBlock: {cidr: 203.0.113.0/24}}]
    ports: [{port: 5432}, {protocol: UDP, port: 5432}]
  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]
""")
    c = cluster(
        ["x"], [pod("x/db", "app=db", "10.0.1.10@n1"), pod("x/fe", "role=fe", "10.0.1.11@n1")], k8s=[np]
    )
    got, _, ing = decide(c, "203.0.113.7", "x/db", "UDP", 5432)
    assert got == "ALLOW" and ing.deciding_rule == 0
    (trace,) = ing.policies
    assert trace.kind == "KubernetesNetworkPolicy" and trace.tier == "default" and trace.order == 1000.0
    assert [(r.index, r.matched) for r in trace.rules] == [(0, True)]
    got, _, ing = decide(c, "203.0.113.7", "x/db", "TCP", 80)
    assert got == "DENY"
    assert [(r.index, r.matched) for r in ing.policies[0].rules] == [(0, False), (1, False)]
    assert "203.0.113.7 is not a workload endpoint" in ing.policies[0].rules[1].why


def test_calico_sees_init_container_ports_and_pod_ip_nets() -> None:
    """ipBlock (as nets) matches pod IPs unless the knob turns it off."""
    np = k8s_policy("""
metadata: {name: to-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.2.2/32}}]}]
""")
    c = cluster(["x", "y"], [pod("x/a", "app=a", "10.0.1.1@n1"), pod("y/b", "", "10.0.2.2@n2")], k8s=[np])
    check(c, [("x/a", "y/b", "TCP", 80, "ALLOW", "eg", "CALICO_ALLOW(default, to-b, 0)")])
    off = Settings().with_options(ip_block_matches_pod_ips=False)
    check(c, [("x/a", "y/b", "TCP", 80, "DENY", "eg", "END_OF_TIER(default)")], off)


# -- V64 and the other special paths (5.8) -----------------------------------------------------------------


def test_v64_pod_to_own_node_and_endpoint_to_host_action() -> None:
    deny_egress = k8s_policy(
        "metadata: {name: deny-egress, namespace: x}\nspec: {podSelector: {}, policyTypes: [Egress]}"
    )
    c = cluster(["x"], [pod("x/a", "app=a", "10.0.1.1@n1")], k8s=[deny_egress])
    check(
        c,
        [
            ("x/a", "node:n1", "TCP", 10250, "DENY", "eg", "END_OF_TIER(default)"),
            ("node:n1", "x/a", "TCP", 8080, "ALLOW", "in", "HOST_TO_LOCAL_WORKLOAD"),
            ("node:n2", "x/a", "TCP", 8080, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
        ],
    )
    open_egress = k8s_policy(
        "metadata: {name: open, namespace: x}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}"
    )
    c = cluster(["x"], [pod("x/a", "app=a", "10.0.1.1@n1")], k8s=[open_egress])
    drop = Settings().with_options(default_endpoint_to_host_action="DROP")
    check(c, [("x/a", "node:n1", "TCP", 10250, "DENY", "eg", "ENDPOINT_TO_HOST_ACTION")], drop)
    check(c, [("x/a", "node:n2", "TCP", 10250, "ALLOW", "eg", "CALICO_ALLOW(default, open, 0)")], drop)
    for action in ("ACCEPT", "RETURN"):
        setting = Settings().with_options(default_endpoint_to_host_action=action)
        check(c, [("x/a", "node:n1", "TCP", 10250, "ALLOW", "eg", "CALICO_ALLOW(default, open, 0)")], setting)


def test_a_remote_node_is_matched_only_by_nets() -> None:
    c = cluster(
        ["x", "kube-system"],
        [pod("x/db", "app=db", "10.0.1.10@n1"), pod("kube-system/agent", "app=agent", "hostNetwork@n2")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: db}
spec:
  selector: "app == 'db'"
  ingress:
  - {action: Allow, source: {namespaceSelector: "kubernetes.io/metadata.name == 'kube-system'"}}
  - {action: Allow, protocol: TCP, source: {nets: [192.168.0.0/24]}, destination: {ports: [9100]}}
""",
    )
    check(
        c,
        [
            ("kube-system/agent", "x/db", "TCP", 8080, "DENY", "in", "END_OF_TIER(default)"),
            ("kube-system/agent", "x/db", "TCP", 9100, "ALLOW", "in", "CALICO_ALLOW(default, db, 1)"),
        ],
    )


# -- labels Calico selectors see (5.1) and policy applicability (5.4) ---------------------------------------


def test_policy_level_selectors_see_calico_labels_namespace_and_service_account_labels() -> None:
    c = cluster(
        [namespace("x", "team=a"), namespace("y", "team=b")],
        [
            pod("x/a", "", "10.0.1.1@n1", sa="api"),
            pod("x/b", "", "10.0.1.2@n1"),
            pod("y/c", "", "10.0.2.1@n2"),
        ],
        service_accounts=[ServiceAccount("x", "api", labels("tier=backend"))],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: by-labels}
spec:
  selector: "projectcalico.org/orchestrator == 'k8s' && pcns.team == 'a'"
  serviceAccountSelector: "tier == 'backend' && projectcalico.org/name == 'api'"
  types: [Ingress]
""",
    )
    check(
        c,
        [
            ("y/c", "x/a", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("y/c", "x/b", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.x)"),
            ("x/a", "y/c", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.y)"),
        ],
    )


def test_v66_gnp_namespace_selector_and_namespaced_scope() -> None:
    c = cluster(
        [namespace("x", "team=a"), namespace("y", "team=b")],
        [pod("x/a", "", "10.0.1.1@n1"), pod("y/b", "", "10.0.2.1@n2")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: iso-team-a}
spec: {namespaceSelector: "team == 'a'", types: [Ingress]}
---
"""
        + V3
        + """kind: NetworkPolicy
metadata: {name: tries-y, namespace: x}
spec: {selector: "projectcalico.org/namespace == 'y'", types: [Ingress]}
""",
    )
    check(
        c,
        [
            ("y/b", "x/a", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
            ("x/a", "y/b", "TCP", 80, "ALLOW", "in", "PROFILE_ALLOW(kns.y)"),
        ],
    )


def test_namespace_selectors_see_the_calico_name_label_and_global_matches_no_pod() -> None:
    c = cluster(
        ["x", "y"],
        [pod("x/a", "app=a", "10.0.1.1@n1"), pod("y/c", "", "10.0.2.1@n2")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: a}
spec:
  selector: "app == 'a'"
  ingress:
  - {action: Deny, source: {namespaceSelector: global()}}
  - {action: Allow, source: {namespaceSelector: "projectcalico.org/name == 'y'"}}
""",
    )
    check(c, [("y/c", "x/a", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, a, 1)")])


def test_order_ties_break_on_name_namespace_kind() -> None:
    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1@n1"), pod("x/b", "", "10.0.1.2@n1")],
        calico_docs="\n---\n".join(
            V3
            + f"""kind: {kind}
metadata: {{name: {name}, namespace: x}}
spec: {{order: 5, selector: "app == 'a'", ingress: [{{action: {action}}}]}}
"""
            for kind, name, action in (
                ("NetworkPolicy", "b", "Deny"),
                ("GlobalNetworkPolicy", "a", "Allow"),
                ("NetworkPolicy", "a", "Deny"),
            )
        ),
    )
    # "a//GlobalNetworkPolicy" < "a/x/NetworkPolicy" < "b/x/NetworkPolicy"
    check(c, [("x/b", "x/a", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, a, 0)")])
    _, _, ing = decide(c, "x/b", "x/a", "TCP", 80)
    assert ing.deciding_policy == "a" and [p.kind for p in ing.policies] == ["GlobalNetworkPolicy"]


def test_pod_without_ip_is_a_full_endpoint_but_no_nets_match_it() -> None:
    c = cluster(
        ["x"],
        [pod("x/db", "app=db", "10.0.1.10@n1"), pod("x/new", "role=fe", "@n1")],
        calico_docs=V3
        + """kind: NetworkPolicy
metadata: {name: db, namespace: x}
spec:
  selector: "app == 'db'"
  ingress:
  - {action: Deny, source: {nets: [0.0.0.0/0]}}
  - {action: Allow, source: {selector: "role == 'fe'"}}
""",
    )
    check(c, [("x/new", "x/db", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, db, 1)")])
    _, _, ing = decide(c, "x/new", "x/db", "TCP", 80)
    assert "has no IP address" in ing.policies[0].rules[0].why


def test_ip_version_uses_the_family_of_the_flow() -> None:
    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1|fd00::1@n1")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: v6-only}
spec:
  selector: "app == 'a'"
  ingress: [{action: Allow, ipVersion: 6}]
""",
    )
    check(
        c,
        [
            ("fd00:1::5", "x/a", "TCP", 80, "ALLOW", "in", "CALICO_ALLOW(default, v6-only, 0)"),
            ("203.0.113.5", "x/a", "TCP", 80, "DENY", "in", "END_OF_TIER(default)"),
        ],
    )


def test_decision_fields_and_trace_to_dict() -> None:
    c = cluster(["x"], DB3, calico_docs=V47.replace("ORDER", "200"))
    _, _, ing = decide(c, "x/u", "x/db", "TCP", 80)
    data = ing.to_dict()
    assert (
        data["verdict"],
        data["reason"],
        data["deciding_tier"],
        data["deciding_policy"],
        data["deciding_rule"],
    ) == (
        "DENY",
        "CALICO_DENY",
        "default",
        "deny-untrusted",
        0,
    )
    assert data["isolated"] is True
    assert data["detail"] == "ingress rule 0 of GlobalNetworkPolicy deny-untrusted in tier default denies it"
    assert "CALICO_DENY" not in data["detail"]  # the code is data["reason"]; the detail is words
    (pol,) = data["policies"]
    assert (pol["tier"], pol["order"], pol["outcome"]) == ("default", 100.0, "denies (rule 0)")
    assert pol["rules"][0]["matched"] and "role ==" in pol["rules"][0]["why"]


# -- out of scope (0.3): http, services, network sets and host endpoints -------------------------------------


def test_http_rule_that_can_change_the_verdict_is_unsupported() -> None:
    docs = (
        V3
        + """kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: "app == 'web'"
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}, http: {methods: [GET]}}
  - {action: RULE2}
"""
    )
    pods = [pod("x/w", "app=web", "10.0.1.1@n1"), pod("x/c", "", "10.0.1.2@n1")]
    c = cluster(["x"], pods, calico_docs=docs.replace("RULE2", "Deny"))
    got, _, ing = decide(c, "x/c", "x/w", "TCP", 80)
    assert got == "UNSUPPORTED" and ing.approximate
    assert ing.reason == "CALICO_ALLOW"  # the trace follows the rule with the http match ignored
    assert any("http" in w for w in ing.warnings)
    # The http rule's ports do not match port 22, so it cannot decide that flow.
    got, _, ing = decide(c, "x/c", "x/w", "TCP", 22)
    assert (got, ing.approximate) == ("DENY", False)
    # When the next rule allows anyway, the verdict stands but is marked approximate.
    c = cluster(["x"], pods, calico_docs=docs.replace("RULE2", "Allow"))
    got, _, ing = decide(c, "x/c", "x/w", "TCP", 80)
    assert (got, ing.approximate) == ("ALLOW", True)


def test_services_match_is_unsupported_when_it_decides() -> None:
    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1@n1")],
        calico_docs=V3
        + """kind: GlobalNetworkPolicy
metadata: {name: svc}
spec:
  selector: "app == 'a'"
  egress: [{action: Allow, destination: {services: {name: api, namespace: x}}}]
""",
    )
    got, eg, _ = decide(c, "x/a", "203.0.113.1", "TCP", 443)
    assert got == "UNSUPPORTED" and eg.approximate


def test_network_set_covering_a_peer_makes_selector_verdicts_unsupported() -> None:
    docs = (
        V3
        + """kind: GlobalNetworkSet
metadata: {name: partners, labels: {role: partner}}
spec: {nets: [198.51.100.0/24]}
---
"""
        + V3
        + """kind: GlobalNetworkPolicy
metadata: {name: db}
spec:
  selector: "app == 'db'"
  ingress:
  - {action: Allow, source: {selector: "role == 'partner'"}}
  - {action: Allow, protocol: TCP, source: {nets: [203.0.113.0/24]}, destination: {ports: [80]}}
"""
    )
    c = cluster(["x"], [pod("x/db", "app=db", "10.0.1.10@n1")], calico_docs=docs)
    got, _, ing = decide(c, "198.51.100.7", "x/db", "TCP", 80)
    assert got == "UNSUPPORTED" and "GlobalNetworkSet partners" in ing.detail
    # Outside the set nothing changes, and a nets-only rule is exact.
    assert verdict_of(c, "192.0.2.1", "x/db") == "DENY"
    assert verdict_of(c, "203.0.113.9", "x/db") == "ALLOW"


def test_host_endpoint_on_a_peer_node_makes_an_allow_unsupported() -> None:
    docs = (
        V3
        + """kind: HostEndpoint
metadata: {name: n2-eth0, labels: {role: host}}
spec: {node: n2, interfaceName: eth0, expectedIPs: [192.168.0.2]}
"""
    )
    c = cluster(["x"], [pod("x/a", "app=a", "10.0.1.1@n1")], calico_docs=docs)
    got, eg, _ = decide(c, "x/a", "node:n2", "TCP", 10250)
    assert got == "UNSUPPORTED" and "HostEndpoint n2-eth0" in eg.detail
    assert verdict_of(c, "x/a", "203.0.113.1") == "ALLOW"


def verdict_of(c: Cluster, src: str, dst: str) -> str:
    return decide(c, src, dst, "TCP", 80)[0]


def test_calico_decision_needs_a_pod_end() -> None:
    c = cluster(["x"], [pod("x/a", "", "10.0.1.1@n1")])
    flow = make_flow(c, "203.0.113.1", "x/a", protocol="TCP", port=80)
    with pytest.raises(ValueError):
        calico_decision(c, flow, "Egress", Settings())


def test_the_index_cache_does_not_keep_clusters_alive() -> None:
    import gc

    from policies.engine.calico import index as module

    c = cluster(["x"], [pod("x/a", "", "10.0.1.1@n1")])
    index = module.calico_index(c)
    assert module.calico_index(c) is index
    key = id(c)
    del c, index
    gc.collect()
    assert key not in module._INDEXES
