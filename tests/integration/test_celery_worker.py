"""The real thing: a Redis broker, Celery worker processes and the web app under gunicorn, sharing
one SQLite file. Uploads go through the REST API; the worker analyses them.

    test --HTTP--> gunicorn --delay--> redis <--BRPOP-- celery worker
                       \\___________ SQLite file ___________/
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="gunicorn is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]

SMALL = """\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
  labels:
    app: web
spec:
  containers:
    - name: web
      image: web:1
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: prod
  labels:
    app: db
spec:
  containers:
    - name: db
      image: db:1
      ports:
        - containerPort: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
  namespace: prod
spec:
  podSelector:
    matchLabels:
      app: db
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: web
      ports:
        - port: 5432
"""


def big_manifests(namespaces: int = 25, pods: int = 80) -> str:
    """About 2,000 distinct pods, each with its own ingress policy: several seconds of engine work."""
    docs = []
    for n in range(namespaces):
        docs.append(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{n}\n")
        for p in range(pods):
            docs.append(
                f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{p}\n  namespace: ns{n}\n"
                f"  labels:\n    app: a{p}\n    tier: t{p % 4}\n"
                f"spec:\n  containers:\n    - name: c\n      image: x\n"
                f"      ports:\n        - containerPort: {8000 + p}\n"
            )
            docs.append(
                f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np{p}\n  namespace: ns{n}\n"
                f"spec:\n  podSelector:\n    matchLabels:\n      app: a{p}\n"
                f"  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n"
                f"              tier: t{(p + 1) % 4}\n      ports:\n        - port: {8000 + p}\n"
            )
    return "---\n".join(docs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Stack:
    """The processes of one test, and an HTTP client for the API with a token."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []
        self.redis_port = free_port()
        self.web_port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER", "DATABASE_URL")}
        self.env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "netpol_site.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'netpol.db'}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DEBUG": "False",
            "SECRET_KEY": "integration-test",
            # A message that no live worker acknowledged comes back after 3 seconds.
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "NETPOL_PROGRESS_INTERVAL": "0.05",
            # Lost or stuck analyses are found within seconds, not minutes.
            "NETPOL_HEARTBEAT_INTERVAL": "0.5",
            "NETPOL_HEARTBEAT_STALE": "3",
            "NETPOL_SWEEP_INTERVAL": "1",
            "NETPOL_REPUBLISH_AFTER": "5",
            "PYTHONUNBUFFERED": "1",
        }
        self.token = ""

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "ab")  # closed when the test ends
        process = subprocess.Popen(
            args, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def start_redis(self) -> subprocess.Popen[bytes]:
        redis = self.spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        wait_for(lambda: redis.poll() is not None or self.redis_ping(), 20, "redis-server")
        assert redis.poll() is None, self.log("redis")
        return redis

    def stop_redis(self, redis: subprocess.Popen[bytes]) -> None:
        redis.kill()
        redis.wait(timeout=10)
        wait_for(lambda: not self.redis_ping(), 10, "redis-server to stop")

    def start(self) -> None:
        self.redis = self.start_redis()
        self.manage("migrate", "--noinput")
        self.manage("shell", "-c", "from django.contrib.auth.models import User; User.objects.create_user('ci')")
        self.manage("create_team", "ci")
        self.manage("add_member", "ci", "ci", "--role", "author")
        # "Generated token <40 hex digits> for user ci"
        self.token = re.search(r"\b[0-9a-f]{40}\b", self.manage("drf_create_token", "ci")).group()  # type: ignore[union-attr]
        web = self.spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "netpol_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
        )
        wait_for(lambda: web.poll() is not None or self.healthy(), 30, "gunicorn")
        assert web.poll() is None, self.log("web")

    def start_worker(self, name: str, pool: str = "solo", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return self.spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "netpol_site",
                "worker",
                "-l",
                "info",
                "-P",
                pool,
                "-c",
                "1",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
        )

    def stop(self) -> None:
        # SIGTERM first: a SIGKILLed gunicorn master would leave its worker behind.
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")[-5000:]

    def redis_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/api/health/")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def analysis(self, analysis_id: int) -> dict[str, Any]:
        status, body = self.request("GET", f"/api/analyses/{analysis_id}/")
        assert status == 200, body
        return dict(body)

    def wait_finished(self, analysis_id: int, timeout: float) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            body = self.analysis(analysis_id)
            return body if body["status"] in ("done", "failed") else None

        try:
            return dict(wait_for(finished, timeout, f"analysis {analysis_id}", interval=0.25))
        except AssertionError:
            logs = "\n".join(f"--- {p.name}\n{self.log(p.stem)}" for p in self.tmp_path.glob("worker*.log"))
            raise AssertionError(
                f"analysis {analysis_id} did not finish: {self.analysis(analysis_id)}\n{logs}"
            ) from None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_a_worker_analyses_an_upload(stack: Stack) -> None:
    stack.start_worker("worker1")

    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})

    assert status == 201, snapshot
    assert snapshot["analysis"]["status"] in ("queued", "running", "done")
    analysis = stack.wait_finished(snapshot["analysis"]["id"], timeout=60)
    assert analysis["status"] == "done", analysis
    assert analysis["attempts"] == 1
    assert analysis["progress"] == 1.0
    status, graph = stack.request("GET", f"/api/snapshots/{snapshot['id']}/graph/?level=pod")
    assert status == 200
    assert ("prod/web", "prod/db") in {(e["source"], e["target"]) for e in graph["edges"]}


