"""The `netpol` command line: formats, determinism, exit codes and error messages (DESIGN.md 3)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policies.cli import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"
OLD, NEW = str(FIXTURES / "old"), str(FIXTURES / "new")


def netpol(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    from policies.cli import main  # noqa: F401  (main wraps run with the exit-code contract)

    try:
        code = run(list(args), io.StringIO(stdin), out, err)
    except Exception as exc:  # pragma: no cover - run() raises PolicyError for bad input
        from policies.engine import PolicyError

        if isinstance(exc, PolicyError):
            return 2, out.getvalue(), str(exc)
        raise
    return code, out.getvalue(), err.getvalue()


def test_reach_json_follows_the_contract() -> None:
    code, out, _ = netpol("reach", OLD, "--format", "json", "--level", "workload")
    assert code == 0
    data = json.loads(out)
    assert data["evaluator"] == "k8s" and data["level"] == "workload"
    ids = {n["id"]: n for n in data["nodes"]}
    assert ids["shop/Deployment/web"]["kind"] == "workload"
    assert ids["shop/Deployment/web"]["isolated"] == {"ingress": True, "egress": False}
    assert ids["0.0.0.0/0"]["kind"] == "external" and ids["0.0.0.0/0"]["cidrs"] == ["0.0.0.0/0"]
    edges = {(e["source"], e["target"]): e for e in data["edges"]}
    assert edges[("shop/Deployment/web", "shop/Deployment/api")] == {
        "source": "shop/Deployment/web", "target": "shop/Deployment/api", "all": False,
        "ports": [{"protocol": "TCP", "from": 9090, "to": 9090}], "text": "TCP 9090"}
    assert ("ops/Pod/monitor", "shop/Deployment/api") not in edges
    assert edges[("shop/Deployment/api", "ops/Pod/monitor")]["all"] is True
    assert all(e["source"] != e["target"] for e in data["edges"])


@pytest.mark.parametrize("fmt", ["json", "txt", "csv", "dot", "md"])
def test_reach_output_is_byte_identical_across_runs(fmt: str) -> None:
    """Separate processes (different hash seeds) must write the same bytes."""
    outs = {
        subprocess.run([sys.executable, "-m", "policies.cli", "reach", OLD, "--format", fmt], capture_output=True,
                       check=True, env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
                       cwd=Path(__file__).resolve().parents[2]).stdout
        for seed in (1, 2)
    }
    assert len(outs) == 1 and next(iter(outs))


def test_reach_pod_level_lists_replicas_and_templates() -> None:
    code, out, _ = netpol("reach", OLD, "--format", "txt")
    assert code == 0
    assert "shop/Deployment/web => shop/Deployment/api : TCP 9090\n" in out
    assert "shop/Deployment/api => shop/db-0 : TCP 5432\n" in out
    assert "ops/monitor => shop/db-0" not in out


def test_reach_reads_standard_input() -> None:
    text = (FIXTURES / "old" / "cluster.yaml").read_text() + "---\n" + (FIXTURES / "old" / "policies.yaml").read_text()
    code, out, _ = netpol("reach", "-", "--format", "txt", stdin=text)
    assert code == 0 and "shop/Deployment/web => shop/Deployment/api : TCP 9090" in out


def test_explain_json_trace_names_rule_and_line() -> None:
    code, out, _ = netpol("explain", OLD, "--from", "shop/Deployment/web", "--to", "shop/Deployment/api",
                          "--port", "9090", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["allowed"] is True and data["verdict"] == "ALLOW"
    assert data["egress"]["reason"] == "NOT_ISOLATED"
    ingress = data["ingress"]
    assert ingress["isolated"] is True and ingress["reason"] == "RULE_ALLOW"
    assert ingress["deciding_policy"] == "shop/api-from-web" and ingress["deciding_rule"] == 0
    pols = {p["id"]: p for p in ingress["policies"]}
    assert set(pols) == {"shop/default-deny", "shop/api-from-web"}
    assert pols["shop/api-from-web"]["source"]["file"].endswith("policies.yaml")
    assert pols["shop/api-from-web"]["source"]["line"] == 16
    assert pols["shop/api-from-web"]["rules"][0]["line"] == 22
    assert data["summary"] == "Allowed: shop/Deployment/web may reach shop/Deployment/api on TCP 9090."


def test_explain_denied_flow_says_why() -> None:
    code, out, _ = netpol("explain", OLD, "--from", "ops/monitor", "--to", "shop/db-0", "--port", "5432")
    assert code == 0
    assert out.startswith("Denied: ops/monitor may not reach shop/db-0 on TCP 5432")
    assert "ops/monitor does not match podSelector app=api" in out or "podSelector alone only matches" in out


def test_explain_suggests_the_rule_that_allows_a_denied_flow() -> None:
    code, out, _ = netpol("explain", OLD, "--from", "ops/monitor", "--to", "shop/db-0", "--port", "5432",
                          "--format", "json", "--suggest")
    assert code == 0
    suggestion = json.loads(out)["suggestion"]
    assert suggestion["goal"] == "allow" and suggestion["verified"] is True
    change = suggestion["changes"][0]
    assert change["action"] == "add-rule" and change["direction"] == "Ingress"
    assert "kubernetes.io/metadata.name: ops" in change["yaml"] and "port: 5432" in change["yaml"]
    code, text, _ = netpol("explain", OLD, "--from", "ops/monitor", "--to", "shop/db-0", "--port", "5432",
                           "--suggest")
    assert "To allow it: an ingress rule in " in text and "(checked)." in text
    assert "other workload pair(s) on this port" in text


def test_explain_from_an_external_ip() -> None:
    code, out, _ = netpol("explain", NEW, "--from", "10.9.9.9", "--to", "shop/Deployment/web", "--port", "8080",
                          "--format", "json")
    data = json.loads(out)
    assert data["verdict"] == "DENY"
    assert data["egress"]["verdict"] == "NOT_APPLICABLE"
    assert "in an except" in json.dumps(data["ingress"])


def test_diff_reports_opened_and_closed_flows_with_policies() -> None:
    code, out, _ = netpol("diff", OLD, NEW, "--format", "json")
    assert code == 0
    data = json.loads(out)
    added = {(e["source"], e["target"]): e for e in data["added"]}
    removed = {(e["source"], e["target"]): e for e in data["removed"]}
    assert added[("ops/Pod/monitor", "shop/Pod/db-0")]["policies"] == ["shop/db-from-api"]
    assert ("shop/Deployment/api", "shop/Deployment/web") in removed
    assert ("10.0.0.0/8", "shop/Deployment/web") in removed
    assert {p["id"] for p in data["policies_changed"]} == {"shop/db-from-api", "shop/web-from-anywhere"}


@pytest.mark.parametrize("fail_on, expected", [("added", 1), ("removed", 1), ("any", 1)])
def test_diff_fail_on_gates_ci(fail_on: str, expected: int) -> None:
    assert netpol("diff", OLD, NEW, "--fail-on", fail_on)[0] == expected


def test_diff_of_identical_inputs_is_empty_and_passes() -> None:
    code, out, _ = netpol("diff", OLD, OLD, "--fail-on", "any")
    assert code == 0 and out == "no change in reachability\n"


def test_lint_finds_dead_selectors(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text((FIXTURES / "old" / "cluster.yaml").read_text() + """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec:
  podSelector: {matchLabels: {app: wbe}}
  ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}], ports: [{port: htp}]}]
