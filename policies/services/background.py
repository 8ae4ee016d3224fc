"""Analyses run in the background of the web process on the embedded default (no REDIS_URL):
one daemon thread takes analysis ids from a queue and runs them one after the other, so that an
upload returns as soon as its snapshot is stored. With REDIS_URL, Celery workers do it instead
(``NETPOL_ANALYSIS_RUNNER`` picks: "thread" or "celery").

The thread is started on first use. An analysis this process did not queue and that is still
unfinished although it was created before the process started was left by a stopped server;
``resume`` queues it again (run_analysis starts it over; the engine is deterministic).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connections
from django.utils import timezone

__all__ = ["BackgroundRunner"]

logger = logging.getLogger(__name__)


class BackgroundRunner:
    """A queue of analysis ids and the one daemon thread that runs them with ``run``."""

    def __init__(self, run: Callable[[int], None]) -> None:
        self._run = run
        self._queue: queue.Queue[int] = queue.Queue()
        self._pending: set[int] = set()  # queued or running here
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.started_at: datetime = timezone.now()

    def submit(self, analysis_id: int) -> None:
        with self._idle:
            if analysis_id in self._pending:
                return
            self._pending.add(analysis_id)
        self._queue.put(analysis_id)
        self._ensure_thread()

    def knows(self, analysis_id: int) -> bool:
        with self._idle:
            return analysis_id in self._pending

    def resume(self, analysis_id: int, created: datetime) -> bool:
        """Queue an unfinished analysis again when it was left by an earlier process."""
        if created >= self.started_at or self.knows(analysis_id):
            return False
        logger.info("analysis %s was left unfinished by an earlier process: running it again", analysis_id)
        self.submit(analysis_id)
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (tests and benchmarks); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout=timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="netpol-analyses", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            analysis_id = self._queue.get()
            close_old_connections()
            try:
                self._run(analysis_id)
            except Exception:
                logger.exception("analysis %s failed", analysis_id)  # run_analysis recorded it on the row
            finally:
                connections.close_all()
                with self._idle:
                    self._pending.discard(analysis_id)
                    self._idle.notify_all()
