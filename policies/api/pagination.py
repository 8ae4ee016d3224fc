"""Pages of a list: ``?page=`` a whole number from 1 (anything else a 400, a page past the last a 404)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class PageNumbers(PageNumberPagination):
    def get_page_number(self, request: Request, paginator: Paginator) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return raw
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: [f"a whole number from 1, not {raw[:20]!r}"]})
        return raw

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters



NOT_PAGED = OpenApiResponse(OpenApiTypes.OBJECT, description="`?page=` given: this list is one page.")


def refuse_pages(request: Request) -> None:
    """A list answered whole says so when asked for a page, instead of ignoring the question."""
    if "page" in request.query_params:
        raise ValidationError({"page": ["This list is not paged: it comes whole; leave out ?page=."]})
