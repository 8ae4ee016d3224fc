"""The API's front door: what `/api/` says to a person or a script that finds it."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView


class APIRoot(APIRootView):
    """netpol's REST API: what your network policies allow, and why.

    Upload policies as a snapshot (`POST /api/snapshots/` with YAML files) and wait for its
    analysis (`GET /api/analyses/{id}/`: its progress, then its summary and lint findings), then ask:

    - `GET /api/snapshots/{id}/graph/?level=workload|pod|namespace`: who reaches whom, on which ports;
    - `GET /api/snapshots/{id}/explain/?from=...&to=...&port=...&protocol=...`: the verdict of one
      flow, with the policy, rule, file and line that decide it (`&suggest=true`: and the smallest
      change that turns it, as YAML, checked, with what else it opens or closes);
    - `GET /api/snapshots/{id}/diff/?against=OTHER_ID`: the flows a change opens and closes.

    Live clusters: register one (`POST /api/clusters/` with a kubeconfig, kept encrypted and never
    returned, or `in_cluster: true`; `team` as for uploads), sync it now (`POST
    /api/clusters/{name}/sync/`, author or above) and read its history (`GET
    /api/clusters/{name}/syncs/`: each new snapshot's flows opened and closed). Only the members of
    a connection's team see it.

    Team review: `POST /api/proposals/` (a change of a snapshot's policies, analysed in the
    background), `GET /api/proposals/{id}/` (its diff and expectation results), `POST
    /api/proposals/{id}/reviews/` (comment, approve, request changes...), and each team's
    expectations at `/api/expectations/`.

    The OpenAPI schema is at `/api/schema/`, readable at `/api/schema/swagger-ui/` and
    `/api/schema/redoc/`. Authenticate with a session (the pages' login) or a token
    (`Authorization: Token KEY`).
    """

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        links = {
            "schema": reverse("api:schema", request=request),
            "docs": reverse("api:swagger-ui", request=request),
            "health": reverse("api:health", request=request),
        }
        return Response({**response.data, **links})
