"""Every output format on a Calico input whose edges are "everything but" sets, against golden files.

tests/fixtures/wording/calico-all-but.yaml draws the topology. To accept a deliberate change of
the output, regenerate with NETPOL_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policies.engine import FORMATS, build_graph, load_paths, render

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "tests/fixtures/wording/calico-all-but.yaml"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_matches_its_golden_file(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the JSON names the file as given
    graph = build_graph(load_paths([FIXTURE]).cluster, level="pod")
    golden = ROOT / "tests/fixtures/wording" / f"golden.{fmt}"
    text = render(graph, fmt)
    if os.environ.get("NETPOL_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_text_formats_never_print_a_bare_protocol_for_none_of_it() -> None:
    text = (ROOT / "tests/fixtures/wording/golden.txt").read_text()
    assert "a/src => a/dst : all but TCP\n" in text
    assert "TCP ;" not in text and "all other protocols" not in text


def test_text_formats_join_external_blocks_with_the_same_connections() -> None:
    """a/src's edges to the two blocks (192.168.0.0/16 and the rest) are one line for 0.0.0.0/0;
    a/dst's ingress differs by block, so its one allowed block keeps its own line."""
    lines = (ROOT / "tests/fixtures/wording/golden.txt").read_text().splitlines()
    assert "0.0.0.0/0 => a/src : All Connections" in lines
    assert "a/src => 0.0.0.0/0 : All Connections" in lines
    assert "0.0.0.0-192.167.255.255,192.169.0.0-255.255.255.255 => a/dst : all but TCP" in lines
    assert not any(line.startswith("192.168.0.0/16 =>") for line in lines)
    md = (ROOT / "tests/fixtures/wording/golden.md").read_text()
    assert "| 0.0.0.0/0 | a/src | All Connections |" in md
