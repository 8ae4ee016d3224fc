"""Throttling: wrong passwords lock a user name out (django-axes) and API clients get 429."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle


def test_wrong_passwords_lock_the_login_even_for_the_right_one(client: Client, alice: User, settings: object) -> None:
    limit = settings.AXES_FAILURE_LIMIT  # type: ignore[attr-defined]
    for _ in range(limit):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code in (200, 429)

    response = client.post("/accounts/login/", {"username": "alice", "password": "password"})

    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count(client: Client, alice: User) -> None:
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "password"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.id)


def test_another_user_name_is_not_locked_out(client: Client, alice: User, bob: User, settings: object) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):  # type: ignore[attr-defined]
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "bob", "password": "password"})
    assert response.status_code == 302


@pytest.fixture
def low_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """API rates of 5 requests a minute, so that the test does not send a thousand."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "5/minute"})
    cache.clear()


def test_an_api_user_over_the_rate_gets_429_with_retry_after(api: APIClient, low_rates: None) -> None:
    statuses = [api.get("/api/snapshots/").status_code for _ in range(5)]
    response = api.get("/api/snapshots/")
    assert statuses == [200] * 5
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    assert int(response["Retry-After"]) > 0


def test_anonymous_clients_have_their_own_lower_rate(anonymous: APIClient, low_rates: None, db: None) -> None:
    statuses = [anonymous.get("/api/health/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_throttles_are_on_for_every_api_view() -> None:
    names = {cls.__name__ for cls in api_settings.DEFAULT_THROTTLE_CLASSES}
    assert names == {"AnonRateThrottle", "UserRateThrottle"}
