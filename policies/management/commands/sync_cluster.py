import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.models import ClusterConnection
from policies.services import clusters


class Command(BaseCommand):
    help = ("Sync a registered cluster now. A new snapshot is stored (and analysed) only when the "
            "cluster's content changed. Exit code 1 when the sync failed.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true",
                            help='print {"snapshot": ID or null, "created": bool, "warnings": [...]}')

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            connection = ClusterConnection.objects.get(name=options["name"])
        except ClusterConnection.DoesNotExist:
            raise CommandError(f"no cluster named {options['name']!r} (see manage.py add_cluster)",
                               returncode=2) from None
        try:
            outcome = clusters.sync_cluster(connection=connection)
        except (clusters.SyncFailed, clusters.SyncInProgress) as exc:
            if options["json"]:
                failed: dict[str, object] = {"snapshot": None, "created": False, "warnings": [], "error": str(exc)}
                self.stdout.write(json.dumps(failed, indent=2))
            raise CommandError(f"cluster {connection.name}: {exc}", returncode=1) from exc
        if options["json"]:
            self.stdout.write(json.dumps(outcome.to_dict(), indent=2))
            return
        snapshot = outcome.snapshot
        if outcome.created and snapshot is not None:
            self.stdout.write(f"cluster {connection.name}: new snapshot #{snapshot.id} ({snapshot.name})")
        else:
            which = f" #{snapshot.id}" if snapshot else ""
            self.stdout.write(f"cluster {connection.name}: unchanged since snapshot{which}")
        for warning in outcome.warnings:
            self.stderr.write(f"warning: {warning}")
