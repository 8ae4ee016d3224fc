"""Large answers that never change, rendered to JSON once.

A graph or a diff of a finished analysis is the same object at every request (the services keep
it), yet DRF would render its megabytes of JSON again each time. ``json_answer`` keeps the bytes of
the few most recent such objects, keyed by the object itself, and sends them as they are when the
client asked for JSON (the browsable API renders as usual)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

__all__ = ["json_answer", "wants_json"]

SIZE = 8
LARGEST = 4 * 1024 * 1024  # bytes of JSON kept per answer: larger ones are computed per request anyway
_lock = threading.Lock()
# id(answer) -> (the answer, kept alive so that its id is not reused, its JSON)
_rendered: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()


def _bytes_of(answer: Any) -> bytes:
    key = id(answer)
    with _lock:
        kept = _rendered.get(key)
        if kept is not None and kept[0] is answer:
            _rendered.move_to_end(key)
            return kept[1]
    data: bytes = JSONRenderer().render(answer)
    if len(data) > LARGEST:
        return data
    with _lock:
        _rendered[key] = (answer, data)
        while len(_rendered) > SIZE:
            _rendered.popitem(last=False)
    return data


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (not the browsable API)."""
    renderer = getattr(request, "accepted_renderer", None)
    return renderer is not None and renderer.format == "json"


def json_answer(request: Request, answer: Any) -> HttpResponse | Response:
    """``answer`` as the response: its kept JSON bytes when JSON was asked for."""
    if wants_json(request):
        return HttpResponse(_bytes_of(answer), content_type="application/json")
    return Response(answer)
