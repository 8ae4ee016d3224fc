"""Kind parsers: NetworkPolicy validation (SEMANTICS.md 4.1) and defaulting (4.2), pods, workloads,
namespaces, lists, duplicates, notes, and every corpus manifest."""

from __future__ import annotations

import io
import ipaddress
import sys
import textwrap
import types
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.engine.cluster import ContainerPort, IPBlock, Labels, WorkloadRef
from policies.engine.errors import PolicyError
from policies.engine.k8s.model import PortSpec
from policies.engine.k8s.selector import LabelSelector, Requirement
from policies.engine.parse import ManifestObject, ParseResult, load_paths, parse_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "netpol-analyzer"


def parse(text: str, name: str = "t.yaml") -> ParseResult:
    return parse_files([(name, textwrap.dedent(text))])


def parse_error(text: str, name: str = "t.yaml") -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse(text, name)
    return info.value


def netpol(spec: str, metadata: str = "{name: np, namespace: x}") -> str:
    """A NetworkPolicy whose ``spec:`` is on line 4, so the spec's first line is line 5."""
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata: {metadata}\nspec:\n{textwrap.indent(textwrap.dedent(spec).rstrip(), '  ')}\n"
    )


def one_policy(spec: str):
    (policy,) = parse(netpol(spec)).cluster.policies
    return policy


def eq(key: str, value: str) -> Requirement:
    return Requirement(key, "In", frozenset([value]))


# -- 4.1 validation --------------------------------------------------------------------------------

