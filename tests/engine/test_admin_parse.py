"""Validation and defaulting of AdminNetworkPolicy, BaselineAdminNetworkPolicy and
ClusterNetworkPolicy as the CRDs do them (docs/admin-policies.md section 2)."""

from __future__ import annotations

import textwrap

import pytest

from policies.engine import PolicyError, parse_files

ANP = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp}
spec:
  priority: 10
  subject: {namespaces: {}}
"""
CNP = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cnp}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {}}
"""


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_files([("p.yaml", textwrap.dedent(text))])


# (name, manifest, field path, words of the message, line)
INVALID = [
    ("priority above 1000", ANP.replace("priority: 10", "priority: 1001"), "spec.priority", "outside 0-1000", 5),
    ("priority missing", ANP.replace("  priority: 10\n", ""), "spec.priority", "priority is required", 4),
    ("no subject", ANP.replace("  subject: {namespaces: {}}\n", ""), "spec.subject", "subject is required", 4),
    ("two subjects", ANP.replace("{namespaces: {}}", "{namespaces: {}, pods: {podSelector: {}}}"), "spec.subject",
     "exactly one field", 6),
    ("bad action", ANP + "  ingress: [{action: Accept, from: [{namespaces: {}}]}]\n", "spec.ingress[0].action",
     "one of Allow, Deny, Pass", 7),
    ("CNP takes Accept not Allow", CNP + "  ingress: [{action: Allow, from: [{namespaces: {}}]}]\n",
     "spec.ingress[0].action", "one of Accept, Deny, Pass", 8),
    ("no peers", ANP + "  egress: [{action: Deny, to: []}]\n", "spec.egress[0].to", "at least one peer", 7),
    ("ingress from networks", ANP + "  ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]\n",
     "spec.ingress[0].from[0]", "exactly one field", 7),
    ("two peer fields", ANP + "  egress:\n  - action: Deny\n    to: [{namespaces: {}, networks: [10.0.0.0/8]}]\n",
     "spec.egress[0].to[0]", "exactly one field", 9),
    ("bad CIDR", ANP + "  egress: [{action: Deny, to: [{networks: [10.0.0.0/33]}]}]\n",
     "spec.egress[0].to[0].networks[0]", "Invalid CIDR format", 7),
    ("address without prefix", ANP + "  egress: [{action: Deny, to: [{networks: [10.0.0.1]}]}]\n",
     "spec.egress[0].to[0].networks[0]", "Invalid CIDR format", 7),
    ("bad domain", ANP + "  egress: [{action: Allow, to: [{domainNames: [\"ex*.com\"]}]}]\n",
     "spec.egress[0].to[0].domainNames[0]", "not a domain name", 7),
    ("baseline has no domainNames", ANP.replace("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
     .replace("name: anp", "name: default").replace("  priority: 10\n", "")
     + "  egress: [{action: Allow, to: [{domainNames: [a.example.com]}]}]\n", "spec.egress[0].to[0]",
     "exactly one field", 6),
    ("baseline name", ANP.replace("AdminNetworkPolicy", "BaselineAdminNetworkPolicy").replace("  priority: 10\n", ""),
     "metadata.name", 'metadata.name="default"', 3),
    ("baseline has no Pass", ANP.replace("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")
     .replace("name: anp", "name: default").replace("  priority: 10\n", "")
     + "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n", "spec.ingress[0].action", "one of Allow, Deny", 6),
    ("port out of range", ANP + "  ingress: [{action: Deny, from: [{namespaces: {}}], "
     "ports: [{portNumber: {port: 0}}]}]\n",
     "spec.ingress[0].ports[0].portNumber.port", "outside 1-65535", 7),
    ("bad protocol", ANP + "  ingress: [{action: Deny, from: [{namespaces: {}}], "
     "ports: [{portNumber: {protocol: ICMP, port: 1}}]}]\n", "spec.ingress[0].ports[0].portNumber.protocol",
     "TCP, UDP or SCTP", 7),
    ("two port kinds", ANP + "  ingress: [{action: Deny, from: [{namespaces: {}}], "
     "ports: [{namedPort: http, portNumber: {port: 80}}]}]\n", "spec.ingress[0].ports[0]", "exactly one field", 7),
    ("empty ports", ANP + "  ingress: [{action: Deny, from: [{namespaces: {}}], ports: []}]\n",
     "spec.ingress[0].ports", "at least one entry", 7),
    ("range backwards", CNP + "  ingress: [{action: Deny, from: [{namespaces: {}}], "
     "protocols: [{tcp: {destinationPort: {range: {start: 90, end: 80}}}}]}]\n",
     "spec.ingress[0].protocols[0].tcp.destinationPort.range", "Start port must be less than End port", 8),
    ("tcp without port", CNP + "  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{tcp: {}}]}]\n",
     "spec.ingress[0].protocols[0].tcp.destinationPort", "destinationPort is required", 8),
    ("tier", CNP.replace("tier: Admin", "tier: Developer"), "spec.tier", "Admin or Baseline", 5),
    ("CNP needs podSelector", CNP.replace("{namespaces: {}}", "{pods: {namespaceSelector: {}}}"),
     "spec.subject.pods.podSelector", "podSelector is required", 7),
    ("wrong version", ANP.replace("v1alpha1", "v1alpha2"), "apiVersion", "use policy.networking.k8s.io/v1alpha1", 1),
    ("rule name too long", ANP + f"  ingress: [{{name: {'n' * 101}, action: Deny, from: [{{namespaces: {{}}}}]}}]\n",
     "spec.ingress[0].name", "at most 100", 7),
    ("too many CNP rules", CNP + "  ingress:\n" + "  - {action: Deny, from: [{namespaces: {}}]}\n" * 26,
     "spec.ingress", "at most 25 rules", 8),
    ("bad selector", ANP.replace("{namespaces: {}}", "{namespaces: {matchLabels: {'a b': c}}}"),
     "spec.subject.namespaces.matchLabels.a b", "not a valid label key", 6),
]


@pytest.mark.parametrize(("name", "text", "path", "words", "line"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_admin_policies_are_refused_with_file_line_and_field(name, text, path, words, line):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as info:
        parse(text)
    err = info.value
    assert (err.file, err.path, err.line) == ("p.yaml", path, line), str(err)
    assert words in str(err)


def test_defaults_allow_is_accept_protocol_is_tcp_and_rule_names_are_kept() -> None:
    text = ANP + ("  ingress:\n  - name: web\n    action: Allow\n    from: [{namespaces: {}}]\n"
                  "    ports: [{portNumber: {port: 80}}, {portRange: {start: 1, end: 9}}, {namedPort: dns}]\n")
    (policy,) = parse(text).cluster.admin_policies
    (rule,) = policy.ingress
    assert (policy.tier, policy.priority, rule.name, rule.action, rule.label) == ("Admin", 10, "web", "Accept", "Allow")
    assert rule.ports is not None
    assert [(p.protocol, p.port, p.end_port, p.name) for p in rule.ports] == [
        ("TCP", 80, None, ""), ("TCP", 1, 9, ""), ("", None, None, "dns")]
    assert rule.line == 8


def test_baseline_policy_has_no_priority_and_orders_after_baseline_cluster_policies() -> None:
    text = (ANP.replace("AdminNetworkPolicy", "BaselineAdminNetworkPolicy").replace("name: anp", "name: default")
            .replace("  priority: 10\n", "") + "---\n" + CNP.replace("tier: Admin", "tier: Baseline")
            .replace("priority: 10", "priority: 1000"))
    policies = parse(text).cluster.admin_policies
    assert {(p.kind, p.tier, p.priority) for p in policies} == {
        ("BaselineAdminNetworkPolicy", "Baseline", None), ("ClusterNetworkPolicy", "Baseline", 1000)}
    ordered = sorted(policies, key=lambda p: p.order_key)
    assert [p.kind for p in ordered] == ["ClusterNetworkPolicy", "BaselineAdminNetworkPolicy"]


def test_v1alpha1_pods_peer_without_pod_selector_is_read_as_every_pod_with_a_warning() -> None:
    text = ANP + "  egress: [{action: Deny, to: [{pods: {namespaceSelector: {}}}]}]\n"
    result = parse(text)
    (policy,) = result.cluster.admin_policies
    assert policy.egress[0].peers[0].pod_selector is not None and policy.egress[0].peers[0].pod_selector.is_empty
    assert any("podSelector is missing" in w for w in result.cluster.warnings)


def test_named_port_with_a_networks_peer_is_a_warning_not_an_error() -> None:
    text = ANP + "  egress: [{action: Allow, to: [{networks: [10.0.0.0/8]}], ports: [{namedPort: dns}]}]\n"
    result = parse(text)
    assert any("cannot be set with named ports" in w for w in result.cluster.warnings)


def test_other_groups_with_the_same_kind_names_are_skipped() -> None:
    result = parse("apiVersion: example.com/v1\nkind: AdminNetworkPolicy\nmetadata: {name: x}\n")
    assert result.cluster.admin_policies == () and result.cluster.skipped == (("AdminNetworkPolicy", 1),)
