"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary directory, the server on
a free loopback port, trust authentication, stopped and deleted afterwards.

PostgreSQL refuses to run as root; as root (a CI container) the cluster belongs to ``nobody``.
Debian's ``postgresql`` package (``make system-deps``) keeps the programs in
/usr/lib/postgresql/VERSION/bin, off PATH.

Run any tests against one: ``python -m tests.postgresql [pytest arguments]``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
DATABASE = "netpol"


def bin_dir() -> Path:
    """Where initdb and pg_ctl are: the newest Debian version, else PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    if found is None:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps` (Debian's postgresql package)")
    return Path(found).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="netpol-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_other_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "nobody")
            self.as_other_user = ["runuser", "-u", "nobody", "--"]
        self.root.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, program: str, *args: str) -> None:
        command = [*self.as_other_user, str(self.bin / program), *args]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self) -> PostgresCluster:
        self.run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, DATABASE)
        return self

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def main(args: list[str]) -> int:
    cluster = PostgresCluster().start()
    try:
        env = {**os.environ, "DATABASE_URL": cluster.url}
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
        print(f"on PostgreSQL ({cluster.url}) in {time.monotonic() - started:.0f} s")
        return code
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
