"""Explanations of flows that admin network policies touch, in the CLI's words: each policy with its
tier and priority, each rule with its name and action, and a Pass naming where it handed the flow."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from policies.cli import run

VECTORS = Path(__file__).parent / "admin_vectors"


def netpol_explain(tmp_path: Path, vector: str, *args: str) -> str:
    (tmp_path / "base.yaml").write_text((VECTORS / "base.yaml").read_text())
    (tmp_path / f"{vector}.yaml").write_text(yaml.safe_load((VECTORS / f"{vector}.yaml").read_text())["policies"])
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", str(tmp_path), "--evaluator", "k8s", *args], io.StringIO(""), out, err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def test_pass_handed_to_the_network_policy_tier(tmp_path: Path) -> None:
    text = netpol_explain(tmp_path, "A03", "--from", "y/cli", "--to", "x/db", "--port", "5432")
    assert text.startswith("Allowed: y/cli may reach x/db on TCP 5432.")
    assert "  - AdminNetworkPolicy pass-blue [Admin tier, priority 10] (" in text
    assert ("A03.yaml:8): passed by rule 0 'to-owners' to the NetworkPolicy tier, which isolates x/db for "
            "ingress") in text
    assert "    * rule 0 'to-owners' (Pass, line 14): matches: y/cli matches namespaces {}" in text
    assert "  - NetworkPolicy x/db-from-red (" in text and "A03.yaml:1): allows" in text
    assert "deny-all" not in text  # priority 20 is never reached


def test_pass_handed_to_the_baseline_tier_which_decides(tmp_path: Path) -> None:
    text = netpol_explain(tmp_path, "A04", "--from", "y/cli", "--to", "x/web", "--port", "80")
    assert "Ingress of x/web: ALLOW (BASELINE_ALLOW)" in text
    assert "passed by rule 0 to the Baseline tier (no NetworkPolicy isolates x/web for ingress)" in text
    assert "  - BaselineAdminNetworkPolicy default [Baseline tier] (" in text
    assert "A04.yaml:9): accepted by rule 0 'red-http'" in text
    assert "    * rule 0 'red-http' (Allow, line 15)" in text


def test_pass_handed_to_the_default(tmp_path: Path) -> None:
    text = netpol_explain(tmp_path, "A03", "--from", "z/mon", "--to", "x/web", "--port", "80")
    assert "passed by rule 0 'to-owners' to the default, which allows it" in text
    assert "Ingress of x/web: ALLOW (NOT_ISOLATED)" in text


def test_a_diff_names_the_admin_policy_that_changed_a_flow() -> None:
    from policies.engine import build_graph, diff, parse_files

    base = (VECTORS / "base.yaml").read_text()
    guard = ("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: guard}\n"
             "spec:\n  tier: Admin\n  priority: 3\n  subject: {namespaces: {matchLabels: {team: blue}}}\n"
             "  ingress: [{name: no-red, action: ACTION, from: [{namespaces: {matchLabels: {team: red}}}]}]\n")
    old = parse_files([("base.yaml", base), ("g.yaml", guard.replace("ACTION", "Accept"))]).cluster
    new = parse_files([("base.yaml", base), ("g.yaml", guard.replace("ACTION", "Deny"))]).cluster
    moved = parse_files([("base.yaml", base), ("g.yaml", "\n\n" + guard.replace("ACTION", "Accept"))]).cluster
    changes = diff(build_graph(old), build_graph(new)).to_dict()
    assert changes["policies_changed"] == [
        {"kind": "ClusterNetworkPolicy", "id": "ClusterNetworkPolicy/guard", "key": "ClusterNetworkPolicy/guard",
         "change": "modified"}]
    closed = [e for e in changes["removed"] if e["source"] == "y/cli" and e["target"] == "x/web"]
    assert closed and closed[0]["policies"] == ["ClusterNetworkPolicy/guard"]
    assert diff(build_graph(old), build_graph(moved)).to_dict()["policies_changed"] == []
