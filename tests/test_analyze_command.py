"""`manage.py analyze` runs the netpol command line inside the project."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

OLD = str(Path(__file__).resolve().parent / "fixtures" / "cli" / "old")


def test_analyze_reach_writes_the_json_contract() -> None:
    out = io.StringIO()
    call_command("analyze", "reach", OLD, "--format", "json", "--level", "workload", stdout=out)
    data = json.loads(out.getvalue())
    assert data["level"] == "workload"
    assert {"source": "shop/Deployment/web", "target": "shop/Deployment/api", "all": False,
            "ports": [{"protocol": "TCP", "from": 9090, "to": 9090}], "text": "TCP 9090"} in data["edges"]


def test_analyze_bad_input_is_a_command_error() -> None:
    with pytest.raises(CommandError) as info:
        call_command("analyze", "explain", OLD, "--from", "x/nope", "--to", "shop/db-0", "--port", "1",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert info.value.returncode == 2
