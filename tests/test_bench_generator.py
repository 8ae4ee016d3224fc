"""The benchmark's synthetic-cluster generator: deterministic, exact sizes, valid manifests."""

from __future__ import annotations

import collections
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.bench_generator import load_generator

ROOT = Path(__file__).resolve().parents[1]
GENERATE = ROOT / "bench" / "generate.py"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


gen = load_generator()


def _docs(files: dict[str, str]) -> dict[str, list[dict]]:
    return {name: list(yaml.load_all(text, Loader=LOADER)) for name, text in files.items()}


def _kinds(docs: dict[str, list[dict]]) -> collections.Counter:
    return collections.Counter((d["apiVersion"], d["kind"]) for ds in docs.values() for d in ds)


@pytest.fixture(scope="module")
def small():
    files, summary = gen.generate(200, 8, 80, calico_policies=12, seed=1)
    return files, summary, _docs(files)


def test_same_seed_same_bytes_through_the_cli(tmp_path):
    args = ["--pods", "120", "--namespaces", "5", "--policies", "25", "--calico-policies", "6"]
    for out in ("a", "b"):
        subprocess.run(
            [sys.executable, str(GENERATE), *args, "--out", str(tmp_path / out)],
            check=True,
            capture_output=True,
        )
    a = sorted(p.name for p in (tmp_path / "a").iterdir())
    b = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert a == b and "cluster.yaml" in a and len(a) == 6
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_seed_changes_the_output_and_default_seed_is_one():
    one, _ = gen.generate(100, 4, 10, seed=1)
    assert gen.generate(100, 4, 10)[0] == one
    assert gen.generate(100, 4, 10, seed=2)[0] != one


def test_rerun_into_the_same_directory_removes_stale_files(tmp_path):
    gen.write(tmp_path, gen.generate(100, 6, 10)[0])
    (tmp_path / "keep.txt").write_text("not ours")
    files, _ = gen.generate(50, 3, 5)
    gen.write(tmp_path, files)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*files, "keep.txt"])


@pytest.mark.parametrize(
    "pods,namespaces,policies,calico",
    [(200, 8, 80, 12), (1, 1, 0, 0), (37, 3, 7, 1), (150, 20, 3, 0), (60, 2, 90, 5)],
)
def test_sizes_are_honoured(pods, namespaces, policies, calico):
    files, summary = gen.generate(pods, namespaces, policies, calico_policies=calico)
    kinds = _kinds(_docs(files))
    assert kinds[("v1", "Pod")] == pods == summary["pods"]
    assert kinds[("v1", "Namespace")] == namespaces == summary["namespaces"]
    assert kinds[("networking.k8s.io/v1", "NetworkPolicy")] == policies == summary["policies"]
    calico_count = (
        kinds[("projectcalico.org/v3", "GlobalNetworkPolicy")] + kinds[("projectcalico.org/v3", "NetworkPolicy")]
    )
    assert calico_count == calico == summary["calico_policies"]
    assert kinds[("v1", "Node")] == summary["nodes"] == max(1, round(pods / 30))
    assert len(files) == namespaces + 1


def test_every_document_is_a_kubernetes_object(small):
    _, _, docs = small
    for name, ds in docs.items():
        assert ds, name
        for d in ds:
            assert isinstance(d, dict)
            assert d.get("apiVersion") and d.get("kind"), (name, d)
            assert isinstance(d.get("metadata"), dict) and d["metadata"].get("name"), (name, d)
            if d["kind"] in ("Namespace", "Node", "Tier", "GlobalNetworkPolicy"):
                assert name == "cluster.yaml"
                assert "namespace" not in d["metadata"]
            else:
                assert name == f"ns-{d['metadata']['namespace']}.yaml"


