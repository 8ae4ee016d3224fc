"""Every page, the API's documentation and the admin load under the content security policy
without a single violation (the page fixture fails the test on any)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from policies.models import Resource, Snapshot

pytestmark = pytest.mark.browser


def test_every_page_loads_without_a_csp_violation(
    login: Callable[[], Any], live_server: Any, shop: Snapshot, demo: dict[str, Snapshot], user: User
) -> None:
    user.is_staff = user.is_superuser = True
    user.save()
    page = login()
    change = next(s for name, s in demo.items() if "proposed change" in name)
    policy = Resource.objects.filter(snapshot=shop, kind="NetworkPolicy").first()
    assert policy is not None
    paths = [
        "/",
        "/snapshots/upload/",
        f"/snapshots/{shop.id}/",
        f"/snapshots/{shop.id}/graph/",
        f"/snapshots/{shop.id}/flow/?src=storefront/Deployment/frontend&dst=data/StatefulSet/postgres&port=5432&protocol=TCP",
        f"/snapshots/{shop.id}/matrix/",
        f"/snapshots/{shop.id}/policies/{policy.id}/",
        f"/snapshots/{change.id}/compare/?against={shop.id}",
        "/api/",
        "/api/schema/swagger-ui/",
        "/api/schema/redoc/",
        "/admin/",
        "/admin/policies/auditevent/",
    ]
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
    # The documentation pages really drew the API (their scripts ran).
    page.goto(f"{live_server.url}/api/schema/swagger-ui/")
    page.wait_for_selector(".swagger-ui .info")
    page.goto(f"{live_server.url}/api/schema/redoc/")
    page.wait_for_selector("text=netpol API")
