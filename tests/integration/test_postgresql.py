"""The API, the upload page and bad input on PostgreSQL, as a deployment runs them: a throwaway
cluster (tests/postgresql.py) and those tests run against it in a pytest of their own, with
tests/on_postgresql (concurrent uploads, the migrations backwards and forwards). Creating the test
database runs every migration on PostgreSQL.

SQLite does not enforce column lengths and serialises writers; PostgreSQL answers an over-long
name with a DataError (a 500 unless checked before the database) and runs uploads side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgresql import PostgresCluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRESQL = [
    "tests/on_postgresql",
    "tests/test_api.py",
    "tests/test_bad_input.py",
    "tests/test_schema.py",
    "tests/test_views.py",
]


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    running = PostgresCluster().start()
    yield running
    running.stop()


def test_the_api_uploads_and_migrations_on_postgresql(cluster: PostgresCluster) -> None:
    env = {**os.environ, "DATABASE_URL": cluster.url}
    command = [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "-n", "2", *ON_POSTGRESQL]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-10000:] + "\n--- server log ---\n" + cluster.log()
    summary = next(line for line in reversed(output.splitlines()) if re.search(r" in [\d.]+s", line))
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"skipped|xfail|deselected", summary), summary
