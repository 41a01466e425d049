"""Per-job options (backoff, retention) and the attempts history.

On PostgreSQL the history's foreign key is ON DELETE CASCADE in the database: the ledger
deletes jobs with its own SQL (remove-on-finish) and with fast ORM deletes (retention), and
neither would visit the history rows in Python. Django's state keeps ``db_constraint=False``.
"""

import django.db.models.deletion
from django.db import migrations, models

CONSTRAINT = "jobs_jobattempt_job_id_cascade"


def add_cascade(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE jobs_jobattempt ADD CONSTRAINT {CONSTRAINT} FOREIGN KEY (job_id) "
        "REFERENCES jobs_job (id) ON DELETE CASCADE"
    )


def drop_cascade(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE jobs_jobattempt DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0005_ledger_autovacuum"),
    ]

    operations = [
        migrations.CreateModel(
            name="JobAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                ("worker", models.CharField(blank=True, default="", max_length=200)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField()),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("retried", "Retried"),
                            ("failed", "Failed"),
                            ("lost", "Worker lost"),
                        ],
                        max_length=10,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                ("traceback", models.TextField(blank=True, default="")),
            ],
            options={
                "ordering": ["job", "id"],
            },
        ),
        migrations.AddField(
            model_name="job",
            name="backoff",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="remove_on_complete",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="job",
            name="remove_on_fail",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("job_key__isnull", False)),
                fields=["job_key", "-created_at"],
                name="job_key_created",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("remove_on_complete__isnull", False), ("status", "completed")),
                fields=["task", "-finished_at"],
                name="job_remove_on_complete",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("remove_on_fail__isnull", False), ("status", "failed")),
                fields=["task", "-finished_at"],
                name="job_remove_on_fail",
            ),
        ),
        migrations.AddField(
            model_name="jobattempt",
            name="job",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="attempt_history",
                to="jobs.job",
            ),
        ),
        migrations.RunPython(add_cascade, drop_cascade),
    ]
