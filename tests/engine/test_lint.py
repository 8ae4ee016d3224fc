"""Lint findings: each code fires on the mistake it names and stays quiet on correct policies."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from policies.engine import ConnectionSet, lint, parse_files
from policies.engine.cluster import ContainerPort, Labels, Pod
from policies.engine.groups import GroupIndex, address_sets
from policies.engine.model import Cluster
from policies.engine.options import DEFAULT_SETTINGS

from .k8s_tables import k8s_table
from .randomclusters import random_cluster

NAMESPACE_AND_PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: i, ports: [{name: grpc, containerPort: 9090}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, image: i, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]}
"""


def codes(policies: str) -> set[tuple[str, str]]:
    cluster = parse_files([("in.yaml", NAMESPACE_AND_PODS + "---\n" + policies)]).cluster
    return {(f.code, f.policy) for f in lint(cluster)}


def np(name: str, spec: str) -> str:
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\n" \
           f"spec: {spec}\n"


@pytest.mark.parametrize("policy, expected", [
    (np("typo", "{podSelector: {matchLabels: {app: wbe}}, policyTypes: [Ingress]}"), ("NP001", "shop/typo")),
    (np("nobody", "{podSelector: {matchLabels: {app: web}}, "
        "ingress: [{from: [{podSelector: {matchLabels: {app: x}}}]}]}"), ("NP002", "shop/nobody")),
    (np("port", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: grpc}]}]}"),
     ("NP003", "shop/port")),
    (np("udp-name", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http, protocol: UDP}]}]}"),
     ("NP003", "shop/udp-name")),
    (np("egress-port", "{podSelector: {matchLabels: {app: web}}, "
        "egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: http}]}]}"),
     ("NP003", "shop/egress-port")),
    (np("no-dns", "{podSelector: {}, policyTypes: [Egress]}"), ("NP005", "shop/no-dns")),
])
def test_each_finding_fires(policy: str, expected: tuple[str, str]) -> None:
    assert expected in codes(policy)


def test_correct_policies_have_no_findings() -> None:
    found = codes(np("web", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http}]}]}") + "---\n" +
                  np("egress", "{podSelector: {}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: "
                     "{matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: "
                     "{k8s-app: kube-dns}}}], ports: [{port: 53, protocol: UDP}]}, {to: [{podSelector: {}}]}]}"))
    assert found == set()


def test_redundant_policy_is_reported_and_the_needed_one_is_not() -> None:
    """allow-all already allows what allow-http allows, and both isolate web: allow-http is redundant."""
    found = codes(np("allow-all", "{podSelector: {matchLabels: {app: web}}, ingress: [{}]}") + "---\n" +
                  np("allow-http", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 8080}]}]}"))
    assert ("NP004", "shop/allow-http") in found
    assert ("NP004", "shop/allow-all") not in found


def test_an_overlapped_default_deny_is_not_advice_to_delete_it() -> None:
    cluster = parse_files([("in.yaml", NAMESPACE_AND_PODS + "---\n" +
                            np("default-deny", "{podSelector: {}, policyTypes: [Ingress]}") + "---\n" +
                            np("all-pods", "{podSelector: {}, ingress: [{ports: [{port: 8080}]}]}"))]).cluster
    (finding,) = [f for f in lint(cluster) if f.code == "NP004"]
    assert finding.policy == "shop/default-deny"
    assert finding.message.startswith("namespace shop's default deny (ingress): today all-pods already isolate")
    assert "keep it" in finding.message


def test_an_overlapped_policy_names_what_overlaps_it() -> None:
    cluster = parse_files([("in.yaml", NAMESPACE_AND_PODS + "---\n" +
                            np("allow-all", "{podSelector: {matchLabels: {app: web}}, ingress: [{}]}") + "---\n" +
                            np("allow-http", "{podSelector: {matchLabels: {app: web}}, "
                               "ingress: [{ports: [{port: 8080}]}]}"))]).cluster
    (finding,) = [f for f in lint(cluster) if f.code == "NP004"]
    assert finding.message.startswith("overlapped by allow-all: they already isolate these pods")


def test_findings_carry_file_and_line() -> None:
    cluster = parse_files([("in.yaml", NAMESPACE_AND_PODS + "---\n" +
                            np("typo", "{podSelector: {matchLabels: {app: wbe}}}"))]).cluster
    (finding,) = [f for f in lint(cluster) if f.code == "NP001"]
    assert finding.source.file == "in.yaml" and finding.source.line == 21
    assert finding.to_dict()["severity"] == "warning"


CALICO = """
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: gate}
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: ["80:90"]}}
  - {action: Deny, protocol: TCP, destination: {ports: [85]}}
  - {action: Deny, protocol: UDP, destination: {ports: [85]}}
  - action: Pass
"""


def test_calico_shadowed_rule_and_pass_without_later_tier() -> None:
    found = {(f.code, f.source.line) for f in lint(parse_files([("c.yaml", CALICO)]).cluster)}
    assert ("CP002", 16) in found  # TCP 85 is inside the earlier TCP 80:90 Allow
    assert ("CP002", 17) not in found  # UDP is not covered by a TCP rule
    assert ("CP005", 18) in found


