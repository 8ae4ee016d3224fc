"""A lint finding: severity, code, message, and the policy and place it is about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.engine.cluster import Source

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str
    policy: str = ""
    source: Source = Source()

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "policy": self.policy, "source": self.source.to_dict()}

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source.file else ""
        return f"{where}{self.severity} {self.code} {self.policy}: {self.message}"
