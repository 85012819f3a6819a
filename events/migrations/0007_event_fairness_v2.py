from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_moderation_queue"),
    ]

    operations = [
        # Events that exist already keep the scheme they were committed under.
        migrations.AddField(
            model_name="event",
            name="fairness_algorithm",
            field=models.CharField(
                default="sha256-fisher-yates-v1",
                editable=False,
                max_length=32,
                verbose_name="draw algorithm",
            ),
        ),
        migrations.AlterField(
            model_name="event",
            name="fairness_algorithm",
            field=models.CharField(
                default="sha256-fisher-yates-v2",
                editable=False,
                max_length=32,
                verbose_name="draw algorithm",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="locked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="locked at"),
        ),
        migrations.AddField(
            model_name="event",
            name="prizes_digest",
            field=models.CharField(
                blank=True, default="", max_length=64, verbose_name="prizes digest"
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="beacon_round",
            field=models.PositiveBigIntegerField(blank=True, null=True, verbose_name="beacon round"),
        ),
        migrations.AddField(
            model_name="event",
            name="beacon_chain",
            field=models.JSONField(blank=True, null=True, verbose_name="beacon chain"),
        ),
        migrations.AddField(
            model_name="event",
            name="beacon",
            field=models.JSONField(blank=True, null=True, verbose_name="beacon round data"),
        ),
        migrations.AddField(
            model_name="event",
            name="beacon_missing_reason",
            field=models.CharField(
                blank=True, default="", max_length=200, verbose_name="why no beacon"
            ),
        ),
    ]
