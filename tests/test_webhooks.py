"""The optional webhook: a signed JSON POST when a proposal changes state (and only then)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User

from policies import services
from policies.models import Proposal, Snapshot
from tests.conftest import OPEN_POLICY

SECRET = "s3cret-shared-with-the-receiver"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A local HTTP server that keeps what it receives."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_state_change_posts_a_signed_event(
    settings: Any, receiver: tuple[str, list[tuple[dict[str, str], bytes]]], alice: User, bob: User,
    snapshot: Snapshot, django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    url, received = receiver
    settings.NETPOL_WEBHOOK_URL, settings.NETPOL_WEBHOOK_SECRET = url, SECRET
    proposal = services.create_proposal(base=snapshot, title="open db", user=alice, manifests=OPEN_POLICY)
    services.run_proposal(proposal_id=proposal.id)
    proposal = Proposal.objects.get(id=proposal.id)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_review(proposal=proposal, user=bob, decision="comment", body="hm")
    assert received == []  # a comment changes no state
    with django_capture_on_commit_callbacks(execute=True):
        services.add_review(proposal=proposal, user=bob, decision="approve", body="fine")
    [(headers, body)] = received
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Netpol-Signature"], expected)
    event = json.loads(body)
    assert (event["event"], event["from"], event["to"], event["by"], event["decision"]) == (
        "proposal.state_changed", "open", "approved", "bob", "approve")
    assert event["proposal"]["id"] == proposal.id and event["proposal"]["team"] == "default"


def test_no_webhook_unless_configured_and_an_unreachable_one_does_not_fail_the_review(
    settings: Any, alice: User, bob: User, snapshot: Snapshot,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    proposal = services.create_proposal(base=snapshot, title="open db", user=alice, manifests=OPEN_POLICY)
    services.run_proposal(proposal_id=proposal.id)
    proposal = Proposal.objects.get(id=proposal.id)
    review = services.add_review(proposal=proposal, user=bob, decision="request_changes", body="no")
    assert services.send_proposal_webhook(review_id=review.id) is None
    settings.NETPOL_WEBHOOK_URL = "http://127.0.0.1:9/nothing-listens-here"
    with django_capture_on_commit_callbacks(execute=True):
        services.add_review(proposal=proposal, user=bob, decision="approve", body="ok now")
    assert Proposal.objects.get(id=proposal.id).state == "approved"
