"""The engine's one exception family.

Every error names where the bad input is: file, YAML document index (0-based), line (1-based) and
the field path inside the object, e.g. ``spec.ingress[0].from[1].ipBlock.cidr``.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Bad input: a manifest, a flow or an option that the engine cannot accept."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        document: int | None = None,
        line: int | None = None,
        path: str = "",
        obj: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.document = document
        self.line = line
        self.path = path
        self.obj = obj

    def __str__(self) -> str:
        where: list[str] = []
        if self.file:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.document is not None:
            where.append(f"document {self.document}")
        if self.obj:
            where.append(self.obj)
        if self.path:
            where.append(f"field {self.path}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "file": self.file,
            "document": self.document,
            "line": self.line,
            "path": self.path,
            "object": self.obj,
            "text": str(self),
        }


class UnsupportedError(PolicyError):
    """The input uses a feature whose effect on a verdict the engine does not model (SEMANTICS.md 0.3)."""
