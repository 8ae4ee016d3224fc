"""Services for teams and their members (create a team, add or change a member, choose the team
of an upload). Pages, the API and the management commands call these."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from policies import access
from policies.models import Membership, Team

__all__ = ["TeamError", "add_member", "create_team", "remove_member", "team_for_upload"]


class TeamError(Exception):
    """A request about teams that cannot be met (unknown team or user, bad name or role);
    ``field`` names the input it is about."""

    def __init__(self, message: str, *, field: str = "team") -> None:
        super().__init__(message)
        self.field = field


def create_team(*, name: str) -> Team:
    name = name.strip()
    try:
        validate_slug(name)
    except ValidationError as exc:
        raise TeamError(f"{name!r} is not a valid team name: use letters, digits, - and _", field="name") from exc
    if Team.objects.filter(name=name).exists():
        raise TeamError(f"a team named {name!r} already exists", field="name")
    return Team.objects.create(name=name)


@transaction.atomic
def add_member(*, team: Team, username: str, role: str) -> Membership:
    """Add ``username`` to ``team`` with ``role``, or change their role when already a member."""
    if role not in Membership.Role.values:
        raise TeamError(f"role must be one of {', '.join(Membership.Role.values)}, not {role!r}", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TeamError(f"no user named {username!r}", field="username")
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return membership


def remove_member(*, team: Team, username: str) -> None:
    deleted, _ = Membership.objects.filter(team=team, user__username=username).delete()
    if not deleted:
        raise TeamError(f"{username!r} is not a member of team {team.name}", field="username")


def team_for_upload(*, user: AbstractBaseUser | AnonymousUser, name: str | None, what: str = "snapshots") -> Team:
    """The team a new snapshot, proposal or cluster connection (``what``, for the message) of
    ``user`` belongs to: the named one (where the user is an author or above), or their only team
    when they name none."""
    if name:
        team = access.teams_of(user).filter(name=name).first()
        if team is None:
            raise TeamError(f"you are not a member of a team named {name!r}")
    else:
        teams = list(Team.objects.filter(memberships__user_id=user.pk)[:2]) if user.is_authenticated else []
        if len(teams) == 1:
            team = teams[0]
        elif getattr(user, "is_staff", False):
            team = Team.default()  # staff belong to every team; theirs go to the default one
        elif not teams:
            raise TeamError("you are not a member of any team: ask a team admin to add you")
        else:
            raise TeamError('you are a member of several teams: say which one with "team"')
    if not access.has_role(user, team, Membership.Role.AUTHOR):
        raise TeamError(f"only a team author or above may add {what} to team {team.name}")
    return team
