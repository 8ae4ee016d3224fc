"""The demo snapshots (policies/demo/), loaded by `manage.py load_demo` and `make run`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from policies.models import Snapshot
from policies.services.snapshots import create_snapshot

__all__ = ["DEMOS", "DEMO_DIR", "demo_files", "load_demo"]

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
# (snapshot name, folders of policies/demo/); a later folder's file replaces an earlier one of the same name.
DEMOS = [
    ("Classic: allow from the same namespace", ["same-namespace"]),
    ("Classic: allow from another namespace", ["other-namespace"]),
    ("Classic: egress to a pod and to a CIDR", ["egress"]),
    ("Classic: default deny", ["default-deny"]),
    ("Shop: 12 services in 3 namespaces", ["shop"]),
    ("Shop: proposed change to the data namespace", ["shop", "shop-change"]),
    ("Calico: security tier", ["calico-tiers"]),
]


def demo_files(folders: Sequence[str]) -> list[tuple[str, str]]:
    files: dict[str, str] = {}
    for folder in folders:
        for path in sorted((DEMO_DIR / folder).glob("*.yaml")):
            files[path.name] = path.read_text(encoding="utf-8")
    return sorted(files.items())


def load_demo(*, user: User | None = None) -> list[tuple[Snapshot, bool]]:
    """Create the demo snapshots; (snapshot, created) for each. Idempotent: a demo snapshot whose
    files are unchanged is kept, an outdated one is replaced."""
    loaded = []
    for name, folders in DEMOS:
        files = demo_files(folders)
        existing = Snapshot.objects.filter(origin=Snapshot.Origin.DEMO, name=name)
        current = [s for s in existing if [(f.name, f.text) for f in s.files.all()] == files]
        if current:
            loaded.append((current[0], False))
            continue
        with transaction.atomic():
            existing.delete()
            snapshot = create_snapshot(name=name, files=files, origin=Snapshot.Origin.DEMO, user=user)
        loaded.append((snapshot, True))
    return loaded
