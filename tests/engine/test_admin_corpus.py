"""Differential test against netpol-analyzer's admin-policy cases (tests/corpus/netpol-analyzer-admin).

Same comparison as ``test_corpus.py`` (workload level, ipBlocks and networks never match pod IPs,
external blocks compared address by address) with the same documented divergences: hostNetwork
workloads are node traffic and left out on both sides; finished pods are not endpoints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.engine import load_paths
from tests.engine.test_corpus import _finished_workloads, compare, npa_name, ours, read_expected

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "netpol-analyzer-admin"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

pytestmark = pytest.mark.corpus


def _manifests(case_dir: Path) -> list[str]:
    return sorted(str(p) for p in case_dir.rglob("*") if p.suffix in MANIFEST_SUFFIXES)


@pytest.mark.parametrize("case", CASES)
def test_admin_corpus_case_agrees_with_peer(case: str) -> None:
    case_dir = CORPUS / case
    cluster = load_paths(_manifests(case_dir)).cluster
    assert cluster.admin_policies, "every case of this corpus has admin policies"
    host_network = {npa_name(p.workload_id) for p in cluster.pods if p.host_network}
    leave_out = host_network | _finished_workloads(case_dir)
    expected = read_expected(case_dir / "expected_connlist.txt")
    problems = compare(expected, ours(cluster), leave_out)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])


def test_admin_corpus_is_complete() -> None:
    assert len(CASES) == 27
