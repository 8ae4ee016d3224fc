"""The CI example of examples/ci/: its script run on the repository's demo shop, before and after
the demo's proposed change (policies/demo/shop-change), as a pull request would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
SHOP = ROOT / "policies" / "demo" / "shop"


def review(base: Path, head: Path, expect: Path, tmp_path: Path) -> tuple[int, str]:
    """Run the script with ``netpol`` being this checkout's command line (not an installed copy)."""
    netpol = tmp_path / "netpol"
    netpol.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m policies.cli "$@"\n')
    netpol.chmod(0o755)
    report = tmp_path / "report.md"
    done = subprocess.run(
        ["bash", str(CI / "netpol-review.sh"), str(base), str(head), str(expect), str(report)],
        env={**os.environ, "NETPOL": str(netpol)}, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    return done.returncode, report.read_text() + done.stderr


@pytest.fixture
def changed_shop(tmp_path: Path) -> Path:
    head = tmp_path / "head"
    shutil.copytree(SHOP, head)
    for path in (ROOT / "policies" / "demo" / "shop-change").glob("*.yaml"):
        shutil.copy(path, head / path.name)
    return head


def test_an_unchanged_shop_passes(tmp_path: Path) -> None:
    code, report = review(SHOP, SHOP, CI / "expectations.yaml", tmp_path)
    assert code == 0, report
    assert "no changes" in report.lower() or "broken by this change: none" in report
    assert "all hold" in report


def test_the_demo_change_breaks_an_expectation_and_fails(tmp_path: Path, changed_shop: Path) -> None:
    code, report = review(SHOP, changed_shop, CI / "expectations.yaml", tmp_path)
    assert code == 1, report
    assert "- broken by this change: postgres-closed-to-the-internet" in report
    assert "198.51.100.40/32 -> data/StatefulSet/postgres TCP/5432" in report
    assert "1 of 3 fail" in report


def test_bad_expectations_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("expectations:\n- name: x\n  from: {}\n  to: {}\n  expect: sometimes\n")
    code, report = review(SHOP, SHOP, bad, tmp_path)
    assert code == 2
    assert "bad.yaml:5" in report and "expectations[0].expect" in report


def test_the_workflow_runs_the_script_on_files_that_exist() -> None:
    workflow = yaml.safe_load((CI / "netpol-review.yml").read_text())
    assert (ROOT / workflow["env"]["MANIFESTS"]).is_dir()
    assert (ROOT / workflow["env"]["EXPECTATIONS"]).is_file()
    steps = workflow["jobs"]["netpol"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "examples/ci/netpol-review.sh" in runs
    assert "gh pr comment" in runs
