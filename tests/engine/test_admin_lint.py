"""Lint findings about admin network policies (AP001-AP005): each fires on the mistake it names,
with the policy, file and line of the rule, and stays quiet on policies that do what they say."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policies.engine import lint, parse_files
from policies.engine.findings import Finding

BASE = (Path(__file__).parent / "admin_vectors" / "base.yaml").read_text()


def cnp(name: str, body: str, tier: str = "Admin", priority: int = 10) -> str:
    return (f"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\n"
            f"spec:\n  tier: {tier}\n  priority: {priority}\n{body}")


def anp(name: str, body: str, priority: int = 10) -> str:
    return (f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: {name}}}\n"
            f"spec:\n  priority: {priority}\n{body}")


BLUE = "  subject: {namespaces: {matchLabels: {team: blue}}}\n"


def findings(*docs: str) -> list[Finding]:
    cluster = parse_files([("base.yaml", BASE), ("admin.yaml", "---\n".join(docs))]).cluster
    return [f for f in lint(cluster) if f.code.startswith("AP")]


def test_subject_that_selects_nothing() -> None:
    found = findings(cnp("typo", "  subject: {namespaces: {matchLabels: {team: bleu}}}\n"
                                 "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n"))
    assert [(f.code, f.policy, f.source.file, f.source.line) for f in found] == [
        ("AP001", "ClusterNetworkPolicy/typo", "admin.yaml", 1)]


def test_host_network_pods_are_never_subjects() -> None:
    found = findings(cnp("agents", "  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: "
                                   "{app: agent}}}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n"))
    assert [f.code for f in found] == ["AP001"]


def test_rule_shadowed_by_an_earlier_rule_of_the_policy() -> None:
    body = BLUE + ("  ingress:\n"
                   "  - {name: all-red, action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}\n"
                   "  - {name: red-web, action: Accept, from: [{namespaces: {matchLabels: {team: red}}}],\n"
                   "     protocols: [{tcp: {destinationPort: {number: 80}}}]}\n")
    found = findings(cnp("p", body))
    assert [(f.code, f.source.line) for f in found] == [("AP002", 10)]
    assert "ingress rule 1 'red-web' (Accept) is shadowed" in found[0].message
    assert "ClusterNetworkPolicy p ingress rule 0 'all-red' (Deny)" in found[0].message


def test_rule_shadowed_by_a_higher_priority_policy() -> None:
    first = anp("first", BLUE + "  egress: [{name: pass-all, action: Pass, to: [{namespaces: {}}]}]\n", priority=1)
    later = anp("later", BLUE + "  egress:\n  - {name: deny-z, action: Deny, to: [{pods: {namespaceSelector: {},"
                " podSelector: {matchLabels: {app: mon}}}}]}\n", priority=5)
    found = [f for f in findings(first, later) if f.code == "AP002"]
    assert [(f.policy, f.source.line) for f in found] == [("AdminNetworkPolicy/later", 16)]
    assert "AdminNetworkPolicy first egress rule 0 'pass-all' (Pass)" in found[0].message


def test_a_rule_that_still_decides_something_is_not_shadowed() -> None:
    body = BLUE + ("  ingress:\n"
                   "  - {action: Deny, from: [{namespaces: {matchLabels: {team: red}}}],"
                   " protocols: [{tcp: {destinationPort: {number: 80}}}]}\n"
                   "  - {action: Accept, from: [{namespaces: {matchLabels: {team: red}}}]}\n")
    assert findings(cnp("p", body)) == []


def test_shadowed_only_where_the_lower_priority_policy_overlaps() -> None:
    # "wide" covers x only; "narrow" also selects y, where nothing shadows it.
    wide = cnp("wide", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", priority=1)
    narrow = cnp("narrow", "  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n",
                 priority=2)
    assert [f.code for f in findings(wide, narrow)] == []


def test_pass_with_nothing_after_it() -> None:
    body = BLUE + "  ingress: [{name: hand-on, action: Pass, from: [{namespaces: {}}]}]\n"
    found = findings(cnp("p", body))
    assert [(f.code, f.source.line) for f in found] == [("AP003", 8)]
    assert "ingress rule 0 'hand-on' (Pass) passes to nothing" in found[0].message


def test_pass_in_the_baseline_tier_always_has_nothing_after_it() -> None:
    body = BLUE + "  egress: [{action: Pass, to: [{namespaces: {}}]}]\n"
    found = findings(cnp("b", body, tier="Baseline"))
    assert [f.code for f in found] == ["AP003"]
    assert "nothing comes after the Baseline tier" in found[0].message


@pytest.mark.parametrize("after", [
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: x}\n"
    "spec: {podSelector: {}, policyTypes: [Ingress]}\n",
    cnp("base", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", tier="Baseline"),
])
def test_pass_followed_by_a_network_policy_or_baseline_is_fine(after: str) -> None:
    body = BLUE + "  ingress: [{action: Pass, from: [{namespaces: {}}]}]\n"
    assert findings(cnp("p", body), after) == []


def test_priority_tie_that_could_match_one_connection() -> None:
    a = anp("a", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}]}]\n",
            priority=7)
    b = cnp("b", "  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}\n"
                 "  ingress: [{action: Accept, from: [{namespaces: {matchLabels: {team: red}}}]}]\n", priority=7)
    found = findings(a, b)
    assert sorted((f.code, f.policy) for f in found) == [
        ("AP004", "AdminNetworkPolicy/a"), ("AP004", "ClusterNetworkPolicy/b")]
    assert all("priority 7" in f.message and "undefined" in f.message for f in found)


@pytest.mark.parametrize(("second", "why"), [
    (cnp("b", "  subject: {namespaces: {matchLabels: {team: red}}}\n"
              "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", priority=7), "other subjects"),
    (cnp("b", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}]\n"
         , priority=7), "other peers"),
    (cnp("b", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", priority=8), "other priorities"),
    (cnp("b", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", tier="Baseline", priority=7),
     "other tiers"),
])
def test_ties_that_cannot_match_one_connection_are_fine(second: str, why: str) -> None:
    a = cnp("a", BLUE + "  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: blue}}}]}]\n",
            priority=7)
    assert [f.code for f in findings(a, second) if f.code == "AP004"] == [], why


def test_peer_that_matches_nothing() -> None:
    body = BLUE + ("  egress:\n  - action: Deny\n    to:\n    - {namespaces: {}}\n"
                   "    - {nodes: {matchLabels: {role: gpu}}}\n"
                   "    - {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: nope}}}}\n")
    found = findings(cnp("p", body))
    assert [(f.code, f.source.line) for f in found] == [("AP005", 12), ("AP005", 13)]
    assert "peer 1 (nodes role=gpu)" in found[0].message


def test_correct_admin_policies_have_no_findings() -> None:
    guard = anp("guard", BLUE + ("  ingress:\n"
                                 "  - {name: monitoring, action: Allow, from: [{namespaces: {matchLabels: "
                                 "{kubernetes.io/metadata.name: z}}}]}\n"
                                 "  - {name: rest-to-owners, action: Pass, from: [{namespaces: {}}]}\n"), priority=1)
    base = cnp("default-deny", "  subject: {namespaces: {}}\n"
                               "  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n", tier="Baseline", priority=1)
    assert findings(guard, base) == []


def test_findings_reach_the_lint_output_with_file_and_line() -> None:
    found = findings(cnp("p", BLUE + "  ingress: [{name: hand-on, action: Pass, from: [{namespaces: {}}]}]\n"))
    assert str(found[0]).startswith("admin.yaml:8: warning AP003 ClusterNetworkPolicy/p:")
    assert found[0].to_dict()["source"]["line"] == 8


def test_vector_a18_tie_is_reported() -> None:
    """docs/admin-policies.md vector A18: the tie netpol breaks by name is reported by lint."""
    vector = yaml.safe_load((Path(__file__).parent / "admin_vectors" / "A18.yaml").read_text())
    found = findings(vector["policies"])
    assert sorted((f.code, f.policy) for f in found if f.code == "AP004") == [
        ("AP004", "AdminNetworkPolicy/a-allow"), ("AP004", "AdminNetworkPolicy/b-deny")]
