"""The API's JSON parser: DRF's, but a body nested deeper than MAX_DEPTH (Python's json module
recurses: 1,500 levels is a RecursionError) or holding a lone UTF-16 surrogate (``"\\ud800"``,
which no database or YAML dumper can store) is a 400 that says so."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

__all__ = ["MAX_DEPTH", "SafeJSONParser", "json_problem"]

MAX_DEPTH = 64  # Kubernetes objects nest about 15 levels deep
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_problem(text: str) -> str:
    """Why ``text`` is refused before it is decoded ("" when it is not)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return f"JSON nested deeper than {MAX_DEPTH} levels"
    return ""


def _surrogate_path(value: Any) -> str | None:
    """The path of the first string (or key) with a lone surrogate, without recursion."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path or "the body"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                stack.append((f"{path}.{key}" if path else str(key), key))
                stack.append((f"{path}.{key}" if path else str(key), child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class SafeJSONParser(JSONParser):
    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding}: {exc.reason}") from None
        problem = json_problem(text)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        path = _surrogate_path(data)
        if path is not None:
            safe = path.encode("utf-8", "backslashreplace").decode("ascii", "replace")[:200]
            raise ParseError(f"JSON parse error - a lone UTF-16 surrogate (\\ud800-\\udfff) in {safe}")
        return data