def test_emitter_round_trips_awkward_strings():
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {
            "a": "yes",
            "b": "on",
            "c": "123",
            "d": "1e3",
            "e": "",
            "f": "app == 'web'",
            "g": "10.0.0.0/8",
            "h": "null",
            "i": "~",
            "j": "a: b",
            "k": "- x",
            "l": "#x",
            "m": "N",
            "n": "2024-01-01",
            "o": "0x1F",
            "p": "1:20",
            "q": ".inf",
            "r": 'quote"d',
            "s": "tab\t",
        },
        "list": [1, True, None, 2.5, [], {}, [["nested"]], [{"k": "v", "w": [1]}]],
        "empty": {},
    }
    assert yaml.safe_load(gen.dump_documents([doc])) == doc


def test_output_matches_the_generated_objects(small):
    """YAML round-trip: what a parser reads is what the generator built (no quoting accidents)."""
    g = gen.Generator(200, 8, 80, 12, seed=1)
    files = g.build()
    for info in g.namespaces:
        assert list(yaml.load_all(files[f"ns-{info.name}.yaml"], Loader=LOADER)) == g.ns_docs.get(info.name, [])
    assert list(yaml.load_all(files["cluster.yaml"], Loader=LOADER)) == g.cluster_docs
    assert files == small[0]


def test_documents_are_in_sorted_order(small):
    _, _, docs = small
    for name, ds in docs.items():
        if name == "cluster.yaml":
            continue
        keys = [gen._doc_key(d) for d in ds]
        assert keys == sorted(keys), name


def test_realistic_shape(small):
    _, _, docs = small
    every = [d for ds in docs.values() for d in ds]
    by_uid = {d["metadata"]["uid"]: d for d in every}
    namespaces = {d["metadata"]["name"]: d for d in every if d["kind"] == "Namespace"}
    nodes = {d["metadata"]["name"]: d for d in every if d["kind"] == "Node"}
    assert "kube-system" in namespaces
    for ns in namespaces.values():
        labels = ns["metadata"]["labels"]
        assert {"team", "env", "kubernetes.io/metadata.name"} <= set(labels)
        assert labels["kubernetes.io/metadata.name"] == ns["metadata"]["name"]
    for node in nodes.values():
        internal = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
        assert len(internal) == 1 and ipaddress.ip_address(internal[0]) in ipaddress.ip_network("192.168.0.0/16")

    ns_index = {}
    pods = [d for d in every if d["kind"] == "Pod"]
    owners = collections.Counter()
    host_network = 0
    pod_ips = set()
    for pod in pods:
        meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
        (ref,) = meta["ownerReferences"]
        assert ref["controller"] is True
        owner = by_uid[ref["uid"]]
        assert (owner["kind"], owner["metadata"]["name"]) == (ref["kind"], ref["name"])
        assert owner["metadata"]["namespace"] == meta["namespace"]
        owners[ref["kind"]] += 1
        if ref["kind"] == "ReplicaSet":
            (dep_ref,) = owner["metadata"]["ownerReferences"]
            assert dep_ref["controller"] is True and by_uid[dep_ref["uid"]]["kind"] == "Deployment"
            assert meta["labels"]["pod-template-hash"] in ref["name"]
        labels = meta["labels"]
        assert "app" in labels or "k8s-app" in labels or "app.kubernetes.io/name" in labels, labels
        if "tier" in labels and labels["tier"] in ("frontend", "backend", "worker", "data"):
            assert {"app", "version"} <= set(labels)
        assert spec["nodeName"] in nodes
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        ip = ipaddress.ip_address(status["podIP"])
        if spec.get("hostNetwork"):
            host_network += 1
            assert status["podIP"] == status["hostIP"]
        else:
            assert ip in ipaddress.ip_network("10.0.0.0/8")
            assert ip not in pod_ips
            pod_ips.add(ip)
            second = ns_index.setdefault(meta["namespace"], ip.packed[1])
            assert ip.packed[1] == second  # 10.<namespace>.x.y
        for c in spec["containers"]:
            for port in c.get("ports", []):
                assert len(port["name"]) <= 15 and 0 < port["containerPort"] < 65536
    assert set(owners) == {"ReplicaSet", "StatefulSet", "DaemonSet"}
    assert host_network > 0
    assert len(set(ns_index.values())) == len(ns_index)
    workloads = [d for d in every if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
    assert 5 <= len(pods) / len(workloads) <= 15


def test_policy_mix(small):
    _, _, docs = small
    policies = [d for ds in docs.values() for d in ds if d["kind"] == "NetworkPolicy"]
    k8s = [p for p in policies if p["apiVersion"] == "networking.k8s.io/v1"]
    text = yaml.safe_dump(k8s)
    names = collections.Counter(p["metadata"]["name"] for p in k8s)
    assert names["default-deny-ingress"] >= 5
    assert names["default-deny-egress"] >= 1 and names["allow-dns-egress"] >= 1
    assert names["allow-same-namespace"] >= 1
    for needle in (
        "endPort",
        "except:",
        "ipBlock",
        "namespaceSelector",
        "matchExpressions",
        "NotIn",
        "kubernetes.io/metadata.name",
        "k8s-app: kube-dns",
        "port: http",
        "port: 8080",
    ):
        assert needle in text, needle
    ids = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies]
    assert len(ids) == len(set(ids))

    calico = [d for ds in docs.values() for d in ds if d["apiVersion"] == "projectcalico.org/v3"]
    kinds = collections.Counter(d["kind"] for d in calico)
    assert kinds["Tier"] == 2 and kinds["GlobalNetworkPolicy"] >= 1 and kinds["NetworkPolicy"] >= 1
    actions = {
        r["action"]
        for d in calico
        if d["kind"] != "Tier"
        for r in d["spec"].get("ingress", []) + d["spec"].get("egress", [])
    }
    assert actions == {"Allow", "Deny", "Pass"}
    for d in calico:
        if d["kind"] != "Tier":
            assert isinstance(d["spec"]["order"], int)
            tier = d["spec"].get("tier", "default")
            assert tier == "default" or d["metadata"]["name"].startswith(tier + ".")


