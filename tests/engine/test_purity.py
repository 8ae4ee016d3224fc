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
