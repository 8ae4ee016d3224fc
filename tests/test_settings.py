"""Production-safe settings: DEBUG off by default, no start without a key of its own, the deploy
check passing with the README's production settings, .env read, no secret on an error page."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.debug import get_default_exception_reporter_filter

ROOT = Path(__file__).resolve().parents[1]

# The production settings the README documents (beside a key and a host name of one's own).
PRODUCTION = {
    "DEBUG": "False",
    "ALLOWED_HOSTS": "netpol.example.com",
    "SECURE_SSL_REDIRECT": "True",
    "SECURE_HSTS_SECONDS": "31536000",
    "SESSION_COOKIE_SECURE": "True",
    "CSRF_COOKIE_SECURE": "True",
}


def manage(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """manage.py in a clean environment: only PATH, HOME and what ``env`` says."""
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env={**base, "NETPOL_ENV_FILE": "/dev/null", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("key", [None, "", "---", "change-me", "change-me-in-production", "django-insecure-abc"])
def test_the_site_refuses_to_start_with_debug_off_and_no_key_of_its_own(key: str | None) -> None:
    env = {} if key is None else {"SECRET_KEY": key}
    out = manage("check", env=env)  # DEBUG is off unless asked for
    assert out.returncode != 0
    assert "SECRET_KEY is missing or a published example value" in out.stderr


def test_debug_on_asked_for_starts_without_a_key() -> None:
    out = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env={"DEBUG": "True"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_debug_is_off_unless_asked_for() -> None:
    code = "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)"
    out = manage("shell", "-c", code, env={"SECRET_KEY": secrets.token_urlsafe(50)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False ['localhost', '127.0.0.1', '[::1]']"


def test_deploy_check_passes_with_the_documented_production_settings() -> None:
    out = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_deploy_check_fails_without_https_settings() -> None:
    out = manage("check", "--deploy", "--fail-level", "WARNING", env={"SECRET_KEY": secrets.token_urlsafe(50)})
    assert out.returncode != 0
    assert "security.W004" in out.stderr  # HSTS
    assert "security.W008" in out.stderr  # SSL redirect


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"SECRET_KEY={secrets.token_urlsafe(50)}\nLOG_LEVEL=WARNING\nAXES_FAILURE_LIMIT=9\n")
    code = "from django.conf import settings; print(settings.AXES_FAILURE_LIMIT, settings.LOGGING['root']['level'])"
    out = manage("shell", "-c", code, env={"NETPOL_ENV_FILE": str(env_file), "AXES_FAILURE_LIMIT": "3"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "3 WARNING"


def test_mail_goes_to_the_console_by_default(settings: object) -> None:
    out = manage(
        "shell", "-c", "from django.conf import settings; print(settings.EMAIL_BACKEND)", env={"DEBUG": "True"}
    )
    assert out.stdout.strip().splitlines()[-1] == "django.core.mail.backends.console.EmailBackend"


def test_error_reports_hide_connection_urls_and_keys(settings: object) -> None:
    secret_urls = {
        "DATABASE_URL": "postgres://netpol:hunter2@db/netpol",
        "REDIS_URL": "redis://:hunter2@redis:6379/0",
        "CELERY_BROKER_URL": "redis://:hunter2@redis:6379/0",
        "EMAIL_HOST_PASSWORD": "hunter2",
    }
    for name, value in secret_urls.items():
        setattr(settings, name, value)
    request = RequestFactory().get("/")
    shown = get_default_exception_reporter_filter().get_safe_settings()
    assert "hunter2" not in repr(shown)
    assert "hunter2" not in repr(get_default_exception_reporter_filter().get_post_parameters(request))
    assert set(secret_urls) <= set(shown)


def test_pages_carry_a_content_security_policy(client: object, db: None) -> None:
    response = client.get("/accounts/login/")  # type: ignore[attr-defined]
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    # no inline script anywhere (the directives come in any order; the last has no ';')
    assert re.search(r"script-src 'self'(;|$)", policy)
    assert "frame-ancestors 'none'" in policy
