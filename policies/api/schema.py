"""The answers every operation can give besides its own, added to the OpenAPI schema once.

drf-spectacular documents what a view declares; DRF itself answers 401 without credentials, 403
without the permission, 429 when throttled, 415 for a body it cannot read, 404 for an id (or a
page) that is not there and 400 for a query or body it rejects. This hook adds those to each
operation that can give them, with the body DRF sends: ``{"detail": "..."}``, or for a 400 the
message of each bad field.
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "What went wrong: `detail`, or for a 400 a message list for each bad field.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
METHODS = {"get", "put", "patch", "post", "delete"}

NOT_AUTHENTICATED = "No credentials, or wrong ones (a token: `Authorization: Token ...`)."
FORBIDDEN = "Not allowed: the object's team gives this user a role that may not do this."
NOT_FOUND = "Not found, or not visible to this user (another team's); or a page past the last."
THROTTLED = "Too many requests: see Retry-After."
BAD_REQUEST = "Invalid input: each bad field (or `detail`) says why."
UNSUPPORTED_MEDIA = "A body in a content type this operation does not read (or a malformed multipart body)."


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method in METHODS:
                _add_to(operation)
    return result


def _add_to(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    secured = operation.get("security") != [{}] and operation.get("security") != []
    wanted = {"429": THROTTLED}
    if secured:
        wanted |= {"401": NOT_AUTHENTICATED, "403": FORBIDDEN}
    if any(p["in"] == "path" or p["name"] == "page" for p in parameters):
        wanted["404"] = NOT_FOUND
    if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
        wanted["400"] = BAD_REQUEST
    if "requestBody" in operation:
        wanted["415"] = UNSUPPORTED_MEDIA
    for code, description in wanted.items():
        response = responses.setdefault(code, {"description": description})
        if not response.get("description") or response["description"] == "No response body":
            response["description"] = description
        response.setdefault("content", {"application/json": {"schema": ERROR_REF}})
