import django.db.models.deletion
from django.db import migrations, models

import policies.models


class Migration(migrations.Migration):
    dependencies = [("policies", "0010_cluster_connection_team")]

    operations = [
        migrations.AlterField(
            model_name="clusterconnection",
            name="team",
            field=models.ForeignKey(
                default=policies.models.default_team_id,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="cluster_connections",
                to="policies.team",
            ),
        ),
    ]
