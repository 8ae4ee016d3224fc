"""The OpenAPI schema against the running API: schemathesis generates requests for every operation
from drf-spectacular's schema and checks each answer (status code documented, content type, body
and headers as the schema says, schema-violating input refused, authentication required, no 5xx
that the operation does not document).

The requests come with the token of alice, an author of the default team, which holds a small
snapshot, the shop demo snapshot (both analysed) and a proposal, an expectation and a cluster
connection of its own. Ids in paths are drawn from those and from one that does not exist, so that
both the answers and the 404s are exercised. Every request runs in a transaction rolled back after
it, so a DELETE does not take the objects away from the requests after it.

Bounded: a few examples per operation (``max_examples``), so that the module takes about a minute.
Schema-valid requests that the server refuses for reasons a schema cannot state (a manifest that
does not parse, an endpoint not in the snapshot, a kubeconfig and in_cluster both given) are
documented 400s and not counted against it (schemathesis' ``positive_data_acceptance``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from netpol_site.wsgi import application
from policies import services
from policies.models import Membership, Snapshot, Team
from tests.conftest import FILES

MAX_EXAMPLES = 10
MISSING = 987654321  # an id no object has
WEB_REACHES_DB = {
    "name": "web-reaches-db",
    "from": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "web"}}},
    "to": {"namespace": "prod", "podSelector": {"matchLabels": {"app": "db"}}},
    "ports": ["TCP/5432"],
    "expect": "allow",
}

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The objects, made once for the module in a transaction that is rolled back at its end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield make_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def make_world() -> dict[str, Any]:
    alice = User.objects.create_user("alice", "alice@example.org", "password")
    team = Team.default()
    Membership.objects.create(team=team, user=alice, role=Membership.Role.AUTHOR)
    snapshot = services.create_snapshot(name="prod", files=FILES, user=alice, team=team)  # analysed in-process
    name, folders = services.DEMOS[4]
    demo = services.create_snapshot(name=name, files=services.demo_files(folders), origin=Snapshot.Origin.DEMO)
    proposal = services.create_proposal(base=snapshot, title="drop", user=alice, delete=["prod/db-same-namespace"])
    expectation = services.save_expectation(team=team, data=WEB_REACHES_DB, user=alice)
    cluster = services.add_cluster(name="live", kubeconfig=None, user=alice, team=team)
    policies = snapshot.resources.filter(kind="NetworkPolicy")
    ids = {
        "snapshots": [snapshot.id, demo.id, proposal.proposed_id, MISSING],
        "analyses": [*snapshot.analyses.values_list("id", flat=True), *demo.analyses.values_list("id", flat=True)],
        "resources": [*snapshot.resources.values_list("id", flat=True)[:3], MISSING],
        "policies": [*policies.values_list("id", flat=True), MISSING],
        "proposals": [proposal.id, MISSING],
        "expectations": [expectation.id, MISSING],
        "teams": [team.name, "no-such-team"],
        "clusters": [cluster.name, "no-such-cluster"],
    }
    ids["analyses"].append(MISSING)
    return {"token": Token.objects.create(user=alice).key, "ids": ids}


@schemathesis.check
def no_undocumented_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx unless the operation documents it (502: the cluster could not be read; 503: the
    analysis queue is down)."""
    if response.status_code >= 500 and str(response.status_code) not in case.operation.definition.raw["responses"]:
        raise AssertionError(f"{response.status_code}: {response.text[:300]}")
    return None


def existing(values: list[Any], generated: Any) -> Any:
    """One of the world's ids (or the missing one), chosen by the generated value."""
    return values[sum(str(generated).encode()) % len(values)]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case: Any, world: dict[str, Any], db: None) -> None:
    cache.clear()  # the throttles count in the cache
    collection = case.operation.path.split("/")[2]
    for key in ("id", "name"):
        if key in (case.path_parameters or {}):
            case.path_parameters[key] = existing(world["ids"][collection], case.path_parameters[key])
    # identity: the WSGI transport reads the body as sent (GZipMiddleware would compress it).
    headers = {"Authorization": f"Token {world['token']}", "Accept-Encoding": "identity"}
    with transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=[positive_data_acceptance, not_a_server_error],
        additional_checks=[no_undocumented_server_error],
    )