""")
    code, out, _ = netpol("lint", str(tmp_path), "--format", "json", "--fail-on", "warning")
    assert code == 1
    codes = {(f["code"], f["policy"]) for f in json.loads(out)}
    assert ("NP001", "shop/typo") in codes and ("NP002", "shop/typo") in codes


@pytest.mark.parametrize("text, needle", [
    ("kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: a}\nspec:\n  ingress:\n"
     "  - from: [{ipBlock: {cidr: 10.0.0.0/33}}]\n", "spec.ingress[0].from[0].ipBlock.cidr"),
    ("a: [\n", "YAML"),
])
def test_bad_input_exits_2_with_file_line_and_field(tmp_path: Path, text: str, needle: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "policies.cli", "reach", str(bad)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_endpoint_is_bad_input() -> None:
    proc = subprocess.run([sys.executable, "-m", "policies.cli", "explain", OLD, "--from", "shop/nope", "--to",
                           "shop/db-0", "--port", "1"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2 and "unknown pod 'shop/nope'" in proc.stderr


def test_files_of_any_size_are_read(tmp_path: Path) -> None:
    """Size limits belong to the web upload; the command line reads a 21 MiB file like any other."""
    big = tmp_path / "big.yaml"
    manifests = "---\n".join((FIXTURES / "old" / name).read_text(encoding="utf-8")
                             for name in ("cluster.yaml", "policies.yaml"))
    big.write_text(("# " + "x" * 1022 + "\n") * (21 * 1024) + manifests, encoding="utf-8")
    assert big.stat().st_size > 21 * 1024 * 1024
    code, out, err = netpol("reach", str(big), "--format", "json", "--level", "workload")
    assert code == 0, err
    _, small, _ = netpol("reach", OLD, "--format", "json", "--level", "workload")
    assert json.loads(out)["edges"] == json.loads(small)["edges"] != []


def test_help_and_version_start_without_the_engine() -> None:
    """`netpol --help` stays fast: the engine (and yaml) load only when a command runs; `reach`
    never loads networkx (the group graph is matrices; networkx only for ``Graph.to_networkx``)."""
    code = ("import sys\nfrom policies.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('policies.engine', 'networkx', 'yaml') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    helped = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, cwd=root)
    assert "usage: netpol" in helped.stdout and helped.stdout.rstrip().endswith("[]")
    version = subprocess.run([sys.executable, "-m", "policies.cli", "--version"], capture_output=True, text=True,
                             cwd=root)
    assert version.returncode == 0 and version.stdout.startswith("netpol ") and version.stdout.strip() != "netpol"
    reach = subprocess.run([sys.executable, "-c", code, "reach", OLD, "--level", "workload"], capture_output=True,
                           text=True, cwd=root)
    assert reach.stdout.rstrip().endswith("['policies.engine', 'yaml']"), reach.stderr


LOADED_ONLY_WHEN_USED = (
    "policies.engine.calico.model", "policies.engine.explain", "policies.engine.lint", "policies.engine.suggest",
    "policies.engine.diff", "policies.engine.expectations", "policies.engine.k8s.evaluate",
    "policies.engine.admin.evaluate", "policies.engine.decisions", "csv", "networkx",
)


def test_reach_on_kubernetes_input_loads_only_what_it_uses(tmp_path: Path) -> None:
    """Start-up is most of a small input's time: `reach` on NetworkPolicies alone loads neither the
    Calico model nor the other commands' modules nor the per-flow evaluators; a Calico input and
    the csv format load theirs."""
    code = ("import sys\nfrom policies.cli import main\nmain(sys.argv[1:])\n"
            f"print(sorted(m for m in {LOADED_ONLY_WHEN_USED!r} if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]

    def loaded(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=root)
        assert done.returncode == 0, done.stderr
        return done.stdout.rstrip().splitlines()[-1]

    assert loaded("reach", OLD, "--level", "workload") == "[]"
    assert loaded("reach", OLD, "--format", "csv") == "['csv']"
    calico = tmp_path / "calico.yaml"
    calico.write_text("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: deny}\n"
                      "spec: {selector: all(), types: [Ingress]}\n")
    assert "policies.engine.calico.model" in loaded("reach", OLD, str(calico))


def test_the_command_keeps_openblas_to_one_thread_unless_told_otherwise() -> None:
    code = ("import os, sys\nfrom policies.cli import main\nmain(sys.argv[1:])\n"
            "import numpy\nprint(os.environ['OPENBLAS_NUM_THREADS'])")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    default = subprocess.run([sys.executable, "-c", code, "reach", OLD], capture_output=True, text=True, cwd=root,
                             env=env)
    told = subprocess.run([sys.executable, "-c", code, "reach", OLD], capture_output=True, text=True, cwd=root,
                          env={**env, "OPENBLAS_NUM_THREADS": "2"})
    assert default.stdout.splitlines()[-1] == "1" and told.stdout.splitlines()[-1] == "2"
