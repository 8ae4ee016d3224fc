"""Web benchmark: upload a generated cluster through the API and time the pages.

    python bench/web.py                        # 5,000 pods / 50 namespaces / 800 policies
    python bench/web.py --pods 2000 --namespaces 20 --policies 300
    python bench/web.py --json web.json        # keep the figures
    python bench/web.py --work-dir /tmp/w      # keep the database (/tmp/w/bench.sqlite3) for later runs

A fresh SQLite database in a temporary directory, the site's own settings (DEBUG off) and
Django's test client: each request goes through the whole middleware stack (sessions, CSRF,
gzip, ...) but not a socket. The upload is a multipart POST to /api/snapshots/; the analysis
runs as it does on the embedded default (a background thread of this process), and the script
polls /api/analyses/ID/ until it is done. A second snapshot (the same files and one policy more)
gives the compare page and the diff; a proposal on the first (that policy) the proposal pages.
Then every page is fetched twice, the second time counted (caches warm, as for a person clicking
around; the first is given too), with `Accept-Encoding: gzip`: the table gives the server time,
the CPU time of the thread that served it, the bytes sent and their uncompressed size.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def setup_django(work: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ["DEBUG"] = "False"
    os.environ["NETPOL_ENV_FILE"] = "/dev/null"
    os.environ["NETPOL_ANALYSIS_RUNNER"] = "thread"
    os.environ["NETPOL_THROTTLE_USER"] = "100000/minute"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "netpol_site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client's "testserver" host in
    call_command("migrate", verbosity=0)


def measure(client: Any, url: str, **params: Any) -> dict[str, Any]:
    started = time.perf_counter()
    client.get(url, params, HTTP_ACCEPT_ENCODING="gzip")  # warm
    first = time.perf_counter() - started
    started, started_cpu = time.perf_counter(), time.thread_time()
    response = client.get(url, params, HTTP_ACCEPT_ENCODING="gzip")
    seconds, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    body = b"".join(response.streaming_content) if response.streaming else response.content
    raw = gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body
    return {"status": response.status_code, "seconds": round(seconds, 3), "cpu": round(cpu, 3),
            "first": round(first, 3), "sent": len(body), "bytes": len(raw)}


CHANGE = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bench-opens-9999
  namespace: {namespace}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - port: 9999
"""


def biggest_namespace(files: dict[str, str]) -> str:
    """The namespace named in the most files' "namespace:" lines (where the change opens a port)."""
    counts: dict[str, int] = {}
    for text in files.values():
        for line in text.splitlines():
            if line.strip().startswith("namespace: "):
                name = line.split(":", 1)[1].strip()
                counts[name] = counts.get(name, 0) + 1
    return max(sorted(counts), key=lambda n: counts[n])


