"""A small in-memory cache of values computed from a snapshot. Snapshots never change, so a value
computed once stays true; only the few most recently used are kept."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from policies.models import Snapshot

__all__ = ["LockedCache", "SnapshotCache"]

T = TypeVar("T")


class LockedCache(Generic[T]):
    """The last ``size`` values by key, safe across threads. A value is computed once: threads
    that ask for a key while it is being computed wait for that computation instead of repeating
    it (fifty requests arriving together for a snapshot no process has parsed yet parse it once)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # outside the cache's lock: parsing a large snapshot takes seconds
            with self._lock:
                if key in self._values:  # another thread computed it meanwhile
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class SnapshotCache(Generic[T]):
    """A LockedCache keyed by snapshot (its id and creation time, so that a reused id after a
    database reset is not mistaken for the old snapshot)."""

    def __init__(self, size: int = 8) -> None:
        self._cache: LockedCache[T] = LockedCache(size)

    def get(self, snapshot: Snapshot, compute: Callable[[], T]) -> T:
        return self._cache.get((snapshot.id, snapshot.created.timestamp()), compute)

    def clear(self) -> None:
        self._cache.clear()
