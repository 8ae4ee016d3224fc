"""A resource's YAML as numbered lines, as its file numbers them, some lines highlighted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from policies.models import Resource


@dataclass
class Listing:
    """A resource's YAML as numbered lines (file line numbers), some highlighted."""

    caption: str
    lines: list[tuple[int, str, str]]  # (number, text, css class)


def listing(resource: Resource, highlight: Iterable[tuple[int, int]] = (), bad: Iterable[int] = ()) -> Listing:
    """The object's lines numbered as in its file; ``highlight`` holds (line, end_line) spans."""
    if resource.file is not None and resource.line:
        file_lines = resource.file.text.splitlines()
        end = resource.end_line or len(file_lines)
        first = resource.line
        texts = file_lines[first - 1 : end]
        caption = f"{resource.file.name}, lines {first}-{first + len(texts) - 1}"
    else:
        texts = resource.text.splitlines()
        first = 1
        caption = str(resource)
    return Listing(caption, numbered(texts, first, highlight, bad))


def numbered(
    texts: list[str], first: int, highlight: Iterable[tuple[int, int]] = (), bad: Iterable[int] = ()
) -> list[tuple[int, str, str]]:
    marked: set[int] = set()
    for start, end in highlight:
        if start:
            marked.update(range(start, max(start, end) + 1))
    bad_lines = set(bad)
    rows = []
    for offset, text in enumerate(texts):
        number = first + offset
        css = "bad" if number in bad_lines else "hl" if number in marked else ""
        rows.append((number, text, css))
    return rows