def test_an_upload_waits_in_the_queue_until_a_worker_starts(stack: Stack) -> None:
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})
    assert status == 201
    time.sleep(1)
    assert stack.analysis(snapshot["analysis"]["id"])["status"] == "queued"  # no worker: nothing ran in-process

    stack.start_worker("worker1")

    assert stack.wait_finished(snapshot["analysis"]["id"], timeout=60)["status"] == "done"


def test_a_worker_killed_mid_task_loses_nothing(stack: Stack) -> None:
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "big", "manifests": big_manifests()})
    assert status == 201, snapshot
    analysis_id = snapshot["analysis"]["id"]

    first = stack.start_worker("worker1")

    def computing_graphs() -> bool:
        body = stack.analysis(analysis_id)
        assert body["status"] != "done", "the analysis finished before the worker could be killed"
        return body["status"] == "running" and body["progress"] > 0.05

    wait_for(computing_graphs, 60, "the first worker to start the analysis", interval=0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(1)
    interrupted = stack.analysis(analysis_id)
    assert (interrupted["status"], interrupted["attempts"]) == ("running", 1)

    stack.start_worker("worker2")

    analysis = stack.wait_finished(analysis_id, timeout=180)
    assert analysis["status"] == "done", analysis
    assert analysis["attempts"] == 2  # the message was redelivered and the task started over
    assert analysis["summary"]["counts"]
    assert "policies.tasks.compute_analysis" in stack.log("worker2")


def start_big_analysis(stack: Stack) -> int:
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "big", "manifests": big_manifests()})
    assert status == 201, snapshot
    return int(snapshot["analysis"]["id"])


def wait_computing(stack: Stack, analysis_id: int) -> None:
    def computing_graphs() -> bool:
        body = stack.analysis(analysis_id)
        assert body["status"] != "done", "the analysis finished before the test could interrupt it"
        return body["status"] == "running" and body["progress"] > 0.05

    wait_for(computing_graphs, 60, "a worker to start the analysis", interval=0.05)


def test_a_worker_killed_mid_task_is_found_by_the_sweep_long_before_the_visibility_timeout(
    stack: Stack,
) -> None:
    """The message would come back after an hour; the heartbeat stops, the next worker's sweep
    queues the analysis again and it finishes."""
    stack.env["CELERY_VISIBILITY_TIMEOUT"] = "3600"
    analysis_id = start_big_analysis(stack)
    first = stack.start_worker("worker1")
    wait_computing(stack, analysis_id)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    stack.start_worker("worker2")

    # Finished within 3 minutes although the broker would give the message back only after an
    # hour: only the second worker's sweep, finding the stopped heartbeat, can have sent it again.
    analysis = stack.wait_finished(analysis_id, timeout=180)
    assert analysis["status"] == "done", analysis
    assert analysis["attempts"] == 2


def test_a_redis_restart_mid_analysis_loses_nothing(stack: Stack) -> None:
    """Redis restarts without persistence while a worker computes: the worker reconnects, the
    analysis finishes, and an upload after the restart is analysed too."""
    analysis_id = start_big_analysis(stack)
    worker = stack.start_worker("worker1")
    wait_computing(stack, analysis_id)

    stack.stop_redis(stack.redis)
    time.sleep(1)
    stack.redis = stack.start_redis()

    assert stack.wait_finished(analysis_id, timeout=180)["status"] == "done"
    status, later = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})
    assert status == 201, later
    assert stack.wait_finished(later["analysis"]["id"], timeout=60)["status"] == "done"
    assert worker.poll() is None, stack.log("worker1")


def test_an_upload_while_redis_is_down_is_503_and_analysed_when_it_is_back(stack: Stack) -> None:
    stack.start_worker("worker1")
    stack.stop_redis(stack.redis)

    status, body = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})

    assert status == 503, body
    assert body["detail"].startswith("the analysis queue is unavailable; snapshot ")
    assert body["analysis"]["status"] == "queued"
    stack.redis = stack.start_redis()
    analysis = stack.wait_finished(body["analysis"]["id"], timeout=60)
    assert analysis["status"] == "done", analysis