INVALID = [
    # peers [KVAL ValidateNetworkPolicyPeer]
    (
        "peer-empty",
        "ingress: [{from: [{}]}]",
        "spec.ingress[0].from[0]",
        "a peer must set podSelector, namespaceSelector or ipBlock",
    ),
    (
        "peer-null-selectors",
        "egress: [{to: [{podSelector: null}]}]",
        "spec.egress[0].to[0]",
        "a peer must set podSelector, namespaceSelector or ipBlock",
    ),
    (
        "ipblock-and-pod",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]",
        "spec.ingress[0].from[0]",
        "ipBlock may not be combined with podSelector or namespaceSelector",
    ),
    (
        "ipblock-and-ns",
        "egress: [{to: [{namespaceSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}]}]",
        "spec.egress[0].to[0]",
        "ipBlock may not be combined with podSelector or namespaceSelector",
    ),
    # ipBlock [KVAL ValidateIPBlock]
    (
        "cidr-missing",
        "ingress: [{from: [{ipBlock: {}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "ipBlock.cidr is required",
    ),
    (
        "cidr-empty",
        "ingress: [{from: [{ipBlock: {cidr: ''}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "ipBlock.cidr is required",
    ),
    (
        "cidr-prefix-33",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "'10.0.0.0/33' is not a valid CIDR such as 10.0.0.0/16",
    ),
    (
        "cidr-bad-octet",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.300/8}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "'10.0.0.300/8' is not a valid CIDR such as 10.0.0.0/16",
    ),
    (
        "cidr-no-prefix",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "'10.0.0.1' is not a valid CIDR such as 10.0.0.0/16",
    ),
    (
        "cidr-netmask",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/255.0.0.0}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "'10.0.0.0/255.0.0.0' is not a valid CIDR such as 10.0.0.0/16",
    ),
    (
        "cidr-number",
        "ingress: [{from: [{ipBlock: {cidr: 10}}]}]",
        "spec.ingress[0].from[0].ipBlock.cidr",
        "must be a string, not an integer 10",
    ),
    (
        "except-outside",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]",
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "except '10.1.0.0/24' must be a strict subset of cidr 10.0.0.0/16",
    ),
    (
        "except-equal",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]",
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "except '10.0.0.0/16' must be a strict subset of cidr 10.0.0.0/16",
    ),
    (
        "except-wider",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}}]}]",
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "except '10.0.0.0/8' must be a strict subset of cidr 10.0.0.0/16",
    ),
    (
        "except-family",
        "ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: ['::/1']}}]}]",
        "spec.ingress[0].from[0].ipBlock.except[0]",
        "except '::/1' must be a strict subset of cidr 0.0.0.0/0",
    ),
    (
        "except-invalid",
        "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/24, nope]}}]}]",
        "spec.ingress[0].from[0].ipBlock.except[1]",
        "'nope' is not a valid CIDR such as 10.0.0.0/16",
    ),
    # ports [KVAL ValidateNetworkPolicyPort]
    (
        "protocol-icmp",
        "ingress: [{ports: [{protocol: ICMP}]}]",
        "spec.ingress[0].ports[0].protocol",
        "protocol must be TCP, UDP or SCTP, not 'ICMP'",
    ),
    (
        "protocol-lowercase",
        "ingress: [{ports: [{protocol: tcp, port: 80}]}]",
        "spec.ingress[0].ports[0].protocol",
        "protocol must be TCP, UDP or SCTP, not 'tcp'",
    ),
    (
        "protocol-empty",
        "egress: [{ports: [{protocol: ''}]}]",
        "spec.egress[0].ports[0].protocol",
        "protocol must be TCP, UDP or SCTP, not ''",
    ),
    ("port-zero", "ingress: [{ports: [{port: 0}]}]", "spec.ingress[0].ports[0].port", "port 0 is outside 1-65535"),
    (
        "port-too-big",
        "ingress: [{ports: [{port: 65536}]}]",
        "spec.ingress[0].ports[0].port",
        "port 65536 is outside 1-65535",
    ),
    (
        "port-negative",
        "ingress: [{ports: [{port: -1}]}]",
        "spec.ingress[0].ports[0].port",
        "port -1 is outside 1-65535",
    ),
    (
        "port-float",
        "ingress: [{ports: [{port: 80.5}]}]",
        "spec.ingress[0].ports[0].port",
        "port must be a number or a port name, not 80.5",
    ),
    (
        "port-bool",
        "ingress: [{ports: [{port: true}]}]",
        "spec.ingress[0].ports[0].port",
        "port must be a number or a port name, not True",
    ),
    (
        "port-quoted-digits",
        "ingress: [{ports: [{port: '80'}]}]",
        "spec.ingress[0].ports[0].port",
        "port '80' is not a valid port name: it must contain at least one letter (a-z); "
        "a port number must not be quoted",
    ),
    (
        "port-name-upper",
        "ingress: [{ports: [{port: HTTP}]}]",
        "spec.ingress[0].ports[0].port",
        "port 'HTTP' is not a valid port name: it must contain only lower-case letters (a-z), digits (0-9) "
        "and hyphens (-)",
    ),
    (
        "port-name-underscore",
        "ingress: [{ports: [{port: web_http}]}]",
        "spec.ingress[0].ports[0].port",
        "port 'web_http' is not a valid port name: it must contain only lower-case letters (a-z), digits (0-9) "
        "and hyphens (-)",
    ),
    (
        "port-name-16",
        "ingress: [{ports: [{port: abcdefghijklmnop}]}]",
        "spec.ingress[0].ports[0].port",
        "port 'abcdefghijklmnop' is not a valid port name: it must be no more than 15 characters",
    ),
    (
        "port-name-leading-dash",
        "ingress: [{ports: [{port: -http}]}]",
        "spec.ingress[0].ports[0].port",
        "port '-http' is not a valid port name: it must not begin or end with a hyphen",
    ),
    (
        "port-name-trailing-dash",
        "ingress: [{ports: [{port: http-}]}]",
        "spec.ingress[0].ports[0].port",
        "port 'http-' is not a valid port name: it must not begin or end with a hyphen",
    ),
    (
        "port-name-double-dash",
        "ingress: [{ports: [{port: a--b}]}]",
        "spec.ingress[0].ports[0].port",
        "port 'a--b' is not a valid port name: it must not contain consecutive hyphens",
    ),
    (
        "port-name-empty",
        "ingress: [{ports: [{port: ''}]}]",
        "spec.ingress[0].ports[0].port",
        "port '' is not a valid port name: it must contain only lower-case letters (a-z), digits (0-9) and hyphens (-)",
    ),
    # endPort, including V31's invalid variants [KVAL] [KAPI NetworkPolicyPort.endPort]
    (
        "v31-endport-named",
        "egress: [{ports: [{port: http, endPort: 90}]}]",
        "spec.egress[0].ports[0].endPort",
        "endPort may not be set when port is a name ('http')",
    ),
    (
        "v31-endport-below-port",
        "egress: [{ports: [{port: 90, endPort: 80}]}]",
        "spec.egress[0].ports[0].endPort",
        "endPort 80 must not be less than port 90",
    ),
    (
        "v31-endport-alone",
        "egress: [{ports: [{endPort: 90}]}]",
        "spec.egress[0].ports[0].endPort",
        "endPort may not be set without port",
    ),
    (
        "endport-too-big",
        "egress: [{ports: [{port: 80, endPort: 70000}]}]",
        "spec.egress[0].ports[0].endPort",
        "endPort 70000 is outside 1-65535",
    ),
    (
        "endport-string",
        "egress: [{ports: [{port: 80, endPort: '90'}]}]",
        "spec.egress[0].ports[0].endPort",
        "must be an integer, not a string '90'",
    ),
    # policyTypes [KVAL ValidateNetworkPolicySpec]
    (
        "types-three",
        "policyTypes: [Ingress, Egress, Ingress]",
        "spec.policyTypes",
        "may not specify more than two policyTypes",
    ),
    (
        "types-lowercase",
        "policyTypes: [ingress]",
        "spec.policyTypes[0]",
        "policy type must be Ingress or Egress, not 'ingress'",
    ),
    (
        "types-other",
        "policyTypes: [Egress, Both]",
        "spec.policyTypes[1]",
        "policy type must be Ingress or Egress, not 'Both'",
    ),
    ("types-not-list", "policyTypes: Ingress", "spec.policyTypes", "must be a list, not a string"),
    # label selectors [LSEL-TYPES LabelSelectorRequirement] [LSEL-HELP]
    (
        "op-unknown",
        "podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}",
        "spec.podSelector.matchExpressions[0].operator",
        "operator must be one of In, NotIn, Exists, DoesNotExist, not 'Equals'",
    ),
    (
        "op-lowercase",
        "podSelector: {matchExpressions: [{key: app, operator: in, values: [a]}]}",
        "spec.podSelector.matchExpressions[0].operator",
        "operator must be one of In, NotIn, Exists, DoesNotExist, not 'in'",
    ),
    (
        "op-missing",
        "podSelector: {matchExpressions: [{key: app}]}",
        "spec.podSelector.matchExpressions[0].operator",
        "operator must be one of In, NotIn, Exists, DoesNotExist, not ''",
    ),
    (
        "in-no-values",
        "podSelector: {matchExpressions: [{key: app, operator: In}]}",
        "spec.podSelector.matchExpressions[0].values",
        "values must be non-empty when operator is In",
    ),
    (
        "notin-empty-values",
        "ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: a, operator: NotIn, values: []}]}}]}]",
        "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values",
        "values must be non-empty when operator is NotIn",
    ),
    (
        "exists-with-values",
        "podSelector: {matchExpressions: [{key: app, operator: Exists, values: [a]}]}",
        "spec.podSelector.matchExpressions[0].values",
        "values must be empty when operator is Exists",
    ),
    (
        "doesnotexist-with-values",
        "egress: [{to: [{podSelector: {matchExpressions: [{key: a, operator: DoesNotExist, values: [b]}]}}]}]",
        "spec.egress[0].to[0].podSelector.matchExpressions[0].values",
        "values must be empty when operator is DoesNotExist",
    ),
    (
        "expr-no-key",
        "podSelector: {matchExpressions: [{operator: Exists}]}",
        "spec.podSelector.matchExpressions[0].key",
        "key is required",
    ),
    (
        "value-not-string",
        "podSelector: {matchLabels: {tier: 1}}",
        "spec.podSelector.matchLabels.tier",
        "must be a string, not an integer 1",
    ),
    (
        "value-bool",
        "podSelector: {matchLabels: {enabled: true}}",
        "spec.podSelector.matchLabels.enabled",
        "must be a string, not a boolean True",
    ),
    (
        "expr-value-not-string",
        "podSelector: {matchExpressions: [{key: v, operator: In, values: [1.0]}]}",
        "spec.podSelector.matchExpressions[0].values[0]",
        "must be a string, not a number 1.0",
    ),
    (
        "label-key-space",
        "podSelector: {matchLabels: {'my app': web}}",
        "spec.podSelector.matchLabels.my app",
        "'my app' is not a valid label key: an optional DNS prefix and '/', then at most 63 of [A-Za-z0-9-_.] "
        "that start and end with a letter or digit",
    ),
    (
        "label-key-prefix",
        "podSelector: {matchLabels: {'Example.com/app': web}}",
        "spec.podSelector.matchLabels.Example.com/app",
        "'Example.com/app' is not a valid label key: an optional DNS prefix and '/', then at most 63 of "
        "[A-Za-z0-9-_.] that start and end with a letter or digit",
    ),
    (
        "label-value-space",
        "podSelector: {matchLabels: {app: 'my web'}}",
        "spec.podSelector.matchLabels.app",
        "'my web' is not a valid label value: at most 63 of [A-Za-z0-9-_.] that start and end with a letter or digit",
    ),
    # shapes
    ("spec-list", "[]", "spec", "must be a mapping, not a list"),
    ("ingress-mapping", "ingress: {from: []}", "spec.ingress", "must be a list, not a mapping"),
    ("from-mapping", "ingress: [{from: {podSelector: {}}}]", "spec.ingress[0].from", "must be a list, not a mapping"),
    ("selector-list", "podSelector: []", "spec.podSelector", "must be a mapping, not a list"),
]


