"""The sweep for lost or stuck analyses (policies.services.recovery), run every
NETPOL_SWEEP_INTERVAL seconds by whatever process runs analyses:

- a Celery worker, from when it is ready until it shuts down;
- the web process on the embedded default (the "thread" runner, where analyses run in a thread of
  the web process), from its first request;
- and Celery beat sends the sweep as a task (policies.tasks.sweep_analyses) on the same interval,
  so that a deployment with Redis sweeps even while its workers are busy.

A sweep is idempotent: two processes sweeping at once requeue or fail an analysis once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

_stop = threading.Event()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def sweep_forever(stop: threading.Event) -> None:
    from policies import services  # after Django is set up

    while True:
        try:
            services.sweep()
        except Exception:  # a database or broker outage: try again at the next interval
            logger.exception("sweep for lost analyses failed")
        finally:
            connection.close()  # this thread's own connection
        if stop.wait(settings.NETPOL_SWEEP_INTERVAL):
            return


def sweeping() -> bool:
    return _thread is not None and _thread.is_alive()


def start_sweeping(**_: Any) -> None:
    """Start this process's sweep thread, unless it runs already."""
    global _thread
    # Imported here, before the thread starts: a thread importing the services while a request of
    # this process imports them too can meet a half-initialised module (an ImportError on the first
    # request of the web benchmark, in the kubernetes client's imports).
    from policies import services  # noqa: F401

    with _lock:
        if sweeping():
            return
        _stop.clear()
        _thread = threading.Thread(target=sweep_forever, args=(_stop,), name="netpol-sweep", daemon=True)
        _thread.start()


def stop_sweeping(**_: Any) -> None:
    """Stop the sweep thread (a worker shutting down; tests) and wait for it."""
    global _thread
    with _lock:
        _stop.set()
        thread, _thread = _thread, None
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout=30)


def sweep_beside_the_thread_runner(**_: Any) -> None:
    """Django's request_started: on the embedded default this web process runs the analyses, so it
    sweeps too (the first request starts the thread; later ones only see that it runs)."""
    if not sweeping() and settings.NETPOL_ANALYSIS_RUNNER == "thread":
        start_sweeping()


worker_ready.connect(start_sweeping, weak=False)
worker_shutdown.connect(stop_sweeping, weak=False)
