"""A small Kubernetes API server for tests and benchmarks: discovery and the list API.

It answers what a sync asks: ``/apis`` and ``/apis/GROUP/VERSION`` discovery, and lists of
every kind (``/api/v1/pods``, ``/apis/apps/v1/deployments``...) with paging by ``limit`` and
``continue`` tokens. Faults can be set per list path: a status (401, 403, 404, 410 on a continue
token, 500), a slow answer, a connection that breaks half way through the body. The real
``kubernetes`` client reaches it through a real kubeconfig file on an ephemeral port.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

TOKEN = "test-token-5f1d2c"


@dataclass
class Fault:
    status: int = 0  # answer this status instead of the list
    delay: float = 0.0  # seconds before answering
    break_after: int = -1  # send this many bytes of the body, then close the connection
    on_continue_only: bool = False  # only pages after the first
    # send this many bytes of the body, then wait (at most 10 s) for ``release`` before the rest:
    # a client that parses as the body arrives can set it; one that waits for the whole body cannot
    hold_after: int = -1
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: bool | None = None  # whether release came before the 10 s were up


@dataclass
class KubeAPI:
    """The cluster's contents: list path -> items, and the faults to play."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    served_groups: set[str] = field(default_factory=set)  # extra "group/version" served without objects
    discovery_status: int = 0
    max_limit: int = 0  # the server's own cap on a page (0: the client's limit)
    resource_version: int = 1000

    def add(self, api_version: str, plural: str, obj: dict[str, Any]) -> None:
        obj = json.loads(json.dumps(obj))
        self.resource_version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.resource_version)
        self.items.setdefault(list_path(api_version, plural), []).append(obj)

    def serve(self, api_version: str, plural: str) -> None:
        self.items.setdefault(list_path(api_version, plural), [])

    def group_versions(self) -> dict[str, set[str]]:
        served: dict[str, set[str]] = {}
        for path in self.items:
            parts = path.strip("/").split("/")
            if parts[0] == "apis":
                served.setdefault(f"{parts[1]}/{parts[2]}", set()).add(parts[3])
        for group_version in self.served_groups:
            served.setdefault(group_version, set())
        return served


def list_path(api_version: str, plural: str) -> str:
    return f"/api/{api_version}/{plural}" if "/" not in api_version else f"/apis/{api_version}/{plural}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        api = self.server.api
        url = urlparse(self.path)
        api.requests.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.status(401, "Unauthorized")
        if url.path == "/apis":
            if api.discovery_status:
                return self.status(api.discovery_status, "discovery")
            groups: dict[str, list[str]] = {}
            for group_version in sorted(api.group_versions()):
                group, version = group_version.split("/")
                groups.setdefault(group, []).append(version)
            body = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in groups.items()]}
            return self.json(200, body)
        parts = url.path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 3:
            resources = api.group_versions().get(f"{parts[1]}/{parts[2]}")
            if resources is None:
                return self.status(404, "not found")
            return self.json(200, {"kind": "APIResourceList", "groupVersion": f"{parts[1]}/{parts[2]}",
                                   "resources": [{"name": r, "singularName": "", "namespaced": True,
                                                  "kind": r, "verbs": ["list", "watch"]} for r in sorted(resources)]})
        query = parse_qs(url.query)
        token = query.get("continue", [""])[0]
        fault = api.faults.get(url.path)
        if fault and (token or not fault.on_continue_only):
            time.sleep(fault.delay)
            if fault.status:
                return self.status(fault.status, "fault")
        items = api.items.get(url.path)
        if items is None:
            return self.status(404, "the server could not find the requested resource")
        limit = int(query.get("limit", ["0"])[0] or 0)
        if api.max_limit:
            limit = min(limit or api.max_limit, api.max_limit)
        start = int(base64.b64decode(token).decode()) if token else 0
        end = len(items) if not limit else min(len(items), start + limit)
        metadata: dict[str, Any] = {"resourceVersion": str(api.resource_version)}
        if end < len(items):
            metadata["continue"] = base64.b64encode(str(end).encode()).decode()
        body = {"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": items[start:end]}
        data = json.dumps(body).encode()
        if fault and fault.break_after >= 0 and (token or not fault.on_continue_only):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: fault.break_after])
            self.wfile.flush()
            self.close_connection = True
            return None
        if fault and fault.hold_after >= 0:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: fault.hold_after])
            self.wfile.flush()
            fault.released_in_time = fault.release.wait(10)
            self.wfile.write(data[fault.hold_after :])
            return None
        self.send(200, data)

    def status(self, code: int, message: str) -> None:
        reason = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 410: "Expired"}.get(code, "Error")
        self.json(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                         "reason": reason, "code": code})

    def json(self, code: int, body: Any) -> None:
        self.send(code, json.dumps(body).encode())

    def send(self, code: int, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: KubeAPI


class RunningAPI:
    """The server on 127.0.0.1 and an ephemeral port, in a thread; ``url`` is its address."""

    def __init__(self, api: KubeAPI) -> None:
        self.api = api
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.api = api
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def kubeconfig(server: str, *, token: str = TOKEN, context: str = "test") -> str:
    """A kubeconfig for ``server`` with a bearer token, its context named ``context``."""
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test-cluster", "cluster": {"server": server}}],
        "users": [{"name": "test-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "test-cluster", "user": "test-user"}}],
        "current-context": context,
    })


def write_kubeconfig(path: Path, server: str, **options: Any) -> Path:
    path.write_text(kubeconfig(server, **options), encoding="utf-8")
    return path


@contextmanager
def refused_url() -> Iterator[str]:
    """The address of a port held without listening: every connection is refused, and no server
    of a test running in parallel can take the port meanwhile (a closed server's port can be)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"
