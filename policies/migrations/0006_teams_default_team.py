"""Snapshots from before teams move into the default team."""

from typing import Any

from django.db import migrations

DEFAULT_NAME = "default"  # Team.DEFAULT_NAME


def move_into_default_team(apps: Any, schema_editor: Any) -> None:
    Team = apps.get_model("policies", "Team")
    Snapshot = apps.get_model("policies", "Snapshot")
    if not Snapshot.objects.filter(team__isnull=True).exists():
        return
    team, _ = Team.objects.get_or_create(name=DEFAULT_NAME)
    Snapshot.objects.filter(team__isnull=True).update(team=team)


class Migration(migrations.Migration):
    dependencies = [("policies", "0005_teams")]

    operations = [migrations.RunPython(move_into_default_team, migrations.RunPython.noop)]
