"""Server-side pages of a long list, one query parameter per list ("exposed-page=2"), so that each
list of a page moves on its own and its links keep the other lists where they were."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.http import QueryDict

T = TypeVar("T")


def page_param(key: str) -> str:
    """The query parameter that holds a list's page ("exposed-page")."""
    return f"{key}-page"


@dataclass
class Page(Generic[T]):
    """The part of a list shown, where it sits in the whole, and the links to the other parts."""

    items: list[T]
    number: int = 1
    count: int = 1  # how many pages the list has
    total: int = 0  # how many items the list has
    first: int = 0  # the first and last item shown, counted from 1 (0: the list is empty)
    last: int = 0
    urls: dict[str, str] = field(default_factory=dict)  # "first", "previous", "next", "last"


def cut(items: list[T], key: str, query: QueryDict | None, size: int) -> Page[T]:
    """The page of ``items`` the query asks for (page 1 when it names none or no number; the last
    page when it names one past the end). Its links lead back to the list's anchor, #list-KEY."""
    query = query if query is not None else QueryDict()
    text = query.get(page_param(key), "")
    count = max(1, math.ceil(len(items) / size))
    number = min(max(1, int(text) if text.isdigit() else 1), count)
    start = (number - 1) * size
    shown = items[start : start + size]
    urls: dict[str, str] = {}
    if number > 1:
        urls.update(first=page_url(query, key, 1), previous=page_url(query, key, number - 1))
    if number < count:
        urls.update(next=page_url(query, key, number + 1), last=page_url(query, key, count))
    return Page(shown, number, count, len(items), start + 1 if shown else 0, start + len(shown), urls)


def page_url(query: QueryDict, key: str, number: int) -> str:
    """The same page with one list on another page, scrolled to that list."""
    changed = query.copy()
    if number > 1:
        changed[page_param(key)] = str(number)
    else:
        changed.pop(page_param(key), None)
    encoded = changed.urlencode()
    return f"?{encoded}#list-{key}" if encoded else f"#list-{key}"
