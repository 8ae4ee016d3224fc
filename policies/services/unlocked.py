"""Writes that SQLite's shared-cache databases (the tests' in-memory one) refuse at once with
"table is locked" while another thread holds the table, instead of waiting as a database file does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

__all__ = ["LOCKED_WAITS", "when_unlocked"]

T = TypeVar("T")
LOCKED_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8)


def when_unlocked(write: Callable[[], T]) -> T:
    """``write()``, tried again after a short wait while the table is locked. Only for writes that
    change nothing when they fail (one statement, or one transaction)."""
    for wait in LOCKED_WAITS:
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(wait)
    return write()
