"""The engine is a library: importing it loads no Django, DRF or Celery module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_imports_no_web_framework() -> None:
    code = (
        "import sys, policies.engine, policies.engine.calico, policies.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework', 'celery', 'kombu'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert "policies.engine" in subprocess.run(
        [sys.executable, "-c", "import sys, policies.engine; print(list(sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_callers_outside_the_engine_use_only_its_exports() -> None:
    """The web app, API and command line import ``policies.engine`` itself, never its submodules."""
    import ast

    import policies.engine as engine

    offenders = []
    for path in sorted((ROOT / "policies").rglob("*.py")):
        if "engine" in path.relative_to(ROOT / "policies").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("policies.engine."):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
                elif node.module == "policies.engine":
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name} is not exported"
                                  for a in node.names if a.name not in engine.__all__]
            elif isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}"
                              for a in node.names if a.name.startswith("policies.engine.")]
    assert offenders == []