def test_no_calico_unless_asked():
    files, _ = gen.generate(100, 4, 10)
    assert "projectcalico.org" not in "".join(files.values())


def test_bad_arguments():
    with pytest.raises(ValueError):
        gen.generate(10, 0, 1)
    with pytest.raises(ValueError):
        gen.generate(10, 3840, 1)


def _engine_importable() -> bool:
    try:
        import policies.engine.parse  # noqa: F401
        from policies.engine import build_graph, render  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _engine_importable(), reason="the engine's parser is not there")
def test_run_py_measures_a_tiny_size_end_to_end(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--sizes",
            "40/3/8",
            "--level",
            "pod",
            "--work-dir",
            str(tmp_path),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "parse s" in done.stdout and "s per 1,000 pods" in done.stdout
    (row,) = json.loads(out.read_text())
    assert row["pods"] == 40 and row["namespaces"] == 3 and row["policies"] == 8
    assert row["calico_policies"] == 0
    assert row["edges"] > 0 and row["groups"] > 0 and row["output_bytes"] > 0
    for key in ("parse_s", "graph_s", "output_s", "total_s", "peak_rss_mib"):
        assert row[key] > 0, key


# -- shapes and scale ---------------------------------------------------------------------------


def _pods(docs: dict[str, list[dict]]) -> list[dict]:
    return [d for ds in docs.values() for d in ds if d["kind"] == "Pod"]


def _k8s_policies(docs: dict[str, list[dict]]) -> list[dict]:
    return [d for ds in docs.values() for d in ds if d["kind"] == "NetworkPolicy"]


def test_sparse_is_the_default_shape():
    assert gen.generate(120, 5, 30)[0] == gen.generate(120, 5, 30, shape="sparse")[0]


def test_dense_gives_each_workload_many_label_combinations():
    sparse = _docs(gen.generate(600, 10, 100, shape="sparse")[0])
    dense = _docs(gen.generate(600, 10, 100, shape="dense")[0])

    def combinations(docs: dict[str, list[dict]]) -> int:
        ignore = {"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name"}
        return len(
            {
                (
                    p["metadata"]["namespace"],
                    tuple(sorted((k, v) for k, v in p["metadata"]["labels"].items() if k not in ignore)),
                )
                for p in _pods(docs)
            }
        )

    assert combinations(dense) > 4 * combinations(sparse)
    app_pods = [
        p for p in _pods(dense) if p["metadata"]["labels"].get("tier") in ("frontend", "backend", "worker", "data")
    ]
    assert app_pods and all({"shard", "release", "track", "build"} <= set(p["metadata"]["labels"]) for p in app_pods)
    assert all("shard" not in p["metadata"]["labels"] for p in _pods(sparse))


def test_dense_policies_allow_across_namespaces_by_expressions_and_named_ports():
    policies = _k8s_policies(_docs(gen.generate(600, 10, 100, shape="dense")[0]))
    assert len(policies) == 100
    wide = 0
    named = 0
    for p in policies:
        for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
            peers = rule.get("from", []) + rule.get("to", [])
            if any("matchExpressions" in peer.get("namespaceSelector", {}) for peer in peers):
                wide += 1
            named += sum(isinstance(port.get("port"), str) for port in rule.get("ports", []))
    assert wide >= 15 and named >= 40
    text = yaml.safe_dump(policies)
    for needle in ("key: team", "key: shard", "operator: NotIn", "namespaceSelector: {}", "port: http"):
        assert needle in text, needle


def test_open_has_no_policies_and_refuses_some():
    files, summary = gen.generate(300, 6, 0, shape="open")
    assert summary["policies"] == 0 and summary["pods"] == 300
    assert "NetworkPolicy" not in "".join(files.values())
    with pytest.raises(ValueError, match="open shape has no policies"):
        gen.generate(300, 6, 5, shape="open")
    with pytest.raises(ValueError, match="unknown shape"):
        gen.generate(300, 6, 5, shape="medium")


def test_streamed_files_are_the_in_memory_files(tmp_path):
    files, summary = gen.generate(300, 7, 40, shape="dense", seed=3)
    written = gen.Generator(300, 7, 40, seed=3, shape="dense").write(tmp_path)
    assert written["files"] == len(files) and written["pods"] == summary["pods"] == 300
    assert written["bytes"] == sum(len(t.encode()) for t in files.values())
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == files


def test_more_than_254_namespaces_get_a_block_each():
    files, summary = gen.generate(900, 300, 60, shape="dense")
    docs = _docs(files)
    assert summary["namespaces"] == 300 and len(files) == 301
    namespaces = {d["metadata"]["name"] for d in docs["cluster.yaml"] if d["kind"] == "Namespace"}
    assert len(namespaces) == 300
    blocks: dict[str, ipaddress.IPv4Network] = {}
    seen = set()
    for pod in _pods(docs):
        if pod["spec"].get("hostNetwork"):
            continue
        ip = ipaddress.ip_address(pod["status"]["podIP"])
        assert ip not in seen
        seen.add(ip)
        block = ipaddress.ip_network(f"{ip}/20", strict=False)
        assert blocks.setdefault(pod["metadata"]["namespace"], block) == block
    assert len(set(blocks.values())) == len(blocks) > 254
    with pytest.raises(ValueError, match="at most 3839 namespaces"):
        gen.generate(10, 3840, 0)


def test_the_cli_writes_a_shape_and_says_so(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(GENERATE),
            "--shape",
            "open",
            "--pods",
            "50",
            "--namespaces",
            "3",
            "--json",
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(done.stdout)
    assert summary["shape"] == "open" and summary["pods"] == 50 and summary["files"] == 4
    assert summary["bytes"] == sum(p.stat().st_size for p in tmp_path.iterdir())


def test_pod_names_are_unique_even_when_random_suffixes_collide(monkeypatch):
    """DaemonSets on thousands of nodes draw thousands of five-character suffixes: with a
    three-letter alphabet (243 suffixes) collisions are certain, and the names must stay unique."""
    monkeypatch.setattr(gen, "HASH_ALPHABET", "abc")
    docs = _docs(gen.generate(1800, 6, 0, shape="open")[0])
    names = collections.Counter((p["metadata"]["namespace"], p["metadata"]["name"]) for p in _pods(docs))
    assert len(names) == 1800 and max(names.values()) == 1
    daemon = [p for p in _pods(docs) if p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"]
    assert len(daemon) >= 3 * 60
