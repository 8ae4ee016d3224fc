"""One layer per job: pages read what services and models give them; only services (and the
command line) call the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

POLICIES = Path(__file__).resolve().parent.parent / "policies"
READERS = sorted(
    [
        *(POLICIES / "pages").glob("*.py"),
        POLICIES / "views.py",
        POLICIES / "review_views.py",
        POLICIES / "templatetags" / "netpol.py",
    ]
)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, with "from a import b" counted as both a and a.b."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", READERS, ids=lambda p: str(p.relative_to(POLICIES)))
def test_pages_and_views_never_import_the_engine(path: Path) -> None:
    engine = {m for m in imported_modules(path) if m == "policies.engine" or m.startswith("policies.engine.")}
    assert engine == set()


def test_the_import_check_sees_an_engine_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from policies import engine, services\n", encoding="utf-8")
    assert "policies.engine" in imported_modules(module)


def test_services_front_exports_what_it_lists() -> None:
    from policies import services

    assert all(hasattr(services, name) for name in services.__all__)