def _invalid_params():
    out = []
    for case_id, spec, path, message in INVALID:
        out.append(pytest.param(spec, path, message, id=case_id))
    return out


@pytest.mark.parametrize(("spec", "path", "message"), _invalid_params())
def test_invalid_network_policy_is_rejected(spec, path, message):
    err = parse_error(netpol(spec))
    line = 4 if path == "spec" else 5  # a field's line, or the line of the key that holds the bad value
    assert (err.path, err.message) == (path, message)
    assert (err.file, err.document, err.line, err.obj) == ("t.yaml", 0, line, "NetworkPolicy x/np")
    assert str(err) == f"t.yaml:{line}, document 0, NetworkPolicy x/np, field {path}: {message}"


def test_error_names_the_line_of_the_field_inside_a_list_item():
    """spec.ingress[0].from[1].ipBlock.cidr is on line 15 of the second document."""
    err = parse_error(
        """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: x}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicyList
        items:
        - metadata: {name: ok, namespace: x}
        - metadata: {name: bad, namespace: x}
          spec:
            ingress:
            - from:
              - podSelector: {}
              - ipBlock:
                  cidr: 10.0.0.0/40
        """,
        name="policies.yaml",
    )
    assert str(err) == (
        "policies.yaml:15, document 1, NetworkPolicy x/bad, field spec.ingress[0].from[1].ipBlock.cidr: "
        "'10.0.0.0/40' is not a valid CIDR such as 10.0.0.0/16"
    )


@pytest.mark.parametrize(
    ("api_version", "message"),
    [
        ("extensions/v1beta1", "NetworkPolicy apiVersion 'extensions/v1beta1' is not supported"),
        ("networking.k8s.io/v1beta1", "NetworkPolicy apiVersion 'networking.k8s.io/v1beta1' is not supported"),
        ("crd.antrea.io/v1beta1", "NetworkPolicy apiVersion 'crd.antrea.io/v1beta1' is not supported"),
    ],
)
def test_other_network_policy_api_versions_are_errors(api_version, message):
    err = parse_error(f"apiVersion: {api_version}\nkind: NetworkPolicy\nmetadata: {{name: np}}\n")
    assert err.message.startswith(message)
    assert (err.path, err.line) == ("apiVersion", 1)


def test_network_policy_needs_a_name():
    err = parse_error("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: x}\n")
    assert str(err) == "t.yaml:3, document 0, NetworkPolicy, field metadata.name: metadata.name is required"


# -- 4.2 defaulting --------------------------------------------------------------------------------

APP_A = LabelSelector((eq("app", "a"),))


@pytest.mark.parametrize(
    ("spec", "types", "n_ingress", "n_egress"),
    [
        pytest.param("podSelector: {matchLabels: {app: a}}\ningress: []", {"Ingress"}, 0, 0, id="V03-empty-ingress"),
        pytest.param("podSelector: {matchLabels: {app: a}}", {"Ingress"}, 0, 0, id="V03-bare"),
        pytest.param(
            "podSelector: {matchLabels: {app: a}}\negress:\n- to: [{namespaceSelector: {}}]\n  ports: [{port: 443}]",
            {"Ingress", "Egress"},
            0,
            1,
            id="V06-egress-rules-add-egress",
        ),
        pytest.param(
            "podSelector: {matchLabels: {app: a}}\ningress: [{}]\negress: []",
            {"Ingress"},
            1,
            0,
            id="V07-empty-egress-list",
        ),
        pytest.param(
            "podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]\n"
            "ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]\negress: [{}]",
            {"Egress"},
            1,
            1,
            id="V08-policy-types-given",
        ),
        pytest.param("podSelector: {matchLabels: {app: a}}\npolicyTypes: []", {"Ingress"}, 0, 0, id="types-empty"),
        pytest.param(
            "podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress, Egress]",
            {"Egress"},
            0,
            0,
            id="types-repeated",
        ),
    ],
)
def test_policy_types_default(spec, types, n_ingress, n_egress):
    """D2: [Ingress], plus Egress iff there are egress rules; given policyTypes are kept as they are."""
    policy = one_policy(spec)
    assert policy.policy_types == frozenset(types)
    assert (len(policy.ingress), len(policy.egress)) == (n_ingress, n_egress)
    assert policy.pod_selector == APP_A