def test_the_time_limit_is_the_workers(stack: Stack) -> None:
    """The web process has the default limits; the worker has a one-second soft limit."""
    analysis_id = start_big_analysis(stack)
    stack.start_worker(
        "worker1", pool="prefork", env={"CELERY_TASK_SOFT_TIME_LIMIT": "1", "CELERY_TASK_TIME_LIMIT": "30"}
    )

    analysis = stack.wait_finished(analysis_id, timeout=60)

    assert (analysis["status"], analysis["error"]) == ("failed", "the analysis took longer than 1 seconds")


def test_a_worker_analyses_a_proposal(stack: Stack) -> None:
    """The proposal's task runs on the worker: the diff appears once both snapshots are analysed."""
    stack.start_worker("worker1")
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})
    assert status == 201
    assert stack.wait_finished(snapshot["analysis"]["id"], timeout=60)["status"] == "done"
    status, proposal = stack.request("POST", "/api/proposals/", {
        "base": snapshot["id"], "title": "drop the db policy", "delete": ["prod/db"]})
    assert status == 201, proposal
    assert proposal["diff"] is None

    def ready() -> dict[str, Any] | None:
        body = stack.request("GET", f"/api/proposals/{proposal['id']}/")[1]
        return dict(body) if body["status"] != "pending" else None

    body = wait_for(ready, 60, f"proposal {proposal['id']}", interval=0.25)
    assert body["status"] == "ready", body
    assert [(e["source"], e["target"]) for e in body["diff"]["added"]] == [("0.0.0.0/0", "prod/Pod/db")]
    assert [(e["source"], e["target"]) for e in body["diff"]["changed"]] == [("prod/Pod/web", "prod/Pod/db")]


def test_a_worker_checks_a_changed_expectation_again(stack: Stack) -> None:
    """An expectation added through the API is checked again on the worker: the open proposal's
    results say "rechecking" until they are of the new set, then show it."""
    stack.start_worker("worker1")
    stack.manage("add_member", "ci", "ci", "--role", "admin")
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})
    assert status == 201
    assert stack.wait_finished(snapshot["analysis"]["id"], timeout=60)["status"] == "done"
    status, proposal = stack.request("POST", "/api/proposals/", {
        "base": snapshot["id"], "title": "drop the db policy", "delete": ["prod/db"]})
    assert status == 201, proposal

    def settled() -> dict[str, Any] | None:
        body = stack.request("GET", f"/api/proposals/{proposal['id']}/")[1]
        return dict(body) if body["expectations_status"] == "current" else None

    before = wait_for(settled, 60, f"proposal {proposal['id']}", interval=0.25)
    assert before["expectations"] == [] and before["expectations_version"] == 0
    status, added = stack.request("POST", "/api/expectations/", {
        "name": "db-closed-to-the-world", "from": {"cidr": "0.0.0.0/0"},
        "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}}, "expect": "deny"})
    assert status == 201, added
    after = wait_for(settled, 60, "the re-check of the expectations", interval=0.25)
    assert after["expectations_version"] == 1
    assert [(r["name"], r["change"]) for r in after["expectations"]] == [("db-closed-to-the-world", "broken")]


@pytest.fixture
def slow_rechecks(tmp_path: Path) -> Iterator[Stack]:
    """A stack whose re-checks start 5 seconds after the change that asks for them."""
    stack = Stack(tmp_path)
    stack.env["NETPOL_RECHECK_DELAY"] = "5"
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_changes_in_a_row_send_one_recheck(slow_rechecks: Stack) -> None:
    """Three expectations added one after the other: the worker receives one re-check, which
    checks them all."""
    stack = slow_rechecks
    stack.start_worker("worker1")
    stack.manage("add_member", "ci", "ci", "--role", "admin")
    status, snapshot = stack.request("POST", "/api/snapshots/", {"name": "small", "manifests": SMALL})
    assert status == 201
    assert stack.wait_finished(snapshot["analysis"]["id"], timeout=60)["status"] == "done"
    status, proposal = stack.request("POST", "/api/proposals/", {
        "base": snapshot["id"], "title": "drop the db policy", "delete": ["prod/db"]})
    assert status == 201, proposal

    def settled() -> dict[str, Any] | None:
        body = stack.request("GET", f"/api/proposals/{proposal['id']}/")[1]
        return dict(body) if body["status"] == "ready" and body["expectations_status"] == "current" else None

    wait_for(settled, 60, f"proposal {proposal['id']}", interval=0.25)
    for name in ("db-closed-to-the-world", "db-closed-again", "db-closed-once-more"):
        status, added = stack.request("POST", "/api/expectations/", {
            "name": name, "from": {"cidr": "0.0.0.0/0"},
            "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}}, "expect": "deny"})
        assert status == 201, added
    after = wait_for(settled, 60, "the re-check of the expectations", interval=0.25)
    assert after["expectations_version"] == 3
    assert sorted(r["name"] for r in after["expectations"]) == [
        "db-closed-again", "db-closed-once-more", "db-closed-to-the-world"]
    received = re.findall(r"recheck_expectations\[[^\]]+\] received", stack.log("worker1"))
    assert len(received) == 1, stack.log("worker1")
