"""Work run in the background of the web process on the embedded default (no REDIS_URL):
analyses, proposals and expectation re-checks each have a daemon thread that takes keys (an
analysis id, a proposal's id and revision, a job id) from a queue and runs them one after the other,
so that an upload or a proposal returns as soon as it is stored. With REDIS_URL, Celery workers do it
instead (``NETPOL_ANALYSIS_RUNNER`` picks: "thread" or "celery").

The thread is started on first use. Work this process did not queue and that is still unfinished
although it was created before the process started was left by a stopped server; ``resume``
queues it again (run_analysis starts it over; the engine is deterministic).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from django.db import close_old_connections, connections
from django.utils import timezone

__all__ = ["BackgroundRunner"]

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


class BackgroundRunner(Generic[K]):
    """A queue of keys and the one daemon thread that runs them with ``run``; a key already queued
    or running is not queued twice."""

    def __init__(self, run: Callable[[K], None], name: str = "netpol-analyses") -> None:
        self._run = run
        self._name = name
        self._queue: queue.Queue[K] = queue.Queue()
        self._pending: set[K] = set()  # queued or running here
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started_at: datetime = timezone.now()

    def submit(self, key: K) -> None:
        with self._idle:
            if key in self._pending:
                return
            self._pending.add(key)
        self._queue.put(key)
        self._ensure_thread()

    def knows(self, key: K) -> bool:
        with self._idle:
            return key in self._pending

    def resume(self, key: K, created: datetime) -> bool:
        """Queue unfinished work again when it was left by an earlier process."""
        if created >= self.started_at or self.knows(key):
            return False
        logger.info("%s: %s was left unfinished by an earlier process: running it again", self._name, key)
        self.submit(key)
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (tests and benchmarks); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout=timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            key = self._queue.get()
            close_old_connections()
            try:
                self._run(key)
            except Exception:
                logger.exception("%s: %s failed", self._name, key)  # the run recorded it on its row
            finally:
                connections.close_all()
                with self._idle:
                    self._pending.discard(key)
                    self._idle.notify_all()