def test_absent_pod_selector_selects_everything():
    """D1."""
    assert one_policy("ingress: [{}]").pod_selector == LabelSelector()
    assert one_policy("podSelector: {}").pod_selector.is_empty
    assert one_policy("podSelector: null").pod_selector == LabelSelector()


def test_absent_spec():
    policy = parse(netpol("{}")).cluster.policies[0]
    assert policy.policy_types == frozenset({"Ingress"})
    assert policy.ingress == policy.egress == ()


def test_namespace_defaults_to_default():
    """D4."""
    (policy,) = parse(netpol("podSelector: {}", metadata="{name: np}")).cluster.policies
    assert (policy.namespace, policy.name, policy.id) == ("default", "np", "default/np")


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        pytest.param("[{}]", (PortSpec("TCP", None, None),), id="V29-empty-entry-is-all-tcp"),
        pytest.param("[{port: 53}]", (PortSpec("TCP", 53, None),), id="V28-protocol-defaults-to-tcp"),
        pytest.param("[{protocol: UDP}]", (PortSpec("UDP", None, None),), id="V30-protocol-without-port"),
        pytest.param(
            "[{protocol: TCP, port: 32000, endPort: 32768}]", (PortSpec("TCP", 32000, 32768),), id="V31-range"
        ),
        pytest.param("[{port: 80, endPort: 80}]", (PortSpec("TCP", 80, 80),), id="endport-equal"),
        pytest.param(
            "[{port: 1}, {port: 65535, protocol: SCTP}]", (PortSpec("TCP", 1), PortSpec("SCTP", 65535)), id="bounds"
        ),
        pytest.param(
            "[{port: http-alt}, {port: h2c, protocol: UDP}]",
            (PortSpec("TCP", "http-alt"), PortSpec("UDP", "h2c")),
            id="named",
        ),
        pytest.param("[]", (), id="empty-list-is-all-ports"),
        pytest.param("null", (), id="null-is-all-ports"),
    ],
)
def test_ports_default_and_keep_their_shape(ports, expected):
    policy = one_policy(f"ingress: [{{ports: {ports}}}]")
    assert [(p.protocol, p.port, p.end_port) for p in policy.ingress[0].ports] == [
        (p.protocol, p.port, p.end_port) for p in expected
    ]


def test_empty_and_absent_peers_mean_all_peers():
    policy = one_policy("ingress: [{from: []}, {}, {from: null}]")
    assert [r.peers for r in policy.ingress] == [(), (), ()]


def test_peers_keep_which_selectors_are_absent():
    policy = one_policy(
        """\
        egress:
        - to:
          - namespaceSelector: {matchLabels: {team: a}}
          - podSelector: {matchLabels: {app: db}}
          - namespaceSelector: {}
            podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [x, y]}]}
        """
    )
    peers = policy.egress[0].peers
    assert [(p.namespace_selector, p.pod_selector) for p in peers] == [
        (LabelSelector((eq("team", "a"),)), None),
        (None, LabelSelector((eq("app", "db"),))),
        (LabelSelector(), LabelSelector((Requirement("tier", "NotIn", frozenset({"x", "y"})),))),
    ]
    assert all(p.ip_block is None for p in peers)


def test_selector_terms_are_anded_and_sorted():
    policy = one_policy(
        """\
        podSelector:
          matchLabels: {tier: "", app: web}
          matchExpressions:
          - {key: env, operator: In, values: [prod, staging]}
          - {key: app, operator: Exists}
          - {key: legacy, operator: DoesNotExist}
        """
    )
    assert policy.pod_selector.requirements == (
        Requirement("app", "Exists"),
        eq("app", "web"),
        Requirement("env", "In", frozenset({"prod", "staging"})),
        Requirement("legacy", "DoesNotExist"),
        eq("tier", ""),
    )


def test_ip_block_host_bits_are_masked():
    policy = one_policy(
        "ingress: [{from: [{ipBlock: {cidr: 10.0.1.5/24, except: [10.0.1.200/25]}}, "
        "{ipBlock: {cidr: '2001:db8::1/64'}}]}]"
    )
    blocks = [p.ip_block for p in policy.ingress[0].peers]
    assert blocks == [
        IPBlock(ipaddress.ip_network("10.0.1.0/24"), (ipaddress.ip_network("10.0.1.128/25"),)),
        IPBlock(ipaddress.ip_network("2001:db8::/64")),
    ]


def test_rules_peers_and_ports_carry_their_lines():
    text = netpol(
        """\
        ingress:
        - from:
          - podSelector: {}
          - ipBlock: {cidr: 10.0.0.0/8}
          ports:
          - port: 80
          - protocol: UDP
        - {}
        """
    )
    (policy,) = parse(text).cluster.policies
    first, second = policy.ingress
    assert (first.line, first.end_line, second.line, second.end_line) == (6, 11, 12, 12)
    assert [p.line for p in first.peers] == [7, 8]
    assert [p.line for p in first.ports] == [10, 11]
    assert (policy.source.file, policy.source.line, policy.source.end_line) == ("t.yaml", 1, 12)


def test_unknown_fields_are_warnings():
    result = parse(netpol("podSelector: {}\ningres: [{}]\negress: [{to: [{podSelector: {}}], port: [{}]}]"))
    assert result.cluster.warnings == (
        "t.yaml:6: NetworkPolicy x/np: unknown field spec.ingres is ignored",
        "t.yaml:7: NetworkPolicy x/np: unknown field spec.egress[0].port is ignored",
    )


# -- namespaces ------------------------------------------------------------------------------------


