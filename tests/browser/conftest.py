"""Browser tests: Playwright (sync API) driving Debian's chromium against pytest-django's live server.

The live server serves static files through Django's finders, so our modules and the npm
libraries (node_modules/, exposed by STATICFILES_DIRS) load as they do in development.
Set NETPOL_SCREENSHOTS=docs/screenshots to write the documentation screenshots.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from policies import services
from policies.models import Analysis, Membership, Snapshot, Team

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - playwright is a dev dependency
    sync_playwright = None

# Playwright's sync API runs an event loop in the test's thread; the ORM calls our fixtures make
# there are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = None
    if sync_playwright is None:
        reason = "playwright is not installed"
    elif not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    for item in items:
        if "browser" in item.keywords and reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    libraries = settings.BASE_DIR / "node_modules"
    missing = [p for p in ("cytoscape/dist", "cytoscape-fcose") if not (libraries / p).is_dir()]
    assert not missing, f"the front-end libraries are missing ({', '.join(missing)}): run npm ci"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium reports what the content security policy blocked on the console.
    violations: list[str] = []
    page.on("console", lambda message: _note_violation(message.text, violations))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"content security policy violations: {violations}"


def _note_violation(text: str, violations: list[str]) -> None:
    if "Content Security Policy" in text:
        violations.append(text)


@pytest.fixture
def user(transactional_db: None) -> User:
    """carol, an author of the default team (where the demo snapshots are)."""
    carol = User.objects.create_user("carol", "carol@example.org", "a long password")
    Membership.objects.create(team=Team.default(), user=carol, role=Membership.Role.AUTHOR)
    return carol


@pytest.fixture
def login(page: Page, live_server: Any, user: User) -> Callable[[], Page]:
    def log_in() -> Page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "carol")
        page.fill("#id_password", "a long password")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return log_in


def finish_analyses() -> None:
    """Run what the broker has not run yet (with no REDIS_URL the tasks already ran in-process)."""
    for analysis in Analysis.objects.exclude(status__in=[Analysis.Status.DONE, Analysis.Status.FAILED]):
        services.run_analysis(analysis_id=analysis.id)


@pytest.fixture
def demo(transactional_db: None) -> dict[str, Snapshot]:
    """The demo snapshots, analysed, by name."""
    services.load_demo()
    finish_analyses()
    return {s.name: s for s in Snapshot.objects.all()}


@pytest.fixture
def shop(demo: dict[str, Snapshot]) -> Snapshot:
    return next(s for name, s in demo.items() if name.startswith("Shop: 12 services"))


@pytest.fixture
def screenshot_path(tmp_path: Path) -> Callable[[str], Path]:
    """Where a screenshot goes: NETPOL_SCREENSHOTS when set (docs/screenshots), else a temp dir."""
    target = os.environ.get("NETPOL_SCREENSHOTS")

    def path(name: str) -> Path:
        folder = Path(target) if target else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    return path
