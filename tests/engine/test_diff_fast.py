"""The fast diff (shared files read once, policies equal in both versions not digested) gives what the
full one gives: both versions read on their own, both graphs written as JSON and diffed."""

from __future__ import annotations

import io
import json
import random
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.cli import run
from policies.engine import build_graph, diff, diff_dicts, load_paths
from policies.engine.groups import address_sets
from policies.engine.k8s.model import NetworkPolicy, PortSpec, Rule
from policies.engine.model import Cluster

from .randomclusters import random_admin_cluster, random_cluster

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "netpol-analyzer"


def _full_diff(old: Cluster, new: Cluster, level: str) -> dict[str, Any]:
    before = build_graph(old, level=level, extra_address_sets=address_sets(new)).to_dict()
    after = build_graph(new, level=level, extra_address_sets=address_sets(old)).to_dict()
    return diff_dicts(json.loads(json.dumps(before)), json.loads(json.dumps(after))).to_dict()


def _edited(policy: NetworkPolicy, rng: random.Random) -> NetworkPolicy:
    """The policy with one change: a port added to a rule, a rule dropped, or only moved in its file."""
    choice = rng.choice(["port", "drop", "move"])
    if choice == "move":
        return replace(policy, ingress=tuple(replace(r, line=r.line + 7) for r in policy.ingress))
    if choice == "drop" and (policy.ingress or policy.egress):
        if policy.ingress:
            return replace(policy, ingress=policy.ingress[1:])
        return replace(policy, egress=policy.egress[1:])
    rule = Rule((), (PortSpec("TCP", rng.choice([80, 443, 8080])),))
    return replace(policy, ingress=(*policy.ingress, rule), policy_types=policy.policy_types | {"Ingress"})


@pytest.mark.parametrize("seed", range(40))
def test_graph_diff_of_one_changed_policy_equals_the_full_diff(seed: int) -> None:
    rng = random.Random(seed)
    old = random_admin_cluster(seed) if seed % 4 == 0 else random_cluster(seed, size=(6, 14), policies=(1, 6))
    if not old.policies:
        old = random_cluster(seed, size=(6, 14), policies=(1, 6))
    i = rng.randrange(len(old.policies))
    new = replace(old, policies=(*old.policies[:i], _edited(old.policies[i], rng), *old.policies[i + 1:]))
    for level in ("pod", "workload", "namespace"):
        before = build_graph(old, level=level, extra_address_sets=address_sets(new))
        after = build_graph(new, level=level, extra_address_sets=address_sets(old))
        assert diff(before, after).to_dict() == _full_diff(old, new, level)


def _change_one_policy(directory: Path, rng: random.Random) -> bool:
    """Edit the first NetworkPolicy of the directory's files (its ingress or egress emptied, or a port
    changed); False when the directory has none."""
    for path in sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        for doc in docs:
            items = doc.get("items", []) if isinstance(doc, dict) and doc.get("kind", "").endswith("List") else [doc]
            for obj in items:
                if not isinstance(obj, dict) or obj.get("kind") != "NetworkPolicy":
                    continue
                spec = obj.setdefault("spec", {})
                key = rng.choice(["ingress", "egress"])
                if spec.get(key):
                    spec[key] = spec[key][1:]
                else:
                    spec[key] = [{"ports": [{"port": rng.choice([80, 443, 5353]), "protocol": "TCP"}]}]
                    types = set(spec.get("policyTypes") or ["Ingress"]) | {key.capitalize()}
                    spec["policyTypes"] = sorted(types)
                path.write_text(yaml.safe_dump_all(docs))
                return True
    return False


CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


@pytest.mark.corpus
@pytest.mark.parametrize("case", CASES)
def test_netpol_diff_of_a_corpus_case_equals_the_full_diff(case: str, tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    shutil.copytree(CORPUS / case, old_dir)
    shutil.copytree(CORPUS / case, new_dir)
    if not _change_one_policy(new_dir, random.Random(case)):
        (new_dir / "extra.yaml").write_text(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: default}\n"
            "spec: {podSelector: {}}\n")
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(old_dir), str(new_dir), "--format", "json", "--level", "workload"],
               io.StringIO(), out, err)
    assert code == 0, err.getvalue()
    old, new = load_paths([str(old_dir)]).cluster, load_paths([str(new_dir)]).cluster
    assert json.loads(out.getvalue()) == _full_diff(old, new, "workload")
