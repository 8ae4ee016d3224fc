"""Periodic cluster sync without Celery beat: the embedded default's scheduler.

On the embedded default (no REDIS_URL) tasks run in-process, so there is no beat and no worker;
this command is their stand-in: every NETPOL_SCHEDULER_SECONDS it syncs the connections that are
due, one after the other, in its own process (``make run`` starts it beside the web server).
With Redis, Celery beat does the same job and this command only queues the syncs.
"""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from policies import services


class Command(BaseCommand):
    help = "Sync the cluster connections that are due, every NETPOL_SCHEDULER_SECONDS (the embedded default's beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: never)")
        parser.add_argument(
            "--every", type=float, default=None, help="seconds between rounds (default NETPOL_SCHEDULER_SECONDS)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = settings.NETPOL_SCHEDULER_SECONDS if options["every"] is None else options["every"]
        rounds = 1 if options["once"] else options["rounds"]
        stop = threading.Event()

        def stop_on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, stop_on_signal)
        done = 0
        while not stop.is_set():
            started = services.start_due_syncs()
            if started:
                self.stdout.write(f"synced or queued {len(started)} due cluster(s): {', '.join(map(str, started))}")
            done += 1
            if rounds and done >= rounds:
                break
            stop.wait(every)