def test_pass_with_a_later_tier_is_fine() -> None:
    text = CALICO.replace("  order: 10\n", "  order: 10\n  tier: security\n") + """---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: later}
spec: {selector: all(), types: [Ingress], ingress: [{action: Allow}]}
"""
    codes = {f.code for f in lint(parse_files([("c.yaml", text)]).cluster)}
    assert "CP005" not in codes


def _redundant_by_removal(cluster: Cluster) -> set[str]:
    """NP004 by definition: rebuild the index without each policy and compare the tables of the
    groups it selects (the quadratic check the linear one replaced)."""
    index = GroupIndex(cluster, DEFAULT_SETTINGS)
    out = set()
    for pol in cluster.policies:
        selected = [g for g in index.groups if index.k8s_policies(g, "Ingress") + index.k8s_policies(g, "Egress")
                    and pol in index.k8s_policies(g, "Ingress") + index.k8s_policies(g, "Egress")]
        if not selected:
            continue
        others = tuple(p for p in cluster.policies if p is not pol)
        reduced = GroupIndex(replace(cluster, policies=others), DEFAULT_SETTINGS, address_sets(cluster),
                             grouping_of=index)  # the same groups, so that their tables compare
        same = True
        for g in selected:
            for direction in pol.policy_types:
                full = k8s_table(index, g, direction)
                part = k8s_table(reduced, reduced.groups[g.index], direction)
                keys = set(full.overrides) | set(part.overrides)
                if (full.isolated, full.default) != (part.isolated, part.default) or any(
                        full.get(k) != part.get(k) for k in keys):
                    same = False
        if same:
            out.add(pol.id)
    return out


def _with_overlaps(cluster: Cluster, seed: int) -> Cluster:
    """The cluster plus copies of some of its policies, some with their rules cut: many redundant."""
    rng = random.Random(seed)
    extra = []
    for i, pol in enumerate(cluster.policies):
        if rng.random() < 0.5:
            ingress = pol.ingress[: rng.randint(0, len(pol.ingress))]
            extra.append(replace(pol, name=f"{pol.name}-copy{i}", ingress=ingress))
    return replace(cluster, policies=cluster.policies + tuple(extra))


@pytest.mark.parametrize("seed", range(60))
def test_redundancy_is_the_same_as_removing_each_policy(seed: int) -> None:
    cluster = random_cluster(seed)
    if seed % 2:
        cluster = _with_overlaps(cluster, seed)
    found = {f.policy for f in lint(cluster) if f.code == "NP004"}
    assert found == _redundant_by_removal(cluster)


@pytest.mark.parametrize("seed", range(12))
def test_redundancy_on_dense_clusters(seed: int) -> None:
    """Many label combinations and rules across namespaces: many groups share a signature."""
    cluster = _with_overlaps(random_cluster(seed, noise=True, size=(20, 35), policies=(6, 14)), seed)
    found = {f.policy for f in lint(cluster) if f.code == "NP004"}
    assert found == _redundant_by_removal(cluster)


def _with_dns(cluster: Cluster, seed: int) -> Cluster:
    """The cluster plus one or two cluster DNS pods (CoreDNS's ports), in a random namespace."""
    rng = random.Random(seed)
    dns = []
    for i in range(rng.randint(1, 2)):
        ports = (ContainerPort("dns", 53, "UDP"), ContainerPort("dns-tcp", 53, "TCP"))[: rng.randint(1, 2)]
        dns.append(Pod(rng.choice(["x", "y", "z"]), f"coredns-{i}", Labels({"k8s-app": "kube-dns"}),
                       (ipaddress.ip_address(f"10.0.9.{i + 1}"),), "n1", ports=ports))
    return replace(cluster, pods=tuple(sorted(cluster.pods + tuple(dns), key=lambda p: (p.namespace, p.name))))


def _dns_blocked_by_tables(cluster: Cluster) -> set[str]:
    """NP005 from each group's egress table (the per-group check the signature one replaced)."""
    index = GroupIndex(cluster, DEFAULT_SETTINGS)
    dns = [g.index for g in index.groups if any(p.labels.get("k8s-app") == "kube-dns" for p in g.pods)]
    udp53 = ConnectionSet.protocol("UDP", 53, 53)
    out = set()
    for g in index.groups:
        table = k8s_table(index, g, "Egress")
        if table.isolated and not any(udp53 & table.get(d) == udp53 for d in dns):
            out.update(np_.id for np_ in index.k8s_policies(g, "Egress"))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_dns_findings_are_the_groups_whose_egress_tables_miss_dns(seed: int) -> None:
    cluster = _with_dns(random_cluster(seed, noise=seed % 2 == 1, size=(8, 25), policies=(2, 10)), seed)
    found = {f.policy for f in lint(cluster) if f.code == "NP005"}
    assert found == _dns_blocked_by_tables(cluster)
