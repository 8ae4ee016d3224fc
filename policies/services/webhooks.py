"""The optional outbound webhook: a JSON POST to NETPOL_WEBHOOK_URL when a proposal changes state,
signed with NETPOL_WEBHOOK_SECRET (HMAC-SHA256 of the body, hex, in ``X-Netpol-Signature:
sha256=...``, the scheme GitHub uses for its webhooks). A receiver recomputes the HMAC over the
raw body and compares it in constant time (``hmac.compare_digest``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from policies.models import Review

__all__ = ["SIGNATURE_HEADER", "proposal_event", "send_proposal_webhook", "sign"]

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Netpol-Signature"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def proposal_event(review: Review) -> dict[str, Any]:
    proposal = review.proposal
    return {
        "event": "proposal.state_changed",
        "proposal": {"id": proposal.id, "title": proposal.title, "team": proposal.team.name,
                     "state": review.to_state, "base": proposal.base_id, "proposed": proposal.proposed_id,
                     "revision": review.revision},
        "from": review.from_state,
        "to": review.to_state,
        "decision": review.decision,
        "by": review.author_name,
        "comment": review.body,
        "at": review.created.isoformat(),
    }


def send_proposal_webhook(*, review_id: int) -> int | None:
    """POST the event of ``review``; the receiver's status code, or None when no webhook is set or
    it could not be reached (logged: a webhook never fails the review)."""
    url = settings.NETPOL_WEBHOOK_URL
    review = Review.objects.select_related("proposal__team").filter(id=review_id).first()
    if not url or review is None:
        return None
    body = json.dumps(proposal_event(review), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "netpol-webhook"}
    if settings.NETPOL_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(body, settings.NETPOL_WEBHOOK_SECRET)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.NETPOL_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        logger.warning("webhook for proposal %s not delivered: %s", review.proposal_id, exc)
        return None
    if status >= 300:
        logger.warning("webhook for proposal %s answered %s", review.proposal_id, status)
    return status