def test_namespace_name_label_is_added():
    """N1."""
    result = load_paths([str(FIXTURES / "manifests" / "namespaces.yaml")])
    assert [(ns.name, ns.labels, ns.defined) for ns in result.cluster.namespaces] == [
        ("payments", Labels({"kubernetes.io/metadata.name": "payments"}), True),
        ("shop", Labels({"kubernetes.io/metadata.name": "shop", "team": "web"}), True),
    ]


def test_namespace_name_label_must_match_the_name():
    err = parse_error(
        """\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
          labels:
            kubernetes.io/metadata.name: payments
        """
    )
    assert str(err) == (
        "t.yaml:6, document 0, Namespace shop, field metadata.labels.kubernetes.io/metadata.name: "
        "label kubernetes.io/metadata.name must equal the namespace name 'shop', not 'payments'"
    )


def test_referenced_namespaces_are_added_undefined():
    result = parse(
        """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: x}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: ghost}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: q}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: np, namespace: other}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: sa, namespace: accounts}
        """
    )
    assert [(ns.name, ns.labels.to_dict(), ns.defined) for ns in result.cluster.namespaces] == [
        ("accounts", {"kubernetes.io/metadata.name": "accounts"}, False),
        ("default", {"kubernetes.io/metadata.name": "default"}, False),
        ("ghost", {"kubernetes.io/metadata.name": "ghost"}, False),
        ("other", {"kubernetes.io/metadata.name": "other"}, False),
        ("x", {"kubernetes.io/metadata.name": "x"}, True),
    ]
    assert [p.id for p in result.cluster.pods] == ["default/q", "ghost/p"]
    assert result.notes == ("namespaces used but not defined: accounts, default, ghost, other",)


# -- pods, nodes, service accounts -----------------------------------------------------------------

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
  labels: {app: api, tier: ""}
spec:
  nodeName: n1
  serviceAccount: legacy-sa
  hostNetwork: false
  initContainers:
  - name: init
    ports: [{name: metrics, containerPort: 9090}]
  containers:
  - name: main
    ports:
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 53, protocol: UDP}
    - {containerPort: 9999}
status:
  phase: Running
  hostIP: 192.168.0.1
  podIP: 10.0.1.1
  podIPs: [{ip: 10.0.1.1}, {ip: "fd00::1"}]
"""


def test_pod_fields():
    (pod,) = parse(POD).cluster.pods
    assert pod.id == "shop/api"
    assert pod.labels == Labels({"app": "api", "tier": ""})
    assert pod.ports == (
        ContainerPort("dns", 53, "UDP"),
        ContainerPort("http", 8080, "TCP"),
        ContainerPort("metrics", 9090, "TCP"),
    )
    assert (pod.node, pod.service_account, pod.host_network) == ("n1", "legacy-sa", False)
    assert pod.ips == (ipaddress.ip_address("10.0.1.1"), ipaddress.ip_address("fd00::1"))
    assert pod.host_ip == ipaddress.ip_address("192.168.0.1")
    assert (pod.workload, pod.from_template, pod.workload_id) == (None, False, "shop/Pod/api")
    assert (pod.source.file, pod.source.line) == ("t.yaml", 1)


def test_pod_defaults():
    (pod,) = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n").cluster.pods
    assert (pod.namespace, pod.labels, pod.ips, pod.node, pod.host_ip) == ("default", Labels(), (), "", None)
    assert (pod.service_account, pod.host_network, pod.ports) == ("default", False, ())


def test_legacy_pod_ip_and_service_account_name_wins():
    text = POD.replace('  podIPs: [{ip: 10.0.1.1}, {ip: "fd00::1"}]\n', "").replace(
        "  serviceAccount: legacy-sa\n", "  serviceAccount: legacy-sa\n  serviceAccountName: api-sa\n"
    )
    (pod,) = parse(text).cluster.pods
    assert pod.ips == (ipaddress.ip_address("10.0.1.1"),)
    assert pod.service_account == "api-sa"


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "message"),
    [
        ("{ip: 10.0.1.1}", "{ip: 10.0.1}", 24, "status.podIPs[0].ip", "'10.0.1' is not an IP address"),
        (
            '  podIP: 10.0.1.1\n  podIPs: [{ip: 10.0.1.1}, {ip: "fd00::1"}]\n',
            "  podIP: 10.0.1.x\n",
            23,
            "status.podIP",
            "'10.0.1.x' is not an IP address",
        ),
        ("hostNetwork: false", "hostNetwork: 'no'", 10, "spec.hostNetwork", "must be true or false, not a string 'no'"),
        (
            "containerPort: 8080",
            "containerPort: '8080'",
            17,
            "spec.containers[0].ports[0].containerPort",
            "must be an integer, not a string '8080'",
        ),
        (
            "containerPort: 8080",
            "containerPort: 0",
            17,
            "spec.containers[0].ports[0].containerPort",
            "containerPort 0 is outside 1-65535",
        ),
        (
            "protocol: UDP",
            "protocol: ICMP",
            18,
            "spec.containers[0].ports[1].protocol",
            "protocol must be TCP, UDP or SCTP, not 'ICMP'",
        ),
        ('tier: ""', "tier: 1.5", 6, "metadata.labels.tier", "must be a string, not a number 1.5"),
        ("  containers:\n", "  containers: {}\n  x:\n", 14, "spec.containers", "must be a list, not a mapping"),
    ],
)
def test_bad_pod_fields(old, new, line, path, message):
    assert old in POD
    err = parse_error(POD.replace(old, new, 1))
    assert (err.line, err.path, err.message, err.obj) == (line, path, message, "Pod shop/api")


def test_named_port_without_container_port_is_a_warning():
    """NPA's corpus has ``containerport:``; Kubernetes reads field names case-sensitively, so it is absent."""
    result = parse(POD.replace("containerPort: 8080", "containerport: 8080"))
    assert [p.name for p in result.cluster.pods[0].ports] == ["dns", "metrics"]
    assert result.cluster.warnings == (
        "t.yaml:17: Pod shop/api: named port 'http' at spec.containers[0].ports[0] has no containerPort; it is ignored",
    )


