"""The audit trail: who uploaded, synced, proposed, commented, approved or changed a connection, when.

Any layer that acts on behalf of a user calls ``record`` once the action has succeeded:

    audit.record(request.user, "uploaded", snapshot, {"files": 3})

Details are stored as JSON; keys that look like credentials are replaced by "[redacted]", so that
a careless caller cannot put a token or a kubeconfig into the trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import models

from policies.models import AuditEvent

__all__ = ["record", "events_for"]

SECRET_WORDS = ("password", "secret", "token", "key", "credential", "kubeconfig", "certificate", "authorization")
REDACTED = "[redacted]"
MAX_REPR = 200


def record(
    actor: User | AbstractBaseUser | AnonymousUser | None,
    verb: str,
    target: models.Model | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Store one audit event: ``actor`` (None for the system) did ``verb`` to ``target``."""
    user = actor if isinstance(actor, User) and actor.pk is not None else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        verb=verb[:50],
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        object_repr=str(target)[:MAX_REPR] if target is not None else "",
        details=_redact(dict(details or {})),
    )


def events_for(target: models.Model) -> models.QuerySet[AuditEvent]:
    """The trail of one object, newest first."""
    return AuditEvent.objects.filter(object_type=target._meta.label_lower, object_id=str(target.pk))


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if any(word in str(k).lower() for word in SECRET_WORDS) else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
