"""Maintained counts of the finished jobs per (queue, status), on PostgreSQL.

Counting 10M finished rows per request takes seconds even as index-only scans; the live
statuses (delayed, waiting, active) stay small and are still counted live. Two tables
hold the finished counts (``jobs.ledger.status_counts`` reads, folds and rebuilds them):

- ``jobs_statuscount``: the folded counts, one row per (queue, status);
- ``jobs_statuscountdelta``: an append-only log of changes, with no index at all, so the
  inserts of many workers finishing jobs at once never wait for each other (a counter row
  updated by every finish would make them take turns on its row lock). The maintenance
  cycle folds it into ``jobs_statuscount``; readers add both, so they are exact whenever
  the fold last ran.

Triggers on jobs_job write the log, only for what changes a finished count: an insert of
a finished row (workflow placeholders are inserted cancelled), an update into or out of a
finished status or of a finished row's queue (the WHEN clause is evaluated by PostgreSQL
itself, so claims, heartbeats and progress writes run no trigger code), and deletes, as
one grouped row per (queue, status) per statement (retention deletes thousands at once).
A TRUNCATE of jobs_job empties both tables.

The counts start from the rows present, in the transaction that creates the triggers:
CREATE TRIGGER locks jobs_job against writes until the migration commits, so no change
falls between the count and the first trigger (on a ledger of millions of finished rows,
the writers wait the seconds that count takes). SQLite (local runs) keeps live counts.

Raw tables rather than models: a Django model always has a primary key, and the log must
have no index. The SQL here is this migration's own copy (migrations stay frozen).
"""

from django.db import migrations

FINISHED = "('completed', 'failed', 'cancelled')"

# One statement per string: each goes to the database on its own.
CREATE = [
    """
    CREATE TABLE jobs_statuscount (
        queue text NOT NULL,
        status text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (queue, status)
    )
    """,
    """
    CREATE TABLE jobs_statuscountdelta (
        queue text NOT NULL,
        status text NOT NULL,
        n bigint NOT NULL
    )
    """,
    """
    CREATE FUNCTION jobs_statuscount_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO jobs_statuscountdelta (queue, status, n) VALUES (NEW.queue, NEW.status, 1);
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION jobs_statuscount_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status IN {FINISHED} THEN
            INSERT INTO jobs_statuscountdelta (queue, status, n)
            VALUES (OLD.queue, OLD.status, -1);
        END IF;
        IF NEW.status IN {FINISHED} THEN
            INSERT INTO jobs_statuscountdelta (queue, status, n)
            VALUES (NEW.queue, NEW.status, 1);
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION jobs_statuscount_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO jobs_statuscountdelta (queue, status, n)
        SELECT queue, status, -count(*) FROM gone
         WHERE status IN {FINISHED}
         GROUP BY queue, status;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION jobs_statuscount_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE jobs_statuscountdelta, jobs_statuscount;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER jobs_statuscount_insert
        AFTER INSERT ON jobs_job
        FOR EACH ROW WHEN (NEW.status IN {FINISHED})
        EXECUTE FUNCTION jobs_statuscount_inserted()
    """,
    f"""
    CREATE TRIGGER jobs_statuscount_update
        AFTER UPDATE OF status, queue ON jobs_job
        FOR EACH ROW WHEN (
            (OLD.status IS DISTINCT FROM NEW.status OR OLD.queue IS DISTINCT FROM NEW.queue)
            AND (OLD.status IN {FINISHED} OR NEW.status IN {FINISHED})
        )
        EXECUTE FUNCTION jobs_statuscount_updated()
    """,
    """
    CREATE TRIGGER jobs_statuscount_delete
        AFTER DELETE ON jobs_job
        REFERENCING OLD TABLE AS gone
        FOR EACH STATEMENT
        EXECUTE FUNCTION jobs_statuscount_deleted()
    """,
    """
    CREATE TRIGGER jobs_statuscount_truncate
        AFTER TRUNCATE ON jobs_job
        FOR EACH STATEMENT
        EXECUTE FUNCTION jobs_statuscount_truncated()
    """,
    f"""
    INSERT INTO jobs_statuscount (queue, status, n)
    SELECT queue, status, count(*) FROM jobs_job
     WHERE status IN {FINISHED}
     GROUP BY queue, status
    """,
]

DROP = [
    "DROP TRIGGER jobs_statuscount_truncate ON jobs_job",
    "DROP TRIGGER jobs_statuscount_delete ON jobs_job",
    "DROP TRIGGER jobs_statuscount_update ON jobs_job",
    "DROP TRIGGER jobs_statuscount_insert ON jobs_job",
    "DROP FUNCTION jobs_statuscount_truncated()",
    "DROP FUNCTION jobs_statuscount_deleted()",
    "DROP FUNCTION jobs_statuscount_updated()",
    "DROP FUNCTION jobs_statuscount_inserted()",
    "DROP TABLE jobs_statuscountdelta",
    "DROP TABLE jobs_statuscount",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0010_workflows"),
    ]

    operations = [migrations.RunPython(create, drop)]