def test_finished_pods_are_left_out_and_counted():
    """N4: phase Succeeded or Failed."""
    docs = [
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nstatus: {{phase: {phase}}}\n"
        for name, phase in [("a", "Succeeded"), ("b", "Failed"), ("c", "Running"), ("d", "Pending"), ("e", "Failed")]
    ]
    result = parse("---\n".join(docs))
    assert [p.name for p in result.cluster.pods] == ["c", "d"]
    assert result.notes[-1] == "left out 3 finished pods (phase Failed, Succeeded)"
    one = parse(docs[0])
    assert one.notes == ("left out 1 finished pod (phase Succeeded)",)
    assert one.cluster.pods == ()


def test_nodes_and_service_accounts():
    result = parse(
        """\
        apiVersion: v1
        kind: Node
        metadata: {name: n2}
        status:
          addresses:
          - {type: Hostname, address: n2}
          - {type: ExternalIP, address: 203.0.113.2}
          - {type: InternalIP, address: 192.168.0.2}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: n1}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: api-sa, namespace: x, labels: {role: api}}
        """
    )
    assert [(n.name, [str(ip) for ip in n.ips]) for n in result.cluster.nodes] == [
        ("n1", []),
        ("n2", ["192.168.0.2", "203.0.113.2"]),
    ]
    (sa,) = result.cluster.service_accounts
    assert (sa.namespace, sa.name, sa.labels) == ("x", "api-sa", Labels({"role": "api"}))


def test_bad_node_address():
    err = parse_error(
        "kind: Node\napiVersion: v1\nmetadata: {name: n}\nstatus:\n  addresses: [{type: InternalIP, address: x}]\n"
    )
    assert (err.line, err.path, err.message) == (5, "status.addresses[0].address", "'x' is not an IP address")


def test_pod_on_unknown_node_is_a_warning():
    result = parse(
        "kind: Node\napiVersion: v1\nmetadata: {name: n1}\n---\n" + POD.replace("nodeName: n1", "nodeName: n9")
    )
    assert result.cluster.warnings == ("1 pod run on node 'n9', which is not in the input",)
    # Without any Node objects nothing is known about nodes, so nothing is said.
    assert parse(POD).cluster.warnings == ()


# -- workloads -------------------------------------------------------------------------------------


def test_owners_are_lifted_and_templates_stand_for_workloads_without_pods():
    result = load_paths([str(FIXTURES / "workloads.yaml")])
    pods = {p.id: p for p in result.cluster.pods}
    assert sorted(pods) == [
        "kube-system/etcd-node1",
        "shop/db",
        "shop/report-28000000-xyz12",
        "shop/web-7d4b9c-abcde",
    ]
    assert pods["shop/web-7d4b9c-abcde"].workload == WorkloadRef("Deployment", "web")  # RS -> Deployment
    assert pods["shop/report-28000000-xyz12"].workload == WorkloadRef("CronJob", "report")  # Job -> CronJob
    assert pods["kube-system/etcd-node1"].workload is None  # owner kind Node: a static pod
    db = pods["shop/db"]
    assert (db.workload, db.from_template, db.ips, db.node) == (WorkloadRef("StatefulSet", "db"), True, (), "")
    assert (db.labels, db.ports) == (Labels({"app": "db"}), (ContainerPort("pg", 5432),))
    assert db.workload_id == "shop/StatefulSet/db"
    assert (db.source.line, db.source.document) == (84, 6)


def test_each_top_level_workload_without_pods_gives_one_template():
    """Without its pods, only the Deployment and the CronJob stand for them: the ReplicaSet and Job are owned."""
    text = (FIXTURES / "workloads.yaml").read_text()
    docs = [d for d in text.split("---\n") if "kind: Pod\n" not in d]
    result = parse("---\n".join(docs))
    templates = [(p.id, p.workload, p.labels.to_dict(), p.service_account) for p in result.cluster.pods]
    assert templates == [
        ("shop/db", WorkloadRef("StatefulSet", "db"), {"app": "db"}, "default"),
        ("shop/report", WorkloadRef("CronJob", "report"), {"app": "report"}, "reporter"),
        ("shop/web", WorkloadRef("Deployment", "web"), {"app": "web"}, "default"),
    ]
    assert all(p.from_template for p in result.cluster.pods)


