"""Load test: gunicorn on loopback, concurrent API clients asking for graphs, explanations and
diffs of a generated cluster; prints throughput and p50/p95/p99 latency per kind of request.

    python bench/load.py --pods 5000 --clients 50 --seconds 30 [--think 0.5]

The cluster comes from bench/generate.py (two snapshots: the second with fewer policies, for the
diff). Both are stored and analysed in-process before the clock starts, in a SQLite file of a
temporary directory; explanations and graphs are then answered from the stored analyses. Before
the server starts, a new process times its first explanation of the snapshot, from the explainer
stored with the analysis and by parsing the snapshot (as before it was stored).

Without think time, each client asks again as soon as it is answered: the server is saturated and
a request's latency is about clients / throughput (Little's law), whatever one request costs. With
``--think S`` each client pauses S seconds on average (exponentially distributed) between requests,
as people and scripts do, and the latencies are those of a server under that offered load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIX = (("explain", 8), ("graph", 1), ("diff", 1))  # relative weights of the requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(tmp: Path, pods: int, env: dict[str, str]) -> tuple[str, int, int, list[str]]:
    """Generate two clusters, store and analyse them; return (token, new id, old id, pod ids)."""
    namespaces, policies = max(pods // 100, 5), max(pods // 10, 20)
    for name, count in (("new", policies), ("old", policies // 2)):
        subprocess.run(
            [sys.executable, "bench/generate.py", "--pods", str(pods), "--namespaces", str(namespaces),
             "--policies", str(count), "--out", str(tmp / name)],
            cwd=ROOT, check=True, env=env, stdout=subprocess.DEVNULL,
        )
    script = f"""
import json
from pathlib import Path
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from policies import services
from policies.models import Membership, Team
from policies.teams import add_member
user = User.objects.create_user("bench")
add_member(team=Team.default(), username=user.username, role=Membership.Role.VIEWER)
ids = []
for name in ("old", "new"):
    files = [(p.name, p.read_text()) for p in sorted(Path({str(tmp)!r}, name).glob("*.yaml"))]
    snapshot = services.create_snapshot(name=name, files=files, user=user)
    services.run_analysis(analysis_id=snapshot.analyses.get().id)
    services.wait_for_analyses()  # the upload may have started it in a thread of this process
    assert snapshot.analyses.get().status == "done", snapshot.analyses.get().error
    ids.append(snapshot.id)
pods = [r.namespace + "/" + r.name for r in snapshot.resources.filter(kind="Pod")]
print(json.dumps({{"token": Token.objects.create(user=user).key, "old": ids[0], "new": ids[1], "pods": pods}}))
"""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["token"], data["new"], data["old"], data["pods"]


def cold_start(env: dict[str, str], snapshot: int, pods: list[str]) -> dict[str, float]:
    """Seconds to the first and second explanation of a new process (Django set up, nothing of the
    snapshot in memory): from the explainer stored with the analysis, and by parsing the snapshot as
    a process did before it was stored (and still does for analyses stored without it)."""
    script = f"""
import json, time
from contextlib import nullcontext
from unittest import mock
from policies import services
from policies.models import Snapshot
from policies.services import answers
snapshot = Snapshot.objects.get(id={snapshot})
ask = dict(snapshot=snapshot, source={pods[0]!r}, destination={pods[-1]!r}, port=80)
took = {{}}
for way in ("stored", "parsed"):
    answers._explainers.clear()
    with mock.patch.object(answers, "stored_explainer", return_value=None) if way == "parsed" else nullcontext():
        began, began_cpu = time.perf_counter(), time.process_time()
        services.explain_flow(**ask)
        took[way + " first"] = time.perf_counter() - began
        took[way + " first cpu"] = time.process_time() - began_cpu
        began = time.perf_counter()
        services.explain_flow(**{{**ask, "port": 443}})
        took[way + " second"] = time.perf_counter() - began
