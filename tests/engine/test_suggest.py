"""Each suggestion applied to the manifests and evaluated again: the denied flow becomes allowed, the
allowed one denied (SEMANTICS.md-style cases: ingress-isolated, egress-isolated, both sides, named
ports, ipBlocks, Calico Deny, AdminNetworkPolicy Deny, nothing isolated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from policies.engine import explain, parse_files
from policies.engine.suggest import Suggestion, suggest, workload_labels

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: prod, labels: {app: web, tier: front, pod-template-hash: abc}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: prod, labels: {app: web, tier: front, pod-template-hash: def}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: prod, labels: {app: db, tier: back}}
spec: {containers: [{name: c, ports: [{name: postgres, containerPort: 5432}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: cache, namespace: prod, labels: {app: cache, tier: back}}
status: {podIP: 10.0.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: intruder, namespace: other, labels: {app: intruder}}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: other, labels: {app: tool}}
status: {podIP: 10.1.0.2}
"""

DENY_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: prod}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""

DB_FROM_WEB = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: postgres}, {port: 9187}]
"""

DENY_EGRESS_OTHER = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-egress, namespace: other}
spec: {podSelector: {}, policyTypes: [Egress]}
"""

FROM_OFFICE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cache, namespace: prod}
spec:
  podSelector: {matchLabels: {app: cache}}
  ingress:
  - from: [{ipBlock: {cidr: 10.1.0.0/16}}]
    ports: [{port: 6379}]
"""

CALICO_DENY = """
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: no-other-to-prod}
spec:
  order: 10
  selector: projectcalico.org/namespace == 'prod'
  types: [Ingress]
  ingress:
  - action: Deny
    source: {namespaceSelector: projectcalico.org/name == 'other'}
  - action: Pass
"""

CALICO_TIER = """
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.db-clients}
spec:
  tier: security
  order: 10
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {selector: app == 'web'}
"""

ANP_DENY = """
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: protect-db}
spec:
  priority: 5
  subject: {pods: {namespaceSelector: {matchLabels: {env: prod}}, podSelector: {matchLabels: {app: db}}}}
  ingress:
  - name: no-other
    action: Deny
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: other}}}]
"""


@dataclass(frozen=True)
class Case:
    name: str
    policies: tuple[str, ...]
    src: str
    dst: str
    port: int
    allowed: bool  # the verdict before
    actions: tuple[str, ...]  # the suggested changes' actions
    verified: bool = True


CASES = [
    Case("ingress-isolated", (DENY_INGRESS, DB_FROM_WEB), "other/intruder", "prod/db", 5432, False, ("add-rule",)),
    Case("ingress-isolated, same namespace", (DENY_INGRESS,), "prod/cache", "prod/web-1", 8080, False,
         ("add-rule",)),
    Case("egress-isolated", (DENY_EGRESS_OTHER,), "other/intruder", "prod/db", 5432, False, ("add-rule",)),
    Case("both sides", (DENY_INGRESS, DENY_EGRESS_OTHER), "other/intruder", "prod/db", 5432, False,
         ("add-rule", "add-rule")),
    Case("named port, other port", (DENY_INGRESS, DB_FROM_WEB), "prod/web-1", "prod/db", 6432, False,
         ("add-rule",)),
    Case("external source", (DENY_INGRESS,), "203.0.113.7", "prod/db", 443, False, ("add-rule",)),
    Case("Calico Deny", (CALICO_DENY,), "other/intruder", "prod/db", 5432, False, ("change-deny",), False),
    Case("Calico tier ends in a deny", (CALICO_TIER, DENY_INGRESS), "other/intruder", "prod/db", 5432, False,
         ("change-deny",), False),
    Case("Calico default tier, Kubernetes policy", (CALICO_TIER, DENY_INGRESS), "other/intruder", "prod/cache",
         6379, False, ("add-rule",)),
    Case("AdminNetworkPolicy Deny", (ANP_DENY,), "other/intruder", "prod/db", 5432, False, ("change-deny",), False),
    Case("allowed by a rule, named port", (DENY_INGRESS, DB_FROM_WEB), "prod/web-1", "prod/db", 5432, True,
         ("edit-rule",)),
    Case("allowed by an ipBlock", (DENY_INGRESS, FROM_OFFICE), "other/tool", "prod/cache", 6379, True,
         ("edit-rule",)),
    Case("nothing isolates", (), "other/intruder", "prod/db", 5432, True, ("add-policy",)),
    Case("Calico allows", (CALICO_DENY,), "prod/web-1", "prod/db", 5432, True, ("add-policy",)),
    Case("allowed on egress rules only", (DENY_EGRESS_OTHER.replace(
        "policyTypes: [Egress]}", "policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}], "
        "ports: [{port: 5432}, {port: 53, protocol: UDP}]}]}"),), "other/intruder", "prod/db", 5432, True,
        ("edit-rule",)),
]


def documents(case: Case) -> list[dict[str, Any]]:
    return [d for text in (PODS, *case.policies) for d in yaml.safe_load_all(text) if d]


def evaluate_text(docs: list[dict[str, Any]], case: Case) -> bool:
    cluster = parse_files([("cluster.yaml", yaml.safe_dump_all(docs))]).cluster
    return explain(cluster, case.src, case.dst, port=case.port).allowed


def apply(docs: list[dict[str, Any]], suggestion: Suggestion) -> list[dict[str, Any]]:
    """The suggestion's YAML written into the manifests, as a user would."""
    out = [dict(d) for d in docs]
    removals: list[tuple[dict[str, Any], str, int]] = []
    for change in suggestion.changes:
        if change.action == "add-policy":
            out.append(yaml.safe_load(change.yaml))
            continue
        namespace, name = change.policy.split("/")
        doc = next(d for d in out if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name
                   and d["metadata"]["namespace"] == namespace)
        key = change.direction.lower()
        rules = doc["spec"].setdefault(key, [])
        if change.action == "add-rule":
            rules.extend(yaml.safe_load(change.yaml))
        elif change.action == "edit-rule":
            assert change.rule is not None
            rules[change.rule] = yaml.safe_load(change.yaml)[0]
        elif change.action == "remove-rule":
            assert change.rule is not None
            removals.append((doc, key, change.rule))
    for doc, key, index in sorted(removals, key=lambda r: -r[2]):
        del doc["spec"][key][index]
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_suggestion_turns_the_verdict(case: Case) -> None:
    docs = documents(case)
    cluster = parse_files([("cluster.yaml", yaml.safe_dump_all(docs))]).cluster
    explanation = explain(cluster, case.src, case.dst, port=case.port)
    assert explanation.allowed is case.allowed
    suggestion = suggest(cluster, explanation.result)
    assert tuple(c.action for c in suggestion.changes) == case.actions, suggestion
    assert suggestion.verified is case.verified
    assert suggestion.goal == ("deny" if case.allowed else "allow")
    if case.verified:
        assert evaluate_text(apply(docs, suggestion), case) is not case.allowed
    else:
        # A Deny rule decides: the suggestion names it and adds no Allow that it would still override.
        change = suggestion.changes[0]
        assert change.yaml == "" and change.policy
        assert change.rule == 0 or "ends in a deny" in change.text
        assert evaluate_text(docs, case) is case.allowed


