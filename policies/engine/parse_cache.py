"""Files read once: the objects of a file whose text was read before, and the model built from them.

Two versions of a cluster (``netpol diff A B``, two snapshots of one cluster) share most of their
files byte for byte. A ``ParseCache`` hands out the objects of a text it has read before instead
of reading it again, under the new file name, and remembers what the kind parsers built from each
object (a Pod, a NetworkPolicy, ...) so that ``build_cluster`` does not build it twice either.

The result is exactly what reading the file again gives: the cached objects are the same values
(the YAML reader's output depends on the text only), each object and each model object names
the file it was read from this time (their ``source``), and only results that hold no file name
elsewhere (no warning or note, which word the file name) are reused.

The cache holds its entries weakly: a file's objects stay cached while some ``ParseResult`` that
holds them is alive (``ParseResult.files``), so a process that keeps a few parses (the web app)
spends no memory on it, and a caller that diffs two versions keeps the first version's result
while it reads the second.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from policies.engine.cluster import Source
from policies.engine.documents import RawObject


class _Sourced(Protocol):
    @property
    def source(self) -> Source: ...


T = TypeVar("T", bound=_Sourced)


class FileObjects:
    """The objects read from one text, as first read (under the first file name)."""

    __slots__ = ("name", "objects", "__weakref__")

    def __init__(self, name: str, objects: list[RawObject]) -> None:
        self.name = name
        self.objects = objects

    def named(self, name: str) -> list[RawObject]:
        """The objects as read from a file called ``name``."""
        if name == self.name:
            return self.objects
        return [_renamed(obj, name) for obj in self.objects]


class ParseCache:
    """Objects of the texts read through it, by text (thread-safe; entries held weakly)."""

    def __init__(self) -> None:
        self._files: weakref.WeakValueDictionary[str, FileObjects] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def load(self, name: str, text: str, read: Callable[[], list[RawObject]]) -> FileObjects:
        """The objects of ``text``: read with ``read()`` and given a model memo, or as cached.
        Raises what ``read`` raises (nothing is cached then)."""
        with self._lock:
            found = self._files.get(text)
        if found is not None:
            return found
        objects = [_with_memo(obj) for obj in read()]
        entry = FileObjects(name, objects)
        with self._lock:
            self._files.setdefault(text, entry)
        return entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)


def _renamed(obj: RawObject, name: str) -> RawObject:
    s = obj.source
    source = Source(name, s.document, s.line, s.end_line, s.item_path)
    return RawObject(obj.kind, obj.api_version, obj.data, source, obj.lines, obj.text, obj.memo)


def _with_memo(obj: RawObject) -> RawObject:
    if obj.memo is not None:
        return obj
    return RawObject(obj.kind, obj.api_version, obj.data, obj.source, obj.lines, obj.text, {})


def reuse(obj: RawObject, step: str, build: Callable[[RawObject], tuple[T, Any]]) -> tuple[T, Any]:
    """``build(obj)`` -> (model object with a ``source``, warnings), built once per cached object.

    A result with warnings is not kept (warnings name the file); a kept one is handed out with
    ``source`` set to this object's."""
    memo = obj.memo
    if memo is None:
        return build(obj)
    kept = memo.get(step)
    if kept is None:
        value, warnings = build(obj)
        if not warnings:
            memo[step] = value
        return value, warnings
    return with_source(kept, obj.source), ()


def reuse_check(obj: RawObject, step: str, check: Callable[[RawObject], str]) -> str:
    """``check(obj)`` -> a note ("" when none), run once per cached object that gives no note."""
    memo = obj.memo
    if memo is None or step not in memo:
        note = check(obj)
        if memo is not None and not note:
            memo[step] = True
        return note
    return ""


def with_source(value: T, source: Source) -> T:
    """A copy of the frozen dataclass ``value`` with its ``source`` field set (``value`` itself when
    it already has that source)."""
    if value.source is source or value.source == source:
        return value
    copy = object.__new__(type(value))
    copy.__dict__.update(value.__dict__)
    copy.__dict__["source"] = source
    return copy
