"""Manifests in, the engine's parse out: for uploads, analyses and the answers read from a snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from policies import engine
from policies.models import Snapshot
from policies.services.cache import SnapshotCache

__all__ = [
    "check_manifests",
    "decode_file",
    "load_manifests",
    "parse_manifests",
    "remember_parse",
    "unique_file_names",
]

_parsed: SnapshotCache[Any] = SnapshotCache()


def decode_file(*, name: str, data: bytes) -> str:
    """The text of an uploaded file; manifests must be UTF-8 (a byte order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise engine.PolicyError(f"not UTF-8 text (byte {exc.start})", file=name) from exc


MAX_FILE_NAME = 500  # SnapshotFile.name


def unique_file_names(files: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The files with names made unique within the snapshot: a second "a.yaml" becomes "a (2).yaml"."""
    seen: set[str] = set()
    result = []
    for name, text in files:
        name = name.strip() or "manifests.yaml"
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            stem, dot, ext = name.rpartition(".")
            candidate = f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})"
        seen.add(candidate)
        result.append((candidate, text))
    return result


def check_manifests(*, files: Sequence[tuple[str, str]]) -> None:
    """What an upload checks before it answers, in a fraction of the time reading the objects takes:
    there are files, their names fit, each is within NETPOL_MAX_UPLOAD_BYTES, is YAML (or JSON)
    and holds objects (mappings with a kind) no deeper than the reader allows. PolicyError names
    file, document and line, as the full read would; the rest of the checks are the analysis'."""
    _check_files(files)
    for name, text in files:
        engine.check_syntax(name, text, max_bytes=settings.NETPOL_MAX_UPLOAD_BYTES)


def parse_manifests(*, files: Sequence[tuple[str, str]], upload: bool = False) -> Any:
    """Parse (file name, text) pairs with the engine; raises engine.PolicyError naming file and line.

    Size limits belong to the web upload (``upload=True``: NETPOL_MAX_UPLOAD_BYTES per file); the
    engine reads files of any size, and a stored snapshot is parsed whatever the setting is now."""
    _check_files(files)
    limit = settings.NETPOL_MAX_UPLOAD_BYTES if upload else None
    return engine.parse_files(list(files), max_bytes=limit)


def _check_files(files: Sequence[tuple[str, str]]) -> None:
    if not files:
        raise engine.PolicyError("no manifests: upload at least one YAML or JSON file")
    if not any(text.strip() for _, text in files):
        raise engine.PolicyError("the manifests are empty")
    for name, _ in files:
        if len(name) > MAX_FILE_NAME:
            raise engine.PolicyError(
                f"a file name is {len(name)} characters long; at most {MAX_FILE_NAME} are allowed",
                file=f"{name[:80]}...",
            )


def load_manifests(*, snapshot: Snapshot) -> Any:
    """The snapshot's files parsed by the engine (a ParseResult). Snapshots never change,
    so a few recent parses are kept in memory for explanations and policy pages."""
    return _parsed.get(snapshot, lambda: parse_manifests(files=[(f.name, f.text) for f in snapshot.files.all()]))


def remember_parse(*, snapshot: Snapshot, parsed: Any) -> None:
    """Keep the parse of a snapshot's files made at upload for its analysis and its pages."""
    _parsed.get(snapshot, lambda: parsed)
