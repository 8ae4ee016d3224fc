"""Benchmark a cluster sync: peak memory of reading a large cluster through the kubernetes client.

    python bench/sync.py                 # 10,000 pods in 100 namespaces
    python bench/sync.py --pods 2000 --namespaces 20

The test Kubernetes API server (tests/kubeapi.py) serves a synthetic cluster from this process
(tests/kube_cluster.large_cluster: Deployments, ReplicaSets, pods, two policies per namespace).
Each mode then runs in a fresh Python process, whose ``ru_maxrss`` is its peak memory:

- ``imports``: the process after importing Django, the kubernetes client and netpol (the floor);
- ``naive``: the pods as the client gives them by default (whole body read, then V1Pod objects);
- ``stream``: netpol's reader (policies.kube.read_cluster), pages of 500, parsed as they arrive;
- ``one-page``: the same reader asking for everything in one page (limit 100,000);
- ``sync``: the whole sync (read, parse, store the snapshot) into a fresh SQLite database; its
  analysis is queued for a worker (the engine's own figures are in docs/benchmarks.md);
- ``sync-analysed`` (not run by default): the same on the embedded default, where the analysis of
  the new snapshot (three graphs) runs in the same process right after the sync.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, os, resource, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netpol_site.settings")
django.setup()
import kubernetes
from policies import kube
from policies.services import clusters
mode, kubeconfig_text = sys.argv[1], sys.stdin.read()
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
result = {}
if mode == "naive":
    pods = kubernetes.client.CoreV1Api(kube.api_client(kubeconfig=kubeconfig_text)).list_pod_for_all_namespaces()
    result["pods"] = len(pods.items)
elif mode in ("stream", "one-page"):
    read = kube.read_cluster(kube.api_client(kubeconfig=kubeconfig_text),
                             page_size=500 if mode == "stream" else 100_000)
    result["pods"] = read.counts["pods"]
    result["yaml_bytes"] = sum(len(text) for _, text in read.files)
elif mode in ("sync", "sync-analysed"):
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    connection = clusters.add_cluster(name="bench", kubeconfig=kubeconfig_text)
    outcome = clusters.sync_cluster(connection=connection)
    result["pods"] = outcome.counts["pods"]
    result["created"] = outcome.created
result["seconds"] = round(time.perf_counter() - started, 2)
result["floor_kib"] = floor
result["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(result))
"""

MODES = ("imports", "naive", "stream", "one-page", "sync")


def run_mode(mode: str, kubeconfig_text: str, work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DEBUG": "True",
        "NETPOL_ENV_FILE": "/dev/null",
        "DATABASE_URL": f"sqlite:///{work / f'{mode}.db'}",
        # "sync": the analysis is queued (in-memory broker, no worker); "sync-analysed": run in-process.
        "CELERY_TASK_ALWAYS_EAGER": "True" if mode == "sync-analysed" else "False",
        "NETPOL_SYNC_READ_TIMEOUT": "600",
    }
    child_mode = "none" if mode == "imports" else mode
    out = subprocess.run([sys.executable, "-c", CHILD, child_mode], input=kubeconfig_text, cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()

    from tests.kube_cluster import large_cluster
    from tests.kubeapi import RunningAPI, kubeconfig

    cluster = large_cluster(pods=args.pods, namespaces=args.namespaces)
    json_bytes = {path: len(json.dumps({"kind": "List", "items": items})) for path, items in cluster.items.items()}
    server = RunningAPI(cluster)
    try:
        print(f"{args.pods:,} pods in {args.namespaces} namespaces; lists' JSON: "
              f"{sum(json_bytes.values()) / 2**20:.1f} MiB in all, pods {json_bytes['/api/v1/pods'] / 2**20:.1f} MiB")
        print(f"{'mode':<10} {'seconds':>8} {'floor MiB':>10} {'peak MiB':>9} {'above floor':>12}")
        with tempfile.TemporaryDirectory() as work:
            for mode in args.modes.split(","):
                started = time.perf_counter()
                result = run_mode(mode, kubeconfig(server.url), Path(work))
                seconds = result.get("seconds", round(time.perf_counter() - started, 2))
                floor, peak = result["floor_kib"] / 1024, result["peak_kib"] / 1024
                print(f"{mode:<10} {seconds:>8} {floor:>10.0f} {peak:>9.0f} {peak - floor:>12.0f}", flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    main()
