"""Cluster connections belong to a team: those from before move into the default team (0011 then
makes the team required, in its own migration as 0007 did for snapshots)."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_NAME = "default"  # Team.DEFAULT_NAME


def move_into_default_team(apps: Any, schema_editor: Any) -> None:
    Team = apps.get_model("policies", "Team")
    ClusterConnection = apps.get_model("policies", "ClusterConnection")
    if not ClusterConnection.objects.filter(team__isnull=True).exists():
        return
    team, _ = Team.objects.get_or_create(name=DEFAULT_NAME)
    ClusterConnection.objects.filter(team__isnull=True).update(team=team)


class Migration(migrations.Migration):
    dependencies = [("policies", "0009_analysis_part")]

    operations = [
        migrations.AddField(
            model_name="clusterconnection",
            name="team",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="cluster_connections",
                to="policies.team",
            ),
        ),
        migrations.RunPython(move_into_default_team, migrations.RunPython.noop),
    ]
