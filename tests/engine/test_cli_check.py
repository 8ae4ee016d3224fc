"""`netpol check` and `netpol diff --expect`: the JSON contract and the exit codes (0 hold, 1 fail,
2 bad input naming file, line and field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.test_cli import NEW, OLD, netpol

EXPECT = """\
expectations:
- name: web-reaches-api
  from: {namespace: shop, workload: Deployment/web}
  to: {namespace: shop, podSelector: {matchLabels: {app: api}}}
  ports: ["TCP/9090"]
  expect: allow
- name: db-closed-to-ops
  from: {namespace: ops}
  to: {namespace: shop, podSelector: {matchLabels: {app: db}}}
  expect: deny
"""


@pytest.fixture
def expect_file(tmp_path: Path) -> str:
    path = tmp_path / "expect.yaml"
    path.write_text(EXPECT)
    return str(path)


def test_check_json_follows_the_contract(expect_file: str) -> None:
    code, out, _ = netpol("check", NEW, "--expect", expect_file, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert [(e["name"], e["expect"], e["ok"]) for e in data["expectations"]] == [
        ("web-reaches-api", "allow", True),
        ("db-closed-to-ops", "deny", False),
    ]
    [violation] = data["expectations"][1]["violations"]
    assert {k: violation[k] for k in ("source", "target", "protocol", "port")} == {
        "source": "ops/monitor", "target": "shop/db-0", "protocol": "TCP", "port": 5432}
    assert violation["explanation"].startswith("Allowed: ops/monitor may reach shop/db-0 on TCP 5432")


@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_check_exits_0_when_every_expectation_holds(expect_file: str, fmt: str) -> None:
    code, out, _ = netpol("check", OLD, "--expect", expect_file, "--format", fmt)
    assert code == 0
    assert ("2 of 2 expectations hold" if fmt == "txt" else "all hold") in out


def test_check_output_is_deterministic(expect_file: str) -> None:
    assert netpol("check", NEW, "--expect", expect_file, "--format", "json") == netpol(
        "check", NEW, "--expect", expect_file, "--format", "json")


def test_check_bad_expectations_exit_2_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(EXPECT.replace('"TCP/9090"', '"TCP/http"'))
    code, _, err = netpol("check", OLD, "--expect", str(path))
    assert code == 2
    assert f"{path}:5" in err and "expectations[0].ports[0]" in err


def test_diff_expect_says_what_the_change_breaks(expect_file: str) -> None:
    code, out, _ = netpol("diff", OLD, NEW, "--format", "json", "--expect", expect_file)
    assert code == 1
    assert json.loads(out)["expectations"] == {"broken": ["db-closed-to-ops"], "fixed": [], "still_failing": []}
    code, out, _ = netpol("diff", NEW, OLD, "--expect", expect_file)
    assert code == 0
    assert "fixed by this change: db-closed-to-ops" in out
