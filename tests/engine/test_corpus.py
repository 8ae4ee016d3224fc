"""Differential test against netpol-analyzer's expected connectivity (tests/corpus/netpol-analyzer).

Every case is run at workload level with the peer's documented setting (ipBlocks never match pod
IPs) and compared address by address for external blocks. The documented divergences of the
corpus README are the only differences allowed, and each is applied explicitly here:

- hostNetwork workloads: SEMANTICS.md 4.8.2 treats them as node traffic (the peer treats them as
  ordinary pods); lines that name them are left out on both sides.
- finished pods (phase Succeeded/Failed) are not endpoints (N4); the peer keeps them.
- the peer's protocol universe is TCP, UDP and SCTP, so our sets are compared on those three.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from policies.engine import Settings, build_graph, load_paths
from policies.engine.connections import ConnectionSet
from policies.engine.model import Cluster

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "netpol-analyzer"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
PEER_SETTINGS = Settings(ip_block_matches_pod_ips=False)
L4 = ("SCTP", "TCP", "UDP")
LINE = re.compile(r"^(?P<src>.+?) => (?P<dst>.+?) : (?P<conn>.+)$")
RANGE = re.compile(r"^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$")

pytestmark = pytest.mark.corpus


def parse_conn(text: str) -> ConnectionSet:
    """NPA's ``All Connections`` / ``TCP 80,8080-8090,UDP 53`` (protocols are the three L4 ones)."""
    if text == "All Connections":
        return ConnectionSet.all().restricted_to(L4)
    conn = ConnectionSet.none()
    proto = ""
    for item in text.split(","):
        item = item.strip()
        if " " in item:
            proto, item = item.split(" ", 1)
        lo, _, hi = item.partition("-")
        conn |= ConnectionSet.protocol(proto, int(lo), int(hi or lo))
    return conn


@dataclass(frozen=True)
class Side:
    """One tool's answer: workload pairs, and external ranges per workload and direction."""

    pairs: dict[tuple[str, str], ConnectionSet]
    # (workload, "in" | "out") -> list of (lo, hi, conn) over IPv4 as integers
    external: dict[tuple[str, str], list[tuple[int, int, ConnectionSet]]]


def _ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(", "):
        m = RANGE.match(part)
        assert m, part
        out.append((int(ipaddress.ip_address(m.group(1))), int(ipaddress.ip_address(m.group(2)))))
    return out


def read_expected(path: Path) -> Side:
    pairs: dict[tuple[str, str], ConnectionSet] = {}
    external: dict[tuple[str, str], list[tuple[int, int, ConnectionSet]]] = {}
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        assert m, line
        src, dst, conn = m.group("src"), m.group("dst"), parse_conn(m.group("conn"))
        if src.endswith("[External]"):
            for lo, hi in _ranges(src[: -len("[External]")]):
                external.setdefault((dst, "in"), []).append((lo, hi, conn))
        elif dst.endswith("[External]"):
            for lo, hi in _ranges(dst[: -len("[External]")]):
                external.setdefault((src, "out"), []).append((lo, hi, conn))
        else:
            pairs[(src, dst)] = conn
    return Side(pairs, external)


def npa_name(workload_id: str) -> str:
    """Our ``ns/Kind/name`` as NPA prints it: ``ns/name[Kind]`` (an owner without kind prints Pod)."""
    ns, kind, name = workload_id.split("/", 2)
    return f"{ns}/{name}[{'Pod' if kind == 'Workload' else kind}]"


def ours(cluster: Cluster) -> Side:
    graph = build_graph(cluster, level="workload", evaluator="k8s", settings=PEER_SETTINGS)
    blocks = {n.id: graph.index.blocks[n.groups[0] - graph.index.n_groups] for n in graph.nodes
              if n.kind == "external"}
    pairs: dict[tuple[str, str], ConnectionSet] = {}
    external: dict[tuple[str, str], list[tuple[int, int, ConnectionSet]]] = {}
    for edge in graph.edges():
        conn = edge.conn.restricted_to(L4)
        if conn.is_empty:
            continue
        if edge.source in blocks:
            b = blocks[edge.source]
            if b.version == 4:
                external.setdefault((npa_name(edge.target), "in"), []).extend((lo, hi, conn) for lo, hi in b.ranges)
        elif edge.target in blocks:
            b = blocks[edge.target]
            if b.version == 4:
                external.setdefault((npa_name(edge.source), "out"), []).extend((lo, hi, conn) for lo, hi in b.ranges)
        else:
            pairs[(npa_name(edge.source), npa_name(edge.target))] = conn
    return Side(pairs, external)


def _lookup(ranges: list[tuple[int, int, ConnectionSet]], value: int) -> ConnectionSet:
    for lo, hi, conn in ranges:
        if lo <= value <= hi:
            return conn
    return ConnectionSet.none()


def compare(expected: Side, actual: Side, leave_out: set[str]) -> list[str]:
    """Every difference, as readable lines; external blocks compared on the common refinement."""
    problems = []
    for key in sorted(set(expected.pairs) | set(actual.pairs)):
        if key[0] in leave_out or key[1] in leave_out:
            continue
        want = expected.pairs.get(key, ConnectionSet.none())
        got = actual.pairs.get(key, ConnectionSet.none())
        if want != got:
            problems.append(f"{key[0]} => {key[1]}: expected {want}, got {got}")
    for key in sorted(set(expected.external) | set(actual.external)):
        if key[0] in leave_out:
            continue
        want_r, got_r = expected.external.get(key, []), actual.external.get(key, [])
        cuts = sorted({0} | {lo for lo, _, _ in want_r + got_r} | {hi + 1 for _, hi, _ in want_r + got_r})
        for lo in cuts:
            if lo >= 2**32:
                continue
            want, got = _lookup(want_r, lo), _lookup(got_r, lo)
            if want != got:
                problems.append(f"{key[0]} {key[1]} {ipaddress.ip_address(lo)}: expected {want}, got {got}")
    return problems


def _finished_workloads(case_dir: Path) -> set[str]:
    """NPA names of workloads whose pods are all finished (left out by N4, kept by the peer)."""
    out: set[str] = set()
    for path in sorted(case_dir.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            items = doc.get("items", [doc]) if isinstance(doc, dict) else []
            for item in items:
                if not isinstance(item, dict) or item.get("kind", "Pod") != "Pod":
                    continue
                if (item.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    meta = item.get("metadata") or {}
                    owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
                    ns = meta.get("namespace", "default")
                    out.add(f"{ns}/{owners[0]['name']}[{owners[0].get('kind') or 'Pod'}]" if owners
                            else f"{ns}/{meta['name']}[Pod]")
    return out


@pytest.mark.parametrize("case", CASES)
def test_corpus_case_agrees_with_peer(case: str) -> None:
    case_dir = CORPUS / case
    manifests = [str(p) for p in sorted(case_dir.iterdir()) if p.suffix in (".yaml", ".yml", ".json")]
    cluster = load_paths(manifests).cluster
    host_network = {npa_name(p.workload_id) for p in cluster.pods if p.host_network}
    leave_out = host_network | _finished_workloads(case_dir)
    expected = read_expected(case_dir / "expected_connlist.txt")
    problems = compare(expected, ours(cluster), leave_out)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])


def test_corpus_is_complete() -> None:
    assert len(CASES) == 42
