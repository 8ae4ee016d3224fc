"""Runs the graph page's model tests (graph_model.test.mjs) with node's own test runner."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_graph_model_module() -> None:
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(HERE / "graph_model.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"pass (\d+)", result.stdout)
    assert passed is not None and int(passed.group(1)) > 0, result.stdout
    assert re.search(r"fail 0\b", result.stdout), result.stdout
