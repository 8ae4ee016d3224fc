"""Raw manifest objects with the line of every field, as the loader hands them to the kind parsers.

Kind parsers (Kubernetes in ``parse.py``, Calico in ``calico/parse.py``) turn a RawObject into
model objects or raise PolicyError through ``RawObject.error`` so that every message names the
file, the YAML document, the line and the field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.engine.cluster import Source
from policies.engine.errors import PolicyError


@dataclass(frozen=True)
class RawObject:
    kind: str
    api_version: str
    data: Mapping[str, Any]
    source: Source
    # field path ("spec.ingress[0].from[1]") -> 1-based line of that field in the file
    lines: Mapping[str, int] = field(default_factory=dict)
    text: str = ""  # the object's own source text (its lines of the file)
    # What kind parsers built from this object, kept by a ParseCache for the next file with the same
    # text (parse_cache.py); None when the object was not read through a cache.
    memo: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.data.get("metadata")
        if type(meta) is dict:  # the usual case, without the slower check against the ABC
            return meta
        return meta if isinstance(meta, Mapping) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    def describe(self) -> str:
        """Kind, namespace and name, each cut to 80 characters (a refused name may be megabytes long)."""
        ns = f"{_short(self.namespace)}/" if self.namespace else ""
        kind = _short(self.kind)
        return f"{kind} {ns}{_short(self.name)}" if self.name else kind

    def line_of(self, path: str) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.source.line

    def error(self, message: str, path: str = "") -> PolicyError:
        return PolicyError(
            message,
            file=self.source.file,
            document=self.source.document,
            line=self.line_of(path),
            path=path,
            obj=self.describe(),
        )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