print(json.dumps(took))
"""
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    took: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return took


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--think", default="0",
                        help="mean pause of a client between its requests, in seconds (exponential; "
                             "0: each client asks again as soon as it has its answer); several, comma-"
                             "separated, run one after the other on the same server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env.update({"DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "DEBUG": "False",
                    "SECRET_KEY": "bench-" + "x" * 50,
                    "CELERY_TASK_ALWAYS_EAGER": "True", "NETPOL_THROTTLE_USER": "1000000/minute",
                    "DJANGO_SETTINGS_MODULE": "netpol_site.settings"})
        started = time.perf_counter()
        token, new, old, pods = prepare(tmp, args.pods, env)
        print(f"prepared {len(pods)} pods in two snapshots in {time.perf_counter() - started:.0f} s")
        took = cold_start(env, new, pods)
        print("a new process's first explanation: {:.3f} s ({:.3f} s CPU) from the stored explainer (then "
              "{:.4f} s), {:.3f} s ({:.3f} s CPU) parsing the snapshot (then {:.4f} s); load average {:.1f}".format(
                  took["stored first"], took["stored first cpu"], took["stored second"], took["parsed first"],
                  took["parsed first cpu"], took["parsed second"], os.getloadavg()[0]))
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "netpol_site.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", str(args.threads), "--timeout", "300"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for i, think in enumerate(float(t) for t in str(args.think).split(",")):
                run(port, token, new, old, pods, args, think, warm=i == 0)
        finally:
            web.terminate()
            web.wait(timeout=30)


def run(port: int, token: str, new: int, old: int, pods: list[str], args: argparse.Namespace, think: float,
        warm: bool) -> None:
    base = f"http://127.0.0.1:{port}/api"
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    first_error: dict[str, str] = {}

    def get(path: str, params: dict[str, str]) -> int:
        url = f"{base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120) as r:
                r.read()
                return int(r.status)
        except urllib.error.HTTPError as exc:
            first_error.setdefault(path, f"{exc.code} {exc.read()[:300]!r}")
            return int(exc.code)

    deadline = time.monotonic() + 30
    while warm and time.monotonic() < deadline:
        try:
            if get("/health/", {}) == 200:
                break
        except OSError:
            time.sleep(0.2)
    # Warm up: every gunicorn worker reads the stored analyses (each worker's first explanation
    # reads the snapshot's stored explainer). Explanations go first and alone, so that their time
    # is the explainer's; then graphs and diffs (a worker's first diff computes it). The requests of
    # a kind go out together, so that each worker gets some of them.
    warm_started = time.perf_counter()
    slowest: dict[str, float] = {}
    warm_lock = threading.Lock()
    for request in ((f"/snapshots/{new}/explain/", {"from": pods[0], "to": pods[-1], "port": "80"}),
                    (f"/snapshots/{new}/graph/", {"level": "workload"}),
                    (f"/snapshots/{new}/diff/", {"against": str(old)})) if warm else ():

        def timed(request: tuple[str, dict[str, str]] = request) -> None:
            began = time.perf_counter()
            get(*request)
            took = time.perf_counter() - began
            with warm_lock:
                slowest[request[0]] = max(slowest.get(request[0], 0.0), took)

        batch = [threading.Thread(target=timed) for _ in range(args.workers * args.threads)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    if warm:
        kinds = ", ".join(f"{path.rstrip('/').rsplit('/', 1)[-1]} {took:.2f} s" for path, took in slowest.items())
        print(f"warmed up in {time.perf_counter() - warm_started:.1f} s ({args.workers * args.threads} concurrent "
              f"requests of each kind, the slowest: {kinds}); load average {os.getloadavg()[0]:.1f}")

    latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
    errors: dict[str, int] = {name: 0 for name, _ in MIX}
    lock = threading.Lock()
    kinds = [name for name, weight in MIX for _ in range(weight)]
    stop_at = time.monotonic() + args.seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            kind = rng.choice(kinds)
            if kind == "explain":
                path, params = f"/snapshots/{new}/explain/", {
                    "from": rng.choice(pods), "to": rng.choice(pods), "port": str(rng.choice([80, 443, 8080, 5432]))}
            elif kind == "graph":
                path, params = f"/snapshots/{new}/graph/", {"level": "workload"}
            else:
                path, params = f"/snapshots/{new}/diff/", {"against": str(old)}
            began = time.perf_counter()
            try:
                code = get(path, params)
            except OSError:
                code = 0
            took = time.perf_counter() - began
            with lock:
                latencies[kind].append(took)
                if code != 200:
                    errors[kind] += 1
            if think > 0:
                time.sleep(min(rng.expovariate(1 / think), 10 * think))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    total = sum(len(v) for v in latencies.values())
    print(f"{args.clients} clients (think time {think:g} s), {args.seconds:.0f} s, gunicorn {args.workers} "
          f"workers x {args.threads} threads, {len(pods)} pods: {total / args.seconds:.1f} requests/s, "
          f"{sum(errors.values())} errors; load average {os.getloadavg()[0]:.1f}")
    print(f"{'request':<8} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for name, values in latencies.items():
        ms = [v * 1000 for v in values]
        print(f"{name:<8} {len(ms):>6} {len(ms) / args.seconds:>7.1f} {percentile(ms, 50):>8.1f} "
              f"{percentile(ms, 95):>8.1f} {percentile(ms, 99):>8.1f} {errors[name]:>6}")
    for path, error in first_error.items():
        print(f"first error of {path}: {error}")
    if not total:
        raise SystemExit("no request was answered")


if __name__ == "__main__":
    main()
