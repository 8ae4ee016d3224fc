"""Template filters for numbers with units and engine data in words."""

from __future__ import annotations

from typing import Any

from django import template

from policies.pages import words as page_words

register = template.Library()


@register.filter
def units(count: Any, words: str) -> str:
    """{{ n|units:"policy,policies" }} -> "1 policy", "3 policies"."""
    one, _, many = words.partition(",")
    try:
        number = int(count)
    except (TypeError, ValueError):
        number = len(count) if hasattr(count, "__len__") else 0
    return page_words.plural(number, one, many or None)


@register.filter
def ports(edge: dict[str, Any] | None) -> str:
    """An edge's allowed ports in words: "TCP 80, 443", "all traffic"."""
    return page_words.ports_text(edge)


@register.filter
def percent(fraction: float | None) -> int:
    return round((fraction or 0) * 100)


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.filter
def order(value: float | None) -> str:
    """A Calico order: 10.0 -> "10", None -> "none (last)"."""
    return page_words.order_text(value)
