"""Explanations: the sentence, per-direction traces, and the reason each rule gives."""

from __future__ import annotations

import pytest

from policies.engine import PolicyError, explain, parse_files

CLUSTER = """
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: x, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: c, image: i, ports: [{name: pg, containerPort: 5432}]}]}
status: {podIP: 10.0.1.10, podIPs: [{ip: 10.0.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: x, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.1.11, podIPs: [{ip: 10.0.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system, labels: {app: agent}}
spec: {hostNetwork: true, nodeName: n1, containers: [{name: c, image: i}]}
status: {podIP: 192.168.0.1, hostIP: 192.168.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: pg}]
  - from: [{ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}}]
"""


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    return parse_files([("c.yaml", CLUSTER)]).cluster


def test_allowed_flow_names_the_deciding_rule(cluster) -> None:  # type: ignore[no-untyped-def]
    exp = explain(cluster, "x/web", "x/db", port=5432)
    assert exp.summary == "Allowed: x/web may reach x/db on TCP 5432."
    ing = exp.result.ingress
    assert (ing.reason, ing.deciding_policy, ing.deciding_rule) == ("RULE_ALLOW", "x/db", 0)
    (trace,) = ing.policies
    assert trace.source.file == "c.yaml" and trace.source.line == 25
    assert trace.rules[0].matched and "x/db port 'pg' is TCP 5432" in trace.rules[0].why
    assert not trace.rules[1].matched and "10.0.1.11 is outside ipBlock" in trace.rules[1].why


def test_named_port_mismatch_is_explained(cluster) -> None:  # type: ignore[no-untyped-def]
    exp = explain(cluster, "x/web", "x/db", port=80)
    assert exp.verdict == "DENY"
    assert "x/db port 'pg' is 5432, the flow goes to 80" in exp.result.ingress.policies[0].rules[0].why


def test_except_is_explained_for_an_external_source(cluster) -> None:  # type: ignore[no-untyped-def]
    exp = explain(cluster, "172.17.1.9", "x/db", port=1)
    assert exp.verdict == "DENY"
    assert exp.result.egress.verdict == "NOT_APPLICABLE"
    assert "172.17.1.9 is in an except of ipBlock 172.17.0.0/16 except 172.17.1.0/24" in \
        exp.result.ingress.policies[0].rules[1].why
    assert explain(cluster, "172.17.2.9", "x/db", port=1).allowed


def test_host_network_pod_is_node_traffic(cluster) -> None:  # type: ignore[no-untyped-def]
    exp = explain(cluster, "kube-system/agent", "x/db", port=5432)
    assert exp.allowed and exp.result.ingress.reason == "NODE_INGRESS_EXEMPT"
    assert exp.result.flow.src.kind == "node"
    text = exp.to_text()
    assert "own node n1" in text


def test_non_l4_protocol_toward_isolated_pod_is_undefined(cluster) -> None:  # type: ignore[no-untyped-def]
    exp = explain(cluster, "x/web", "x/db", protocol="ICMP", icmp_type=8, icmp_code=0)
    assert exp.verdict == "UNDEFINED" and exp.result.ingress.reason == "UNDEFINED_PROTOCOL"
    assert exp.summary.startswith("Undefined:")
    assert explain(cluster, "x/db", "x/web", protocol="ICMP").allowed  # x/web is not isolated


def test_to_dict_is_json_ready_and_complete(cluster) -> None:  # type: ignore[no-untyped-def]
    import json

    data = json.loads(json.dumps(explain(cluster, "x/web", "x/db", port=5432).to_dict()))
    assert set(data) >= {"allowed", "verdict", "summary", "flow", "egress", "ingress"}
    assert data["ingress"]["policies"][0]["rules"][0]["line"] > data["ingress"]["policies"][0]["source"]["line"]


@pytest.mark.parametrize("src, dst, kwargs, needle", [
    ("x/nope", "x/db", {"port": 1}, "unknown pod"),
    ("x/web", "x/db", {}, "needs a destination port"),
    ("x/web", "x/db", {"port": 70000}, "outside 1-65535"),
    ("x/web", "x/db", {"port": 1, "protocol": "FOO"}, "unknown protocol"),
    ("1.2.3.4", "8.8.8.8", {"port": 1}, "neither end is in the cluster"),
])
def test_bad_flows_are_policy_errors(cluster, src, dst, kwargs, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match=needle):
        explain(cluster, src, dst, **kwargs)


ADMIN = """
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {tenant: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y, labels: {app: b}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: y}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: tenant-a}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {tenant: a}}}
  ingress: [{action: Allow, from: [{namespaces: {}}]}]
"""


def test_admin_network_policy_decides_before_network_policy_and_is_explained() -> None:
    """x/a <-- anything (Admin tier Allow); y/b's egress stays denied by its NetworkPolicy."""
    from policies.engine import build_graph

    cluster = parse_files([("a.yaml", ADMIN)]).cluster
    from_b = explain(cluster, "y/b", "x/a", port=80)
    ingress = from_b.result.ingress
    assert ingress.verdict == "ALLOW" and ingress.reason == "ADMIN_ACCEPT" and ingress.deciding_tier == "Admin"
    assert ingress.deciding_policy == "AdminNetworkPolicy/tenant-a"
    (trace,) = ingress.policies
    assert (trace.tier, trace.priority, trace.rules[0].action) == ("Admin", 10, "Allow")
    # y/b's own egress is denied by a NetworkPolicy, which no admin policy on x/a can undo.
    assert from_b.verdict == "DENY" and from_b.result.egress.reason == "NO_MATCH"
    # namespaces peers match pods only: an external source falls through to the default.
    outside = explain(cluster, "8.8.8.8", "x/a", port=80).result.ingress
    assert outside.reason == "NOT_ISOLATED" and "no Admin-tier rule matched" in outside.detail
    nodes = {n["id"]: n for n in build_graph(cluster).to_dict()["nodes"]}
    assert nodes["x/a"]["admin_policies"] == ["AdminNetworkPolicy tenant-a (Admin tier, priority 10)"]
    assert "admin_policies" not in nodes["y/b"] and "unsupported" not in nodes["x/a"]


WORKLOAD = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: api-1, namespace: x}
spec: {template: {metadata: {labels: {app: api}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-1-a
  namespace: x
  labels: {app: api-canary}
  ownerReferences: [{kind: ReplicaSet, name: api-1, controller: true}]
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-1-b
  namespace: x
  labels: {app: api}
  ownerReferences: [{kind: ReplicaSet, name: api-1, controller: true}]
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: x, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-stable, namespace: x}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-closed, namespace: x}
spec:
  podSelector: {matchLabels: {app: api-canary}}
  ingress: []
"""


def test_workload_explanation_agrees_with_the_workload_graph() -> None:
    """The canary pod (first by name) is closed but the stable one is open: the workload edge exists,
    so the explanation shows the allowed pod pair and says so."""
    from policies.engine import build_graph

    cluster = parse_files([("w.yaml", WORKLOAD)]).cluster
    graph = build_graph(cluster, level="workload")
    assert graph.allows("x/Pod/client", "x/ReplicaSet/api-1", "TCP", 80)
    exp = explain(cluster, "x/Pod/client", "x/ReplicaSet/api-1", port=80)
    assert exp.allowed
    assert exp.result.flow.dst.id == "x/api-1-b"
    assert "stands for 1 x 2 pods" in exp.summary
    # A single pod keeps its own verdict.
    assert explain(cluster, "x/client", "x/api-1-a", port=80).verdict == "DENY"
