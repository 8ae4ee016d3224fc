from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.models import Team
from policies.services import clusters


class Command(BaseCommand):
    help = ("Register a cluster to sync: with a kubeconfig file (stored encrypted) or, inside the "
            "cluster, with netpol's own service account (--in-cluster).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="a short name: lower-case letters, digits, '-' and '_'")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--kubeconfig", metavar="FILE", help="a kubeconfig file")
        source.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
        parser.add_argument("--context", default="", help="the kubeconfig context (default: its current context)")
        parser.add_argument("--interval", type=int, default=60, metavar="MINUTES",
                            help="minutes between periodic syncs (default 60)")
        parser.add_argument("--team", default="", help="the team whose members see it (default: the only team, "
                            "else the default team)")

    def handle(self, *args: Any, **options: Any) -> None:
        team = _team(options["team"])
        kubeconfig = None
        if options["kubeconfig"]:
            path = Path(options["kubeconfig"])
            try:
                kubeconfig = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot read the kubeconfig: {exc}", returncode=2) from exc
        try:
            connection = clusters.add_cluster(
                name=options["name"], kubeconfig=kubeconfig, context=options["context"],
                interval_minutes=options["interval"], team=team,
            )
        except clusters.InvalidConnection as exc:
            raise CommandError(str(exc), returncode=2) from exc
        where = connection.server or connection.source
        self.stdout.write(f"added cluster {connection.name} ({where}, context {connection.context or '-'}, "
                          f"every {connection.interval_minutes} min, team {team.name})")


def _team(name: str) -> Team:
    """The named team; without a name the only team there is, else the default one."""
    if name:
        team = Team.objects.filter(name=name).first()
        if team is None:
            raise CommandError(f"no team named {name!r} (create it with create_team)", returncode=2)
        return team
    teams = list(Team.objects.all()[:2])
    return teams[0] if len(teams) == 1 else Team.default()
