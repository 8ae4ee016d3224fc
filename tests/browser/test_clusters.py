"""A person connects a cluster in a browser: upload a kubeconfig, watch the first sync, sync again
after a change and read the history; then compare the cluster with an upload (drift)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policies import services
from tests.kubeapi import TOKEN, KubeAPI, RunningAPI, write_kubeconfig

from .conftest import finish_analyses

pytestmark = pytest.mark.browser


def test_connect_a_cluster_read_its_history_and_its_drift(
    login: Callable[[], Any], live_server: Any, server: RunningAPI, cluster: KubeAPI, tmp_path: Path
) -> None:
    page = login()
    page.get_by_role("link", name="Clusters").click()
    page.fill("#id_name", "prod-eu")
    page.set_input_files("#id_kubeconfig", str(write_kubeconfig(tmp_path / "config", server.url)))
    page.get_by_role("button", name="Add and sync").click()
    page.wait_for_url(re.compile(r"/clusters/prod-eu/$"))
    finish_analyses()
    assert page.locator("h1").inner_text() == "prod-eu"
    assert server.url in page.content() and TOKEN not in page.content()

    # The db-from-web policy goes away: the next sync's row names the flow it closed.
    cluster.items["/apis/networking.k8s.io/v1/networkpolicies"].pop()
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(r"/clusters/prod-eu/$"))
    finish_analyses()
    page.reload()
    assert page.get_by_text("closed shop/web → shop/db: TCP 5432").is_visible()
    page.get_by_role("link", name=re.compile(r"0 flows opened, 1 closed")).click()
    page.wait_for_url(re.compile(r"/compare/\?against=\d+"))
    assert page.get_by_role("heading", name=re.compile("Flows closed")).is_visible()

    # Drift: the cluster against the manifests uploaded from git.
    git = services.create_snapshot(name="from git", files=[("ns.yaml", "kind: Namespace\nmetadata:\n  name: shop\n")])
    finish_analyses()
    page.goto(f"{live_server.url}/clusters/prod-eu/")
    page.select_option("#d-against", value=str(git.id))
    page.get_by_role("button", name="Compare with the cluster").click()
    page.wait_for_url(re.compile(r"/compare/\?against=\d+"))
    assert page.locator(".drift-note").is_visible()