OWNED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  ownerReferences: {refs}
"""


@pytest.mark.parametrize(
    ("refs", "workload"),
    [
        pytest.param(
            "[{kind: ReplicaSet, name: rs-1, controller: true}]",
            WorkloadRef("ReplicaSet", "rs-1"),
            id="owner-not-in-input",
        ),
        pytest.param(
            "[{name: internal-security, controller: true}]",
            WorkloadRef("Workload", "internal-security"),
            id="owner-without-kind",
        ),
        pytest.param("[{kind: Node, name: n1, controller: true}]", None, id="node-owner"),
        pytest.param(
            "[{kind: ConfigMap, name: a}, {kind: DaemonSet, name: ds, controller: true}]",
            WorkloadRef("DaemonSet", "ds"),
            id="controller-wins",
        ),
        pytest.param(
            "[{kind: Rollout, name: r, controller: false}, {kind: DaemonSet, name: ds}]",
            WorkloadRef("Rollout", "r"),
            id="first-without-controller",
        ),
        pytest.param("[]", None, id="no-owner"),
    ],
)
def test_pod_owner(refs, workload):
    (pod,) = parse(OWNED_POD.format(refs=refs)).cluster.pods
    assert pod.workload == workload


def test_replica_set_with_absent_deployment_is_the_top_workload():
    result = parse(
        """\
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: web-1
          ownerReferences: [{kind: Deployment, name: web, controller: true}]
        spec:
          template: {metadata: {labels: {app: web}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-1-a
          ownerReferences: [{kind: ReplicaSet, name: web-1, controller: true}]
        """
    )
    assert [(p.id, p.workload, p.from_template) for p in result.cluster.pods] == [
        ("default/web-1-a", WorkloadRef("ReplicaSet", "web-1"), False)
    ]


def test_ownership_cycles_terminate():
    result = parse(
        """\
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: a, ownerReferences: [{kind: ReplicaSet, name: b, controller: true}]}
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: b, ownerReferences: [{kind: ReplicaSet, name: a, controller: true}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, ownerReferences: [{kind: ReplicaSet, name: a, controller: true}]}
        """
    )
    assert [(p.name, p.workload) for p in result.cluster.pods] == [("p", WorkloadRef("ReplicaSet", "b"))]


def test_workload_without_template_is_a_warning():
    result = parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n")
    assert result.cluster.pods == ()
    assert result.cluster.warnings == ("Deployment d has no pod template at spec.template, so it stands for no pods",)


def test_owner_reference_needs_a_name():
    err = parse_error(OWNED_POD.format(refs="[{kind: ReplicaSet}]"))
    assert (err.line, err.path, err.message) == (
        5,
        "metadata.ownerReferences[0].name",
        "an ownerReference needs a name",
    )


# -- kinds, lists, duplicates, notes ---------------------------------------------------------------


def test_other_kinds_are_skipped_and_counted():
    result = parse(
        """\
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Service, metadata: {name: a}}
        - {apiVersion: v1, kind: Service, metadata: {name: b}}
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
        - {apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: pool}}
        - {apiVersion: metrics.k8s.io/v1beta1, kind: Pod, metadata: {name: m}}
        - {apiVersion: v1, kind: Service, metadata: {name: d}}
        """
    )
    assert result.cluster.skipped == (("ConfigMap", 1), ("IPPool", 1), ("Pod", 1), ("Service", 3))
    assert result.notes == ("skipped 1 ConfigMap, 1 IPPool, 1 Pod, 3 Service",)
    assert result.cluster.pods == ()
    assert len(result.objects) == 6


def test_typed_lists_give_their_kind_to_items():
    result = parse(
        """\
        apiVersion: v1
        kind: PodList
        items:
        - metadata: {name: a, namespace: x, labels: {app: a}}
        ---
        apiVersion: v1
        kind: NamespaceList
        items:
        - metadata: {name: x}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicyList
        items:
        - metadata: {name: np, namespace: x}
          spec: {podSelector: {}}
        """
    )
    c = result.cluster
    assert ([p.id for p in c.pods], [n.name for n in c.namespaces], [p.id for p in c.policies]) == (
        ["x/a"],
        ["x"],
        ["x/np"],
    )
    assert [(o.kind, o.api_version, o.source.item_path, o.source.document) for o in result.objects] == [
        ("Pod", "v1", "items[0]", 0),
        ("Namespace", "v1", "items[0]", 1),
        ("NetworkPolicy", "networking.k8s.io/v1", "items[0]", 2),
    ]


def test_identical_duplicates_are_kept_once():
    ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {a: b}}\n"
    result = parse_files([("b.yaml", ns), ("a.yaml", "# copy\n" + ns)])
    assert [n.name for n in result.cluster.namespaces] == ["x"]
    assert [(o.source.file, o.source.line) for o in result.objects] == [("a.yaml", 2)]
    assert result.notes == (
        "ignored 1 identical duplicate: Namespace x (a.yaml:2 (document 0) and b.yaml:1 (document 0))",
    )


def test_different_duplicates_are_an_error_naming_both():
    one = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x, labels: {v: '1'}}\n"
    two = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: x}\n"
    with pytest.raises(PolicyError) as info:
        parse_files([("one.yaml", one), ("two.yaml", two)])
    assert str(info.value) == (
        "two.yaml:4, document 0, Pod x/p: Pod x/p is defined twice with different content: "
        "at one.yaml:1 (document 0) and here"
    )


def test_same_name_in_other_group_or_namespace_is_not_a_duplicate():
    result = parse(
        """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: np, namespace: x}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: np, namespace: y}
        ---
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: np, namespace: x}
        spec: {selector: all()}
        """
    )
    assert [p.id for p in result.cluster.policies] == ["x/np", "y/np"]


def test_objects_and_cluster_are_sorted_whatever_the_input_order():
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {{name: {}, namespace: b}}\n"
    a = pod.format("z") + "---\n" + pod.format("a")
    b = (
        netpol("podSelector: {}", "{name: q, namespace: a}")
        + "---\n"
        + netpol("podSelector: {}", "{name: p, namespace: b}")
    )
    one = parse_files([("2.yaml", a), ("1.yaml", b)])
    two = parse_files([("1.yaml", b), ("2.yaml", a)])
    assert one == two
    assert [(o.source.file, o.source.document) for o in one.objects] == [
        ("1.yaml", 0),
        ("1.yaml", 1),
        ("2.yaml", 0),
        ("2.yaml", 1),
    ]
    assert [p.id for p in one.cluster.pods] == ["b/a", "b/z"]
    assert [p.id for p in one.cluster.policies] == ["a/q", "b/p"]
    assert [n.name for n in one.cluster.namespaces] == ["a", "b"]


def test_manifest_objects():
    result = parse(
        """\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: web}
        - apiVersion: v1
          kind: Node
          metadata: {name: n1, namespace: ignored}
        """
    )
    assert result.objects == (
        ManifestObject(
            "Service",
            "v1",
            "default",
            "web",
            result.objects[0].source,
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
        ),
        ManifestObject(
            "Node",
            "v1",
            "",
            "n1",
            result.objects[1].source,
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1, namespace: ignored}\n",
        ),
    )
    assert (result.objects[1].source.line, result.objects[1].source.end_line) == (7, 9)


# -- Calico hand-off -------------------------------------------------------------------------------

CALICO = """\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all()}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: n}
spec: {selector: all()}
---
apiVersion: v1
kind: Namespace
metadata: {name: x}
"""


def test_calico_objects_go_to_the_calico_parser(monkeypatch):
    seen = {}

    def fake_parse(objects, namespaces):
        seen["objects"] = [(o.kind, o.name) for o in objects]
        seen["namespaces"] = list(namespaces)
        return "calico resources"

    module = types.ModuleType("policies.engine.calico.parse")
    module.parse_calico_objects = fake_parse  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "policies.engine.calico.parse", module)
    result = parse(CALICO)
    assert result.cluster.calico == "calico resources"
    assert seen == {"objects": [("GlobalNetworkPolicy", "g"), ("NetworkPolicy", "n")], "namespaces": ["default", "x"]}
    assert result.cluster.policies == ()
    assert [(n.name, n.defined) for n in result.cluster.namespaces] == [("default", False), ("x", True)]


def test_without_calico_support_calico_objects_are_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "policies.engine.calico.parse", None)
    result = parse(CALICO)
    assert result.cluster.calico is None
    assert result.notes[-1] == "ignored 2 Calico objects: Calico support is not available"


# -- paths -----------------------------------------------------------------------------------------


def test_load_paths_reads_directories_files_and_stdin():
    stdin = io.StringIO("apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n")
    result = load_paths([str(FIXTURES / "manifests"), "-"], stdin=stdin)
    c = result.cluster
    assert [n.name for n in c.namespaces] == ["extra", "payments", "shop"]
    assert [(p.id, p.ports) for p in c.pods] == [("shop/web-0", (ContainerPort("http", 8080),))]
    (policy,) = c.policies
    assert (policy.id, policy.ingress[0].ports[0].port) == ("shop/web-ingress", "http")
    assert {Path(o.source.file).name for o in result.objects} == {
        "<stdin>",
        "namespaces.yaml",
        "pods.json",
        "policy.yml",
    }


def test_parse_files_size_limit():
    with pytest.raises(PolicyError, match=r"^a.yaml: the file is larger than the limit of 10 bytes$"):
        parse_files([("a.yaml", "kind: Namespace\n")], max_bytes=10)


def test_syntax_error_is_a_policy_error():
    err = parse_error("kind: Pod\nmetadata: {name: [}\n")
    assert (err.file, err.document, err.line) == ("t.yaml", 0, 2)
    assert err.message.startswith("YAML syntax error: ")


# -- the netpol-analyzer corpus --------------------------------------------------------------------

CORPUS_CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


@pytest.mark.corpus
@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_case_parses(case):
    result = load_paths([str(CORPUS / case)])
    assert result.cluster.pods
    assert all(o.text and o.source.line >= 1 for o in result.objects)


@pytest.mark.corpus
def test_corpus_typed_lists_json_lists_and_node_owned_pods():
    ip_blocks = load_paths([str(CORPUS / "ipblockstest")])  # PodList and NamespaceList, items without kind
    assert len(ip_blocks.cluster.pods) == 29 and len(ip_blocks.cluster.namespaces) == 8
    assert {o.source.item_path for o in ip_blocks.objects if o.kind == "Pod"} >= {"items[0]", "items[28]"}
    topology = load_paths([str(CORPUS / "multiple_topology_resources_1")])  # JSON lists
    json_objects = [o for o in topology.objects if o.source.file.endswith(".json")]
    assert json_objects and all(o.text.lstrip().startswith("{") for o in json_objects)
    minikube = load_paths([str(CORPUS / "minikube_resources")])
    etcd = next(p for p in minikube.cluster.pods if p.name == "etcd-minikube")
    assert (etcd.workload, etcd.workload_id) == (None, "kube-system/Pod/etcd-minikube")
    assert minikube.notes == ("left out 2 finished pods (phase Succeeded)",)


# -- robustness: any input gives a Cluster or a PolicyError ----------------------------------------

_FIELDS = [
    "podSelector", "namespaceSelector", "ipBlock", "cidr", "except", "ingress", "egress", "from", "to",
    "ports", "port", "endPort", "protocol", "policyTypes", "matchLabels", "matchExpressions", "key",
    "operator", "values", "containers", "initContainers", "name", "containerPort", "hostNetwork",
    "nodeName", "serviceAccountName", "podIPs", "podIP", "hostIP", "ip", "phase", "addresses", "type",
    "address", "template", "metadata", "labels", "spec", "jobTemplate", "ownerReferences", "kind",
    "controller",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(
        [
            "TCP",
            "UDP",
            "ICMP",
            "10.0.0.0/8",
            "10.1.0.0/16",
            "::/0",
            "http",
            "In",
            "NotIn",
            "Exists",
            "Ingress",
            "Egress",
            "Succeeded",
            "InternalIP",
            "1.2.3.4",
            "ReplicaSet",
            "Node",
        ]
    ),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_FIELDS), inner, max_size=4),
    max_leaves=25,
)
_OBJECTS = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1"]),
        "kind": st.sampled_from(
            [
                "Namespace",
                "Pod",
                "Node",
                "ServiceAccount",
                "Deployment",
                "ReplicaSet",
                "CronJob",
                "Job",
                "NetworkPolicy",
                "Service",
                "PodList",
                "List",
            ]
        ),
        "metadata": st.fixed_dictionaries(
            {}, optional={"name": _SCALARS, "namespace": _SCALARS, "labels": _VALUES, "ownerReferences": _VALUES}
        ),
    },
    optional={"spec": _VALUES, "status": _VALUES, "items": _VALUES},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_OBJECTS, min_size=1, max_size=4))
def test_any_manifest_gives_a_cluster_or_a_policy_error(objects):
    text = yaml.safe_dump_all(objects)
    try:
        parse_files([("fuzz.yaml", text)])
    except PolicyError as exc:
        assert exc.file == "fuzz.yaml"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("kind: Pod\n-[]{}&*!|>'\"#,?%@`\t\x00é"), max_size=80))
def test_any_text_gives_objects_or_a_policy_error(text):
    try:
        parse_files([("fuzz.yaml", text)])
    except PolicyError:
        pass
