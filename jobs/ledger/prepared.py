"""The hot path's statements, sent as PostgreSQL prepared statements.

Django turns psycopg's prepared statements off and binds every ORM query's parameters on
the client, so PostgreSQL parses and plans each statement anew. The ledger runs the same
two statements for every job (the claim and the finish); preparing them once per
connection cut a job's database time by about 30 % on the benchmark machine (see
BENCHMARKS.md). ORM queries are unaffected: client-side binding never prepares.

Enabled by ``prepare_threshold`` in the database OPTIONS, which the settings set unless
``JOBS_DB_PREPARED_STATEMENTS=false`` (for a connection pooler that cannot keep prepared
statements, such as PgBouncer in transaction mode before 1.21).
"""

from collections.abc import Sequence

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def enabled(connection: BaseDatabaseWrapper | None = None) -> bool:
    connection = connection or connections[DEFAULT_DB_ALIAS]
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    )


def execute(sql: str, params: Sequence, *, fetch_one: bool = False):
    """Run one statement in autocommit or the current transaction; returns its first row
    (``fetch_one``) or the number of rows it changed."""
    # The wrapper is looked up once: each attribute read through django.db.connection goes
    # through the proxy and a context-local lookup, some 16 per job on the hot path.
    connection = connections[DEFAULT_DB_ALIAS]
    if not enabled(connection):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch_one else cursor.rowcount
    # What Django's cursor() does first: reconnect if a health check or age demands it.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone() if fetch_one else cursor.rowcount
