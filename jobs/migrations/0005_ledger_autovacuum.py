"""Autovacuum visits the ledger after 2% of its rows changed instead of PostgreSQL's 20%.

Every job is inserted once and rewritten two or three times, so the ledger churns faster
than an ordinary table. The operator counts are index-only scans, which read the table as
well for every page autovacuum has not marked all-visible since its last change; with the
default thresholds a million-row ledger could carry 200,000 such rows between visits.
"""

from django.db import migrations

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.02",
    "autovacuum_vacuum_insert_scale_factor": "0.02",
    "autovacuum_analyze_scale_factor": "0.02",
}


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    pairs = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    schema_editor.execute(f"ALTER TABLE jobs_job SET ({pairs})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE jobs_job RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_ledger_indexes"),
    ]

    operations = [migrations.RunPython(tune, untune)]
