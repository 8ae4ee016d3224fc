"""Named objects for the Django tests: users alice and bob, and small snapshots.

alice is an author and bob a reviewer of the default team, where snapshots go when no team is named.

The manifests are drawn here once:

    namespace prod:  web --TCP 5432--> db      (db admits its own namespace only)
    namespace other: intruder --x--> prod/db
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test.utils import override_settings
from rest_framework.test import APIClient

from policies import services, worker
from policies.models import Analysis, Membership, Snapshot, Team
from tests.kube_cluster import shop_cluster
from tests.kubeapi import KubeAPI, RunningAPI

# tests/on_postgresql needs PostgreSQL: tests/integration/test_postgresql.py runs it on a cluster of its own.
if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    collect_ignore = ["on_postgresql"]

NAMESPACES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
---
apiVersion: v1
kind: Namespace
metadata:
  name: other
"""

PODS = """\
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
      image: postgres:16
      ports:
        - containerPort: 5432
---
apiVersion: v1
kind: Pod
metadata:
  name: intruder
  namespace: other
  labels:
    app: intruder
spec:
  containers:
    - name: intruder
      image: busybox:1
"""

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-same-namespace
  namespace: prod
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes:
    - Ingress
  ingress:
    - from:
        - podSelector: {}
      ports:
        - protocol: TCP
          port: 5432
"""

# The same cluster after a change: db admits every namespace.
OPEN_POLICY = POLICY.replace("        - podSelector: {}\n", "        - namespaceSelector: {}\n")

# A NetworkPolicy whose port is not a port: the engine must reject it.
BAD_POLICY = POLICY.replace("port: 5432", "port: 99999")

FILES = [("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", POLICY)]
OPEN_FILES = [("namespaces.yaml", NAMESPACES), ("pods.yaml", PODS), ("policy.yaml", OPEN_POLICY)]


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing() -> Iterator[None]:
    """Users made by the tests get a quick hash (PBKDF2 takes 0.3 s of CPU per user, and most tests
    make one or two); logging in with a password works as with the real hasher."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _no_sweep_left_running() -> Iterator[None]:
    """A test that picks the thread runner starts the web process's sweep with its first request;
    it stops with the test."""
    yield
    worker.stop_sweeping()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The API throttles count requests in the cache: every test starts with none."""
    cache.clear()


@pytest.fixture
def manifests() -> dict[str, Any]:
    """The texts above, for tests that upload them themselves."""
    return {
        "files": FILES,
        "open_files": OPEN_FILES,
        "namespaces": NAMESPACES,
        "pods": PODS,
        "policy": POLICY,
        "bad_policy": BAD_POLICY,
    }


@pytest.fixture
def alice(db: None) -> User:
    user = User.objects.create_user("alice", "alice@example.org", "password")
    Membership.objects.create(team=Team.default(), user=user, role=Membership.Role.AUTHOR)
    return user


@pytest.fixture
def bob(db: None) -> User:
    user = User.objects.create_user("bob", "bob@example.org", "password")
    Membership.objects.create(team=Team.default(), user=user, role=Membership.Role.REVIEWER)
    return user


@pytest.fixture
def api(alice: User) -> APIClient:
    client = APIClient()
    client.force_login(alice)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def make_snapshot(db: None) -> Callable[..., Snapshot]:
    """make_snapshot(files=..., analyse=True): a stored snapshot, its analysis run in the test."""

    def make(files: list[tuple[str, str]] = FILES, *, name: str = "prod", analyse: bool = True) -> Snapshot:
        snapshot = services.create_snapshot(name=name, files=files)
        if analyse:
            analysis = snapshot.analyses.get()
            services.run_analysis(analysis_id=analysis.id)
        return snapshot

    return make


@pytest.fixture
def snapshot(make_snapshot: Callable[..., Snapshot]) -> Snapshot:
    """The prod/other cluster above, analysed."""
    return make_snapshot()


@pytest.fixture
def analysis(snapshot: Snapshot) -> Analysis:
    return snapshot.analyses.get()


@pytest.fixture
def cluster() -> KubeAPI:
    """A small shop cluster served by the test Kubernetes API (tests/kubeapi.py)."""
    return shop_cluster()


@pytest.fixture
def server(cluster: KubeAPI) -> Iterator[RunningAPI]:
    running = RunningAPI(cluster)
    yield running
    running.close()
