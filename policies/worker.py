"""What a Celery worker does besides running tasks: it sweeps for lost or stuck analyses when it
starts and every NETPOL_SWEEP_INTERVAL seconds after (policies.services.recovery)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

_stop = threading.Event()


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


def start_sweeping(**_: Any) -> None:
    _stop.clear()
    threading.Thread(target=sweep_forever, args=(_stop,), name="netpol-sweep", daemon=True).start()


def stop_sweeping(**_: Any) -> None:
    _stop.set()


worker_ready.connect(start_sweeping, weak=False)
worker_shutdown.connect(stop_sweeping, weak=False)
