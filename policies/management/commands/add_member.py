from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies import teams
from policies.models import Membership, Team


class Command(BaseCommand):
    help = "Add a user to a team with a role (or change their role)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Membership.Role.values, default=Membership.Role.VIEWER)

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            raise CommandError(f"no team named {options['team']!r} (create it with create_team)")
        try:
            membership = teams.add_member(team=team, username=options["username"], role=options["role"])
        except teams.TeamError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{membership.user} is now {membership.role} in team {team.name}")
