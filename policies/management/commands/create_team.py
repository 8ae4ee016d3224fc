from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies import teams


class Command(BaseCommand):
    help = "Create a team: its members see its snapshots, proposals and expectations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="letters, digits, - and _")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            team = teams.create_team(name=options["name"])
        except teams.TeamError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created team {team.name}")
