"""The graph page words a connection set exactly as the engine does (ConnectionSet.__str__).

Edges from the engine carry their `text`, but the page also words unions it makes itself
(graph-model.js mergePorts), so its portsText must agree with Python on every set.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from policies.engine.connections import ConnectionSet

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = ["TCP", "UDP", "SCTP", "UDPLite", "ICMP", "ICMPv6", "47"]

SCRIPT = """
import { portsText } from "%s";
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const edges = JSON.parse(input);
  process.stdout.write(JSON.stringify(edges.map((edge) => portsText(edge))));
});
"""


def random_set(rng: random.Random) -> ConnectionSet:
    conn = ConnectionSet.none()
    for _ in range(rng.randint(0, 5)):
        protocol = rng.choice(PROTOCOLS)
        if rng.random() < 0.6:
            lo = rng.randint(1, 65535)
            conn |= ConnectionSet.protocol(protocol, lo, min(65535, lo + rng.choice([0, 1, 10, 1000, 70000])))
        else:
            conn |= ConnectionSet.protocol(protocol)
    return ConnectionSet.all() - conn if rng.random() < 0.5 else conn


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_page_and_engine_word_every_set_alike(tmp_path: Path) -> None:
    rng = random.Random(13)
    sets = [random_set(rng) for _ in range(500)]
    edges = []
    for conn in sets:
        edge = conn.to_dict()
        del edge["text"]  # as a union made on the page: the page words it itself
        edges.append(edge)
    script = tmp_path / "words.mjs"
    script.write_text(SCRIPT % (ROOT / "static/policies/graph-model.js").as_uri())
    result = subprocess.run(["node", str(script)], input=json.dumps(edges), capture_output=True, text=True,
                            timeout=60, check=True)
    words = json.loads(result.stdout)
    mismatches = [(str(c), w) for c, w in zip(sets, words, strict=True) if str(c) != w]
    assert not mismatches, mismatches[:10]
    assert any(text.startswith("all but ") for text in words) and any(";" in text for text in words)
