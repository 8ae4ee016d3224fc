"""A ParseCache gives exactly what reading the files again gives: the same cluster, objects, notes
and warnings, every object and model object naming the file it was read from this time."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path
from typing import Any

import pytest

from policies.engine import ParseCache, ParseResult, load_paths, parse_files
from policies.engine.errors import PolicyError

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(p for name in ("netpol-analyzer", "netpol-analyzer-admin") if (CORPUS / name).is_dir()
               for p in (CORPUS / name).iterdir() if p.is_dir())


def _sources(result: ParseResult) -> list[Any]:
    c = result.cluster
    out: list[Any] = [x.source for x in (*c.pods, *c.policies, *c.namespaces, *c.nodes, *c.admin_policies)]
    if c.calico is not None:
        out.extend(p.source for p in c.calico.policies)
    return out


def _assert_same(got: ParseResult, want: ParseResult) -> None:
    assert got.cluster == want.cluster
    assert got.cluster.warnings == want.cluster.warnings
    assert got.objects == want.objects
    assert got.notes == want.notes
    assert _sources(got) == _sources(want)


@pytest.mark.parametrize("case", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_second_version_read_through_the_cache_is_read_again_exactly(case: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(case, copy)
    cache = ParseCache()
    first = load_paths([str(case)], cache=cache)
    _assert_same(first, load_paths([str(case)]))
    second = load_paths([str(copy)], cache=cache)
    _assert_same(second, load_paths([str(copy)]))
    assert all(str(copy) in s.file for s in _sources(second) if s.file)  # undefined namespaces have none
    assert len(cache) == len(first.files)


POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: x, labels: {{app: a}}}}
spec:
  containers:
  - name: c
    ports:
    - name: http
      {port}
status: {{podIP: 10.0.0.{ip}}}
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: x}}
spec:
  podSelector: {{matchLabels: {{app: a}}}}
  ingress:
  - ports:
    - port: {port}
"""


def test_warnings_and_notes_name_the_file_of_this_read() -> None:
    # A named port without a number warns; a policy name the API server would refuse is a note.
    files = [
        ("a.yaml", POD.format(name="p1", port="containerport: 80", ip=1)),
        ("b.yaml", POD.format(name="p2", port="containerPort: 80", ip=2)),
        ("c.yaml", POLICY.format(name="Bad_Name", port=80)),
    ]
    renamed = [(f"v2/{name}", text) for name, text in files]
    cache = ParseCache()
    first = parse_files(files, cache=cache)
    second = parse_files(renamed, cache=cache)
    _assert_same(second, parse_files(renamed))
    assert any("v2/a.yaml" in w for w in second.cluster.warnings)
    assert any("v2/c.yaml" in n for n in second.notes)
    assert first.cluster.warnings != second.cluster.warnings


def test_a_changed_file_is_read_and_the_others_are_shared() -> None:
    files = [("pods.yaml", POD.format(name="p1", port="containerPort: 80", ip=1)),
             ("policy.yaml", POLICY.format(name="allow", port=80))]
    changed = [files[0], ("policy.yaml", POLICY.format(name="allow", port=81))]
    cache = ParseCache()
    first = parse_files(files, cache=cache)
    second = parse_files(changed, cache=cache)
    _assert_same(second, parse_files(changed))
    assert first.files[0] is second.files[0]  # the same objects, read once
    assert first.files[1] is not second.files[1]
    assert second.cluster.pods[0] == first.cluster.pods[0]
    assert second.cluster.policies != first.cluster.policies


def test_errors_are_raised_on_every_read_and_size_limits_hold() -> None:
    cache = ParseCache()
    bad = [("bad.yaml", POLICY.format(name="allow", port=70000))]
    for _ in range(2):
        with pytest.raises(PolicyError, match="70000"):
            parse_files(bad, cache=cache)
    good = [("pods.yaml", POD.format(name="p1", port="containerPort: 80", ip=1))]
    kept = parse_files(good, cache=cache)
    with pytest.raises(PolicyError, match="larger than the limit"):
        parse_files(good, cache=cache, max_bytes=10)
    assert kept.cluster.pods


def test_entries_live_as_long_as_a_result_holds_them() -> None:
    cache = ParseCache()
    result = parse_files([("pods.yaml", POD.format(name="p1", port="containerPort: 80", ip=1))], cache=cache)
    assert len(cache) == 1
    del result
    gc.collect()
    assert len(cache) == 0
