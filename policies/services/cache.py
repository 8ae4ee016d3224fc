"""A small in-memory cache of values computed from a snapshot. Snapshots never change, so a value
computed once stays true; only the few most recently used are kept."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from policies.models import Snapshot

__all__ = ["SnapshotCache"]

T = TypeVar("T")


class SnapshotCache(Generic[T]):
    """The last ``size`` values, keyed by snapshot (its id and creation time, so that a reused id
    after a database reset is not mistaken for the old snapshot). Safe across threads."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._values: OrderedDict[tuple[int, float], T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snapshot: Snapshot, compute: Callable[[], T]) -> T:
        key = (snapshot.id, snapshot.created.timestamp())
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()  # outside the lock: parsing a large snapshot takes seconds
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