def upload(client: Any, uploads: list[Any]) -> tuple[int, float, float, float, dict[str, Any]]:
    """POST the files as a snapshot, wait for its analysis: (id, upload s, upload CPU s, upload to
    finished analysis s, the analysis)."""
    started, started_cpu = time.perf_counter(), time.thread_time()
    response = client.post("/api/snapshots/", {"name": "bench", "files": uploads})
    upload_seconds, upload_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    while True:
        analysis: dict[str, Any] = client.get(body["analysis"]["url"]).json()
        if analysis["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert analysis["status"] == "done", analysis.get("error")
    return int(body["id"]), upload_seconds, upload_cpu, time.perf_counter() - started, analysis


def run(pods: int, namespaces: int, policies: int, calico: int, shape: str = "sparse") -> dict[str, Any]:
    files, counts = load_generator().generate(pods=pods, namespaces=namespaces, policies=policies,
                                              calico_policies=calico, shape=shape)
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from policies.models import Membership, Resource, Team

    user = User.objects.create_user("bench", "bench@example.org", "bench")
    Membership.objects.create(team=Team.default(), user=user, role=Membership.Role.AUTHOR)  # uploads need a team
    client = Client()
    client.force_login(user)
    uploads = [SimpleUploadedFile(name, text.encode(), content_type="application/yaml")
               for name, text in sorted(files.items())]
    snapshot_id, upload_seconds, upload_cpu, analysis_seconds, analysis = upload(client, uploads)
    # A second snapshot of the same cluster with one policy changed: the compare page's diff.
    changed = dict(files)
    changed["zz-bench-change.yaml"] = CHANGE.format(namespace=biggest_namespace(files))
    second = [SimpleUploadedFile(n, text.encode(), content_type="application/yaml")
              for n, text in sorted(changed.items())]
    new_id, *second_figures = upload(client, second)
    # A proposal on the first snapshot (the same policy added): its analysis and diff, then its pages.
    started = time.perf_counter()
    response = client.post("/api/proposals/", {"base": snapshot_id, "title": "bench: open 9999",
                                                "manifests": CHANGE.format(namespace=biggest_namespace(files))},
                           content_type="application/json")
    assert response.status_code == 201, response.content[:500]
    proposal = response.json()
    while proposal["status"] not in ("ready", "failed"):
        time.sleep(0.5)
        proposal = client.get(f"/api/proposals/{proposal['id']}/").json()
    proposal_seconds = time.perf_counter() - started
    assert proposal["status"] == "ready", proposal.get("error")

    graph = json.loads(gzip.decompress(client.get(f"/api/snapshots/{snapshot_id}/graph/", {"level": "namespace"},
                                                  HTTP_ACCEPT_ENCODING="gzip").content))
    biggest = max((n for n in graph["nodes"] if n["kind"] == "namespace"), key=lambda n: n["pod_count"])["id"]
    policy = Resource.objects.filter(snapshot_id=snapshot_id, kind="NetworkPolicy").order_by("id").first()
    pod = Resource.objects.filter(snapshot_id=snapshot_id, kind="Pod", namespace=biggest).order_by("id").first()
    pods = Resource.objects.filter(snapshot_id=snapshot_id, kind="Pod").order_by("id")
    other = pods.exclude(namespace=biggest).first()
    assert policy and pod and other
    base = f"/snapshots/{snapshot_id}"
    api = f"/api/snapshots/{snapshot_id}"
    pages: list[tuple[str, str, dict[str, Any]]] = [
        ("overview", f"{base}/", {}),
        ("graph page", f"{base}/graph/", {}),
        ("graph API, namespace level", f"{api}/graph/", {"level": "namespace"}),
        (f"graph API, workloads of {biggest}", f"{api}/graph/", {"level": "workload", "namespace": biggest}),
        (f"graph API, pods of {biggest}", f"{api}/graph/", {"level": "pod", "namespace": biggest}),
        ("graph API, every workload", f"{api}/graph/", {"level": "workload"}),
        (f"graph API, pods of {biggest} and {other.namespace}", f"{api}/graph/",
         {"level": "pod", "namespace": f"{biggest},{other.namespace}"}),
        ("matrix", f"{base}/matrix/", {}),
        (f"matrix of {biggest}", f"{base}/matrix/", {"ns": biggest}),
        (f"matrix {other.namespace} to {biggest}", f"{base}/matrix/", {"from": other.namespace, "to": biggest}),
        ("flow check", f"{base}/flow/", {"src": f"{other.namespace}/{other.name}",
                                          "dst": f"{pod.namespace}/{pod.name}", "protocol": "TCP", "port": 8080}),
        ("policy page", f"{base}/policies/{policy.id}/", {}),
        ("snapshot list", "/", {}),
        ("compare page (second snapshot against the first)", f"/snapshots/{new_id}/compare/", {"against": snapshot_id}),
        ("graph page, what changed", f"/snapshots/{new_id}/graph/", {"against": snapshot_id}),
        ("diff API", f"/api/snapshots/{new_id}/diff/", {"against": snapshot_id}),
        ("proposal page", f"/proposals/{proposal['id']}/", {}),
        ("proposal list", "/proposals/", {}),
        ("proposal graph API", f"/api/proposals/{proposal['id']}/graph/", {}),
    ]
    rows = []
    for name, url, params in pages:
        row = {"page": name, **measure(client, url, **params)}
        rows.append(row)
        print(f"  {name}: {row['status']} {row['seconds']:.3f} s ({row['cpu']:.3f} s CPU; first request "
              f"{row['first']:.3f} s), {row['sent']:,} bytes sent "
              f"({row['bytes']:,} uncompressed)", flush=True)
    return {"cluster": counts, "upload_seconds": round(upload_seconds, 3), "upload_cpu": round(upload_cpu, 3),
            "analysis_seconds": round(analysis_seconds, 3), "timings": analysis.get("timings"),
            "second_upload_seconds": round(second_figures[0], 3),
            "second_analysis_seconds": round(second_figures[2], 3), "proposal_seconds": round(proposal_seconds, 3),
            "load_average": os.getloadavg(), "pages": rows}


def table(result: dict[str, Any]) -> str:
    lines = ["| page | status | server s | CPU s | first request s | sent | uncompressed |",
             "|---|---|---|---|---|---|---|"]
    for row in result["pages"]:
        lines.append(f"| {row['page']} | {row['status']} | {row['seconds']:.3f} | {row['cpu']:.3f} "
                     f"| {row['first']:.3f} "
                     f"| {row['sent'] / 1024:,.0f} KiB "
                     f"| {row['bytes'] / 1024:,.0f} KiB |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--policies", type=int, default=800)
    parser.add_argument("--calico-policies", type=int, default=0)
    parser.add_argument("--shape", choices=["sparse", "dense", "open"], default="sparse",
                        help="the generated cluster's shape (bench/generate.py)")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this file")
    parser.add_argument("--work-dir", help="keep the database in this directory (default: a temporary one, removed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netpol-web-bench-") as temporary:
        work = Path(args.work_dir or temporary)
        work.mkdir(parents=True, exist_ok=True)
        setup_django(work)
        print(f"{args.pods} pods, {args.namespaces} namespaces, {args.policies} policies, {args.shape}", flush=True)
        result = run(args.pods, args.namespaces, args.policies, args.calico_policies, args.shape)
    print(f"upload (201): {result['upload_seconds']:.2f} s ({result['upload_cpu']:.2f} s CPU); "
          f"upload to finished analysis: "
          f"{result['analysis_seconds']:.2f} s (engine {result['timings']}); the second snapshot: "
          f"{result['second_upload_seconds']:.2f} s, {result['second_analysis_seconds']:.2f} s; a proposal "
          f"to ready: {result['proposal_seconds']:.2f} s; "
          f"load average at the end {result['load_average']}")
    print(table(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
