"""Calico objects to the model: defaults (SEMANTICS.md 5.3), validation (5.5.1), out-of-scope kinds (0.3)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from policies.engine.calico.model import CalicoResources, EntityRule
from policies.engine.calico.parse import default_types
from policies.engine.calico.selector import CalicoSelectorError, Eq
from policies.engine.errors import PolicyError

from .helpers import calico


def np(
    spec: dict[str, Any],
    *,
    kind: str = "NetworkPolicy",
    name: str = "p",
    namespace: str | None = "x",
    api: str = "projectcalico.org/v3",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None and kind == "NetworkPolicy":
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def gnp(spec: dict[str, Any], name: str = "g") -> dict[str, Any]:
    return np(spec, kind="GlobalNetworkPolicy", name=name)


def one(spec: dict[str, Any], **kw: Any) -> Any:
    return calico([np(spec, **kw)]).policies[0]


def rule(r: dict[str, Any], direction: str = "ingress") -> Any:
    return one({direction: [r]}).rules(direction.capitalize())[0]


def error(docs: Any) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        calico(docs if isinstance(docs, list) else [docs])
    return info.value


# -- defaults ---------------------------------------------------------------------------------------


def test_policy_defaults() -> None:
    p = one({})
    assert (p.kind, p.namespace, p.name) == ("NetworkPolicy", "x", "p")
    assert p.tier == "default"
    assert p.order is None
    assert p.selector is None  # all()
    assert p.types == frozenset({"Ingress"})
    assert p.ingress == () and p.egress == ()


def test_namespace_defaults_to_default() -> None:
    assert one({}, namespace=None).namespace == "default"


def test_global_policy_has_no_namespace() -> None:
    p = calico([gnp({"order": 5, "namespaceSelector": "team == 'a'"})]).policies[0]
    assert (p.kind, p.namespace, p.id, p.order) == ("GlobalNetworkPolicy", "", "g", 5.0)
    assert p.namespace_selector == Eq("team", "a")


@pytest.mark.parametrize(
    ("ingress", "egress", "types"),
    [
        (0, 0, {"Ingress"}),  # no rules at all
        (1, 0, {"Ingress"}),
        (0, 1, {"Egress"}),  # unlike Kubernetes, egress rules alone give Egress only (V56)
        (2, 1, {"Ingress", "Egress"}),
    ],
)
def test_types_default_from_the_rules_present(ingress: int, egress: int, types: set[str]) -> None:
    spec = {"ingress": [{"action": "Allow"}] * ingress, "egress": [{"action": "Allow"}] * egress}
    assert one(spec).types == frozenset(types)
    assert default_types([1] * ingress, [1] * egress) == frozenset(types)


def test_explicit_types_are_kept_and_ignored_rules_warned() -> None:
    p = one({"types": ["Egress"], "ingress": [{"action": "Deny"}]})
    assert p.types == frozenset({"Egress"})
    assert any("spec.ingress is ignored" in w for w in p.warnings)


def test_crd_api_version_is_accepted() -> None:
    p = one({"selector": "app == 'a'"}, api="crd.projectcalico.org/v1")
    assert p.selector == Eq("app", "a")


def test_rule_fields() -> None:
    r = rule(
        {
            "action": "Allow",
            "protocol": "TCP",
            "ipVersion": 4,
            "source": {
                "nets": ["10.0.0.5/8", "192.0.2.1"],
                "notNets": ["10.1.0.0/16"],
                "selector": "a == 'b'",
                "notSelector": "c == 'd'",
                "namespaceSelector": "all()",
                "serviceAccounts": {"names": ["api"], "selector": "team == 'x'"},
                "ports": ["1000:2000"],
            },
            "destination": {"ports": [80, "443", "http"], "notPorts": [8080]},
        }
    )
    src: EntityRule = r.source
    assert src.nets == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.1/32"))
    assert src.not_nets == (ipaddress.ip_network("10.1.0.0/16"),)
    assert str(src.selector) == 'a == "b"' and str(src.not_selector) == 'c == "d"'
    assert str(src.namespace_selector) == "all()"
    assert src.service_accounts_names == ("api",) and str(src.service_accounts_selector) == 'team == "x"'
    assert src.ports == ((1000, 2000),)
    assert r.destination.ports == ((80, 80), (443, 443), "http")
    assert r.destination.not_ports == ((8080, 8080),)
    assert (r.action, r.protocol, r.ip_version) == ("Allow", "TCP", 4)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("TCP", "TCP"),
        (6, "TCP"),
        ("17", "UDP"),
        (1, "ICMP"),
        (58, "ICMPv6"),
        (132, "SCTP"),
        ("UDPLite", "UDPLite"),
        (136, "UDPLite"),
        (47, "47"),
        ("255", "255"),
    ],
)
def test_protocol_names_and_numbers_are_one_protocol(value: Any, canonical: str) -> None:
    assert rule({"action": "Allow", "protocol": value}).protocol == canonical
    assert rule({"action": "Deny", "notProtocol": value}).not_protocol == canonical


def test_icmp_fields() -> None:
    r = rule({"action": "Allow", "protocol": "ICMP", "icmp": {"type": 8, "code": 0}, "notICMP": {"type": 13}})
    assert (r.icmp_type, r.icmp_code, r.not_icmp_type, r.not_icmp_code) == (8, 0, 13, None)


def test_named_ports_alone_need_no_protocol() -> None:
    assert rule({"action": "Allow", "destination": {"ports": ["http"]}}).destination.ports == ("http",)


# -- validation ----------------------------------------------------------------------------------------

INVALID_RULES = [
    ({}, "spec.ingress[0].action", "action is missing"),
    ({"action": "allow"}, "spec.ingress[0].action", "'allow' is not valid"),
    ({"action": "Allow", "protocol": "tcp"}, "spec.ingress[0].protocol", "did you mean TCP"),
    ({"action": "Allow", "protocol": 0}, "spec.ingress[0].protocol", "outside 1-255"),
    ({"action": "Allow", "protocol": 256}, "spec.ingress[0].protocol", "outside 1-255"),
    ({"action": "Allow", "protocol": "GRE"}, "spec.ingress[0].protocol", "invalid protocol"),
    (
        {"action": "Allow", "destination": {"ports": [80]}},
        "spec.ingress[0].destination.ports",
        "TCP, UDP or SCTP",
    ),
    (
        {"action": "Allow", "protocol": "ICMP", "source": {"notPorts": ["1:2"]}},
        "spec.ingress[0].source.notPorts",
        "TCP, UDP or SCTP",
    ),
    (
        {"action": "Allow", "protocol": "UDPLite", "destination": {"ports": [80]}},
        "spec.ingress[0].destination.ports",
        "TCP, UDP or SCTP",
    ),
    (
        {"action": "Allow", "protocol": "TCP", "destination": {"ports": ["9:1"]}},
        "spec.ingress[0].destination.ports[0]",
        "minimum above its maximum",
    ),
    (
        {"action": "Allow", "protocol": "TCP", "destination": {"ports": [70000]}},
        "spec.ingress[0].destination.ports[0]",
        "outside 0-65535",
    ),
    (
        {"action": "Allow", "protocol": "TCP", "destination": {"ports": ["80:x"]}},
        "spec.ingress[0].destination.ports[0]",
        "invalid port",
    ),
    ({"action": "Allow", "icmp": {"type": 8}}, "spec.ingress[0].icmp", "ICMP or ICMPv6"),
    (
        {"action": "Allow", "protocol": "ICMP", "icmp": {"code": 0}},
        "spec.ingress[0].icmp.code",
        "needs an ICMP type",
    ),
    (
        {"action": "Allow", "protocol": "ICMP", "icmp": {"type": 255}},
        "spec.ingress[0].icmp.type",
        "outside 0-254",
    ),
    ({"action": "Allow", "protocol": "ICMP", "ipVersion": 6}, "spec.ingress[0].ipVersion", "ipVersion to 4"),
    ({"action": "Allow", "ipVersion": 5}, "spec.ingress[0].ipVersion", "4 or 6"),
    (
        {"action": "Allow", "source": {"nets": ["10.0.0.0/8"]}, "destination": {"nets": ["fd00::/64"]}},
        "spec.ingress[0]",
        "both IPv4 and IPv6",
    ),
    (
        {"action": "Allow", "source": {"nets": ["10.0.0.0/33"]}},
        "spec.ingress[0].source.nets[0]",
        "invalid CIDR",
    ),
    (
        {"action": "Allow", "ipVersion": 6, "source": {"nets": ["10.0.0.0/8"]}},
        "spec.ingress[0].ipVersion",
        "does not match",
    ),
    ({"action": "Deny", "http": {"methods": ["GET"]}}, "spec.ingress[0].http", "only valid on Allow"),
    ({"action": "Allow", "protocol": "UDP", "http": {"methods": ["GET"]}}, "spec.ingress[0].protocol", "TCP"),
    (
        {"action": "Allow", "destination": {"services": {"name": "s"}, "selector": "a == 'b'"}},
        "spec.ingress[0].destination.services",
        "cannot be combined",
    ),
    (
        {"action": "Allow", "destination": {"services": {"namespace": "x"}}},
        "spec.ingress[0].destination.services.name",
        "service name",
    ),
    ({"action": "Allow", "source": "x"}, "spec.ingress[0].source", "expected a mapping"),
]


@pytest.mark.parametrize(("bad", "path", "message"), INVALID_RULES)
def test_invalid_rules_are_rejected_with_their_field(bad: dict[str, Any], path: str, message: str) -> None:
    err = error(np({"ingress": [bad]}))
    assert err.path == path, str(err)
    assert message in err.message
    assert err.file == "test.yaml" and err.obj == "NetworkPolicy x/p"


INVALID_POLICIES = [
    (np({"types": ["ingress"]}), "spec.types[0]", "Ingress or Egress"),
    (np({"types": ["Ingress", "Ingress"]}), "spec.types", "twice"),
    (np({"order": "10"}), "spec.order", "number"),
    (np({"ingress": {"action": "Allow"}}), "spec.ingress", "expected a list"),
    (np({}, name=""), "metadata.name", "required"),
    (
        {"apiVersion": "projectcalico.org/v2", "kind": "NetworkPolicy", "metadata": {"name": "p"}},
        "apiVersion",
        "unsupported apiVersion",
    ),
    (
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p"}},
        "apiVersion",
        "not a Calico object",
    ),
    (
        {
            "apiVersion": "projectcalico.org/v3",
            "kind": "Tier",
            "metadata": {"name": "t"},
            "spec": {"defaultAction": "Allow"},
        },
        "spec.defaultAction",
        "Deny or Pass",
    ),
    (
        {
            "apiVersion": "projectcalico.org/v3",
            "kind": "Tier",
            "metadata": {"name": "default"},
            "spec": {"order": 5},
        },
        "spec.order",
        "fixed",
    ),
]


@pytest.mark.parametrize(("doc", "path", "message"), INVALID_POLICIES)
def test_invalid_objects_are_rejected(doc: dict[str, Any], path: str, message: str) -> None:
    err = error(doc)
    assert err.path == path, str(err)
    assert message in err.message


def test_duplicates_are_rejected() -> None:
    assert "defined twice" in error([np({}), np({})]).message
    tier = {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t"}}
    assert "defined twice" in error([tier, tier]).message


SELECTOR_ERRORS = [
    (np({"selector": "app = 'a'"}), "spec.selector", 5, "expected =="),
    (np({"serviceAccountSelector": "has(a"}), "spec.serviceAccountSelector", 6, "expected )"),
    (np({"selector": "global()"}), "spec.selector", 1, "global() cannot be used"),
    (np({"selector": "a == 'b' || global()"}), "spec.selector", 13, "global() cannot be used"),
    (
        np({"ingress": [{"action": "Allow", "source": {"selector": "global()"}}]}),
        "spec.ingress[0].source.selector",
        1,
        "only valid in an EntityRule namespaceSelector",
    ),
    (
        np({"ingress": [{"action": "Allow", "source": {"notSelector": "x in {"}}]}),
        "spec.ingress[0].source.notSelector",
        7,
        "expected a quoted string or }",
    ),
    (
        np({"ingress": [{"action": "Allow", "source": {"namespaceSelector": "global() || a == 'b'"}}]}),
        "spec.ingress[0].source.namespaceSelector",
        1,
        "cannot be combined",
    ),
    (
        np({"egress": [{"action": "Allow", "destination": {"serviceAccounts": {"selector": "a ="}}}]}),
        "spec.egress[0].destination.serviceAccounts.selector",
        3,
        "expected ==",
    ),
    (gnp({"namespaceSelector": "team == 'a' &&"}), "spec.namespaceSelector", 15, "expected a label"),
]


@pytest.mark.parametrize(("doc", "path", "column", "message"), SELECTOR_ERRORS)
def test_selector_errors_name_field_and_column(
    doc: dict[str, Any], path: str, column: int, message: str
) -> None:
    err = error(doc)
    assert isinstance(err, CalicoSelectorError)
    assert (err.path, err.column) == (path, column), str(err)
    assert message in err.message
    assert err.file == "test.yaml" and err.line is not None


def test_global_alone_is_valid_in_an_entity_namespace_selector() -> None:
    r = rule({"action": "Allow", "source": {"namespaceSelector": "global()"}})
    assert str(r.source.namespace_selector) == "global()"


def test_errors_from_the_loader_name_file_line_and_field() -> None:
    from policies.engine.parse import parse_files

    text = (
        "apiVersion: projectcalico.org/v3\n"
        "kind: GlobalNetworkPolicy\n"
        "metadata: {name: gate}\n"
        "spec:\n"
        "  ingress:\n"
        "  - action: Pass\n"
        "    source:\n"
        "      namespaceSelector: \"kubernetes.io/metadata.name = 'y'\"\n"
    )
    with pytest.raises(CalicoSelectorError) as info:
        parse_files([("pol.yaml", text)])
    err = info.value
    assert (err.file, err.line, err.path, err.column) == (
        "pol.yaml",
        8,
        "spec.ingress[0].source.namespaceSelector",
        29,
    )
    assert "pol.yaml:8" in str(err) and "column 29" in str(err)


def test_rule_lines_come_from_the_loader() -> None:
    from policies.engine.parse import parse_files

    text = (
        "apiVersion: projectcalico.org/v3\n"  # 1
        "kind: GlobalNetworkPolicy\n"  # 2
        "metadata: {name: gate}\n"  # 3
        "spec:\n"  # 4
        "  ingress:\n"  # 5
        "  - action: Pass\n"  # 6
        "    source:\n"  # 7
        "      nets: [10.0.0.0/8]\n"  # 8
        "  - action: Deny\n"  # 9
    )
    res = parse_files([("pol.yaml", text)]).cluster.calico
    assert res is not None
    first, second = res.policies[0].ingress
    assert (first.line, first.end_line, first.source.line) == (6, 8, 7)
    assert (second.line, second.end_line) == (9, 9)


# -- unsupported fields and out-of-scope kinds (0.3) ---------------------------------------------------


def test_http_and_services_are_recorded_as_unsupported() -> None:
    r = rule(
        {
            "action": "Allow",
            "http": {"methods": ["GET"]},
            "destination": {"services": {"name": "db", "namespace": "x"}},
        }
    )
    assert r.unsupported == ("http", "destination.services")
    assert r.destination.services == "x/db"
    p = one({"ingress": [{"action": "Allow", "http": {"paths": [{"exact": "/"}]}}]})
    assert any("uses http" in w for w in p.warnings)


def test_staged_policies_are_counted_and_ignored() -> None:
    res = calico(
        [
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": kind,
                "metadata": {"name": "s", "namespace": "x"},
                "spec": {},
            }
            for kind in ("StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy")
        ]
    )
    assert res.staged_ignored == 3
    assert res.policies == () and res.is_empty()


def test_untracked_and_pre_dnat_policies_are_ignored_with_a_warning() -> None:
    res = calico(
        [
            gnp({"doNotTrack": True, "applyOnForward": True}, "a"),
            gnp({"preDNAT": True, "applyOnForward": True}, "b"),
            gnp({"applyOnForward": True}, "c"),
        ]
    )
    assert [p.name for p in res.policies] == ["c"]
    assert sum("apply only to host endpoints" in w for w in res.warnings) == 2


def test_only_generated_profiles_are_modelled() -> None:
    res = calico(
        [
            {"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": n}}
            for n in ("kns.x", "ksa.x.default", "projectcalico-default-allow", "custom")
        ],
        ["x"],
    )
    assert res.profiles == ("custom", "kns.x", "ksa.x.default", "projectcalico-default-allow")
    assert [w for w in res.warnings if "Profile" in w] == [w for w in res.warnings if "custom" in w]
    assert len(res.warnings) == 1


def test_network_sets_and_host_endpoints_are_recorded_with_warnings() -> None:
    res = calico(
        [
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "GlobalNetworkSet",
                "metadata": {"name": "bad", "labels": {"role": "bad"}},
                "spec": {"nets": ["198.51.100.0/24"]},
            },
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "NetworkSet",
                "metadata": {"name": "ext", "namespace": "x", "labels": {"role": "ext"}},
                "spec": {"nets": ["203.0.113.0/24"]},
            },
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "HostEndpoint",
                "metadata": {"name": "n1-eth0", "labels": {"role": "host"}},
                "spec": {"node": "n1", "interfaceName": "eth0", "expectedIPs": ["192.168.0.1"]},
            },
            gnp({"selector": "role == 'host'"}, "hosts"),
            gnp({"ingress": [{"action": "Deny", "source": {"selector": "role == 'bad'"}}]}, "deny-bad"),
            np({"ingress": [{"action": "Allow", "source": {"selector": "role == 'ext'"}}]}, name="ext"),
        ]
    )
    assert not res.is_empty()
    assert [n.id for n in res.network_sets] == ["GlobalNetworkSet bad", "NetworkSet x/ext"]
    assert [h.node for h in res.host_endpoints] == ["n1"]
    assert len(res.warnings) == 3
    by_name = {p.name: p.warnings for p in res.policies}
    assert any("selects HostEndpoint n1-eth0" in w for w in by_name["hosts"])
    assert any("can match GlobalNetworkSet bad" in w for w in by_name["deny-bad"])
    assert any("can match NetworkSet x/ext" in w for w in by_name["ext"])


def test_other_calico_kinds_are_counted_and_felix_endpoint_to_host_action_noted() -> None:
    res = calico(
        [
            {"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": "p"}},
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "FelixConfiguration",
                "metadata": {"name": "default"},
                "spec": {"defaultEndpointToHostAction": "Drop"},
            },
        ]
    )
    assert dict(res.ignored) == {"FelixConfiguration": 1, "IPPool": 1}
    assert any("defaultEndpointToHostAction Drop" in w for w in res.warnings)
    assert res.is_empty()


def test_unknown_fields_are_warned_about() -> None:
    p = one(
        {
            "selector": "",
            "frobnicate": 1,
            "ingress": [{"action": "Allow", "sauce": 1, "source": {"nits": []}}],
        }
    )
    assert any("spec.frobnicate" in w for w in p.warnings)
    assert any("spec.ingress[0].sauce" in w for w in p.warnings)
    assert any("spec.ingress[0].source.nits" in w for w in p.warnings)


# -- tiers ---------------------------------------------------------------------------------------------------


def test_tiers_default_and_sort() -> None:
    res = calico(
        [
            {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": n}, "spec": spec}
            for n, spec in (
                ("b", {"order": 100}),
                ("a", {"order": 100}),
                ("last", {}),
                ("first", {"order": 1, "defaultAction": "Pass"}),
            )
        ]
    )
    assert [t.name for t in res.tiers] == ["first", "a", "b", "last"]
    assert res.tier("first").default_action == "Pass"
    assert res.tier("last").order is None and res.tier("last").default_action == "Deny"
    assert (res.tier("default").order, res.tier("default").default_action) == (1_000_000.0, "Deny")


def test_policy_in_an_undefined_tier_is_warned_about() -> None:
    p = one({"tier": "nowhere"})
    assert p.tier == "nowhere"
    assert any("tier 'nowhere' is not defined" in w for w in p.warnings)


def test_empty_resources() -> None:
    assert CalicoResources().is_empty()
    assert not calico([np({})]).is_empty()


def test_lint_findings() -> None:
    from policies.engine.lint import lint

    from .helpers import cluster, pod

    c = cluster(
        ["x"],
        [pod("x/a", "app=a", "10.0.1.1@n1")],
        calico_docs=[
            np({"selector": "app == 'nobody'"}, name="nobody"),
            np(
                {
                    "selector": "app == 'a'",
                    "ingress": [
                        {"action": "Deny"},
                        {"action": "Allow", "protocol": "TCP"},
                        {"action": "Log"},
                    ],
                },
                name="shadow",
            ),
            np(
                {"types": ["Egress"], "ingress": [{"action": "Allow", "http": {"methods": ["GET"]}}]},
                name="odd",
            ),
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "StagedNetworkPolicy",
                "metadata": {"name": "s", "namespace": "x"},
            },
        ],
    )
    found = {(f.code, f.policy, f.message) for f in lint(c)}
    assert ("CP001", "x/nobody", "applies to no pod in namespace x") in found
    assert (
        "CP002",
        "x/shadow",
        "ingress rule 1 is never reached: rule 0 (Deny) matches every packet",
    ) in found
    assert (
        "CP002",
        "x/shadow",
        "ingress rule 2 is never reached: rule 0 (Deny) matches every packet",
    ) in found
    assert any(code == "CP003" and pol == "x/odd" and "uses http" in msg for code, pol, msg in found)
    assert any(code == "CP004" and "1 staged policy is ignored" in msg for code, _, msg in found)
