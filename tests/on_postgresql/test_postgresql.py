"""What only PostgreSQL shows: several uploads at once, each in its own connection and transaction,
and the migrations run backwards and forwards. tests/integration/test_postgresql.py runs this
folder (with the API, upload and bad-input tests) against a throwaway cluster; on SQLite, the
embedded default with one process, it is not collected (tests/conftest.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections
from rest_framework.test import APIClient

from policies.models import Analysis, Resource, Snapshot, UploadDraft
from tests.conftest import FILES

UPLOADS = 20


def test_this_runs_on_postgresql(db: None) -> None:
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_lose_nothing(alice: User) -> None:
    def upload(i: int) -> int:
        try:
            client = APIClient()
            client.force_authenticate(alice)
            files = [{"name": f"{i}-{name}", "text": text} for name, text in FILES]
            response = client.post("/api/snapshots/", {"name": f"upload {i}", "manifests": files}, format="json")
            return response.status_code
        finally:
            connections.close_all()  # this thread's connection, before the test database is dropped

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(upload, range(UPLOADS)))

    assert statuses == [201] * UPLOADS
    assert sorted(Snapshot.objects.values_list("name", flat=True)) == sorted(f"upload {i}" for i in range(UPLOADS))
    for snapshot in Snapshot.objects.all():
        assert snapshot.files.count() == len(FILES)
        assert snapshot.resources.count() == Resource.objects.filter(snapshot=Snapshot.objects.first()).count()
    assert Analysis.objects.count() == UPLOADS
    assert set(Analysis.objects.values_list("status", flat=True)) == {Analysis.Status.DONE}


@pytest.mark.django_db(transaction=True)
def test_the_migrations_run_backwards_and_forwards() -> None:
    call_command("migrate", "policies", "0011", verbosity=0)
    assert "policies_uploaddraft" not in connection.introspection.table_names()
    call_command("migrate", "policies", verbosity=0)
    assert UploadDraft.objects.count() == 0
    call_command("makemigrations", "policies", "--check", "--dry-run", verbosity=0)
