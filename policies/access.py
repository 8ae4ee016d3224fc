"""Who sees and does what: a team's objects are visible to its members only (staff see all).

Every page and API view that reads an object belonging to a team scopes its queryset with
``visible_to``; an object of another team is then simply not found (404), so its existence is
not revealed. Actions check the user's role with ``require_role`` (403).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from policies.models import Membership, Snapshot, Team

__all__ = [
    "get_visible_or_404",
    "has_role",
    "require_role",
    "role_in",
    "teams_of",
    "visible_snapshots",
    "visible_to",
]

M = TypeVar("M", bound=models.Model)
AnyUser = AbstractBaseUser | AnonymousUser


def _is_staff(user: AnyUser) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def teams_of(user: AnyUser) -> QuerySet[Team]:
    """The teams whose objects ``user`` may see: all for staff, their own for members, none otherwise."""
    if _is_staff(user):
        return Team.objects.all()
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user_id=user.pk)


def visible_to(queryset: QuerySet[M], user: AnyUser, *, team_field: str = "team") -> QuerySet[M]:
    """``queryset`` narrowed to the objects of ``user``'s teams; ``team_field`` is the lookup
    path from the model to its Team (``"team"``, ``"snapshot__team"``...)."""
    if _is_staff(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{team_field}__in": Team.objects.filter(memberships__user_id=user.pk)})


def get_visible_or_404(
    queryset: QuerySet[M] | type[M], user: AnyUser, *, team_field: str = "team", **lookup: Any
) -> M:
    """The object matching ``lookup`` if ``user`` may see it, else Http404 (as if it did not exist)."""
    if not isinstance(queryset, QuerySet):
        queryset = queryset._default_manager.all()
    return get_object_or_404(visible_to(queryset, user, team_field=team_field), **lookup)


def visible_snapshots(user: AnyUser) -> QuerySet[Snapshot]:
    return visible_to(Snapshot.objects.all(), user)


def role_in(user: AnyUser, team: Team) -> str | None:
    """``user``'s role in ``team`` (a Membership.Role value); staff act as admins; None for outsiders."""
    if _is_staff(user):
        return Membership.Role.ADMIN
    if not user.is_authenticated:
        return None
    role: str | None = Membership.objects.filter(team=team, user_id=user.pk).values_list("role", flat=True).first()
    return role


def has_role(user: AnyUser, team: Team, minimum: str) -> bool:
    """Whether ``user`` holds ``minimum`` or a stronger role in ``team``."""
    role = role_in(user, team)
    return role is not None and Membership.rank(role) >= Membership.rank(minimum)


def require_role(user: AnyUser, team: Team, minimum: str, action: str = "do this") -> None:
    """PermissionDenied (403) unless ``user`` holds ``minimum`` or a stronger role in ``team``."""
    if not has_role(user, team, minimum):
        raise PermissionDenied(f"only a team {minimum} or above may {action} in team {team.name}")