def test_the_rule_selects_the_source_workload_by_the_labels_policies_read() -> None:
    case = CASES[0]
    cluster = parse_files([("c.yaml", yaml.safe_dump_all(documents(case)))]).cluster
    web = next(p for p in cluster.pods if p.name == "web-1")
    assert workload_labels(cluster, web) == {"app": "web"}  # read by db's policy; never the template hash
    suggestion = suggest(cluster, explain(cluster, "other/intruder", "prod/db", port=5432).result)
    rule = yaml.safe_load(suggestion.changes[0].yaml)[0]
    assert rule == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                              "podSelector": {"matchLabels": {"app": "intruder"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}]}
    # The rule goes to the narrower policy (db's), which opens nothing else; the namespace's
    # default-deny would open TCP 5432 from intruder to every pod of prod.
    assert suggestion.changes[0].policy == "prod/db"
    assert suggestion.others is not None and suggestion.others.count == 0


def test_what_else_a_rule_opens_is_listed_by_workload() -> None:
    case = CASES[1]  # cache -> web-1 on 8080: only the default-deny isolates web
    cluster = parse_files([("c.yaml", yaml.safe_dump_all(documents(case)))]).cluster
    suggestion = suggest(cluster, explain(cluster, "prod/cache", "prod/web-1", port=8080).result)
    assert suggestion.changes[0].policy == "prod/default-deny"
    others = suggestion.others
    assert others is not None and others.complete
    # The rule sits in a policy that selects every pod of prod: cache may now reach db and the
    # other web pod (a bare pod, its own workload) on 8080 too.
    assert others.count == 2
    assert others.first == ("prod/Pod/cache -> prod/Pod/db", "prod/Pod/cache -> prod/Pod/web-2")


def test_a_rule_for_an_address_says_which_other_pods_it_opens_to_that_address() -> None:
    case = CASES[5]  # 203.0.113.7 -> prod/db on 443, prod's default-deny isolates every pod
    cluster = parse_files([("c.yaml", yaml.safe_dump_all(documents(case)))]).cluster
    suggestion = suggest(cluster, explain(cluster, case.src, case.dst, port=case.port).result)
    assert yaml.safe_load(suggestion.changes[0].yaml)[0]["from"] == [{"ipBlock": {"cidr": "203.0.113.7/32"}}]
    others = suggestion.others
    assert others is not None
    assert others.first == ("203.0.113.7 -> prod/Pod/cache", "203.0.113.7 -> prod/Pod/web-1",
                            "203.0.113.7 -> prod/Pod/web-2")


def test_icmp_to_an_isolated_pod_gets_no_rule() -> None:
    case = CASES[0]
    cluster = parse_files([("c.yaml", yaml.safe_dump_all(documents(case)))]).cluster
    result = explain(cluster, "other/intruder", "prod/db", protocol="ICMP").result
    suggestion = suggest(cluster, result)
    assert suggestion.changes == () and not suggestion.verified
    assert "cannot" in suggestion.summary or "undefined" in suggestion.summary
