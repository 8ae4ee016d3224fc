from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0015_team_recheck_pending'),
    ]

    operations = [
        migrations.AddField(
            model_name='team',
            name='recheck_queued',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
