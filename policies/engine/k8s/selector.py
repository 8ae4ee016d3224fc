"""Kubernetes LabelSelector matching (SEMANTICS.md section 3).

Requirements are ANDed; an empty selector matches everything; ``NotIn`` and ``DoesNotExist``
match a label set that lacks the key; ``matchLabels: {k: ""}`` requires the key.
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["OPERATORS", "LabelSelector", "Operator", "Requirement", "selector_from_match_labels"]

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        vals = ",".join(sorted(self.values))
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={vals}"
        op = "in" if self.operator == "In" else "notin"
        return f"{self.key} {op} ({vals})"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def equality_terms(self) -> tuple[tuple[str, str], ...]:
        """The ``key=value`` terms that any matching label set must carry (for indexing)."""
        return tuple(
            (r.key, next(iter(r.values)))
            for r in self.requirements
            if r.operator == "In" and len(r.values) == 1
        )

    def __str__(self) -> str:
        if not self.requirements:
            return "{} (everything)"
        return ", ".join(str(r) for r in self.requirements)


def selector_from_match_labels(match_labels: Mapping[str, str]) -> LabelSelector:
    return LabelSelector(
        tuple(Requirement(k, "In", frozenset([v])) for k, v in sorted(match_labels.items()))
    )
