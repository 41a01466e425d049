"""Every hand-written SQL statement of the ledger, by name.

The ORM writes the rest; these are the statements where one round trip, an index-only plan
or a prepared statement matters (the per-job hot path, and the metrics over millions of
rows). Each is PostgreSQL; the modules that use them fall back to the ORM on SQLite.
"""

from jobs.ledger.models import (
    FINISHED_STATUSES,
    LIVE_STATUSES,
    Job,
    JobAttempt,
    QueueState,
    Workflow,
)

# One statement claims the job, checks that its queue is not paused, and returns what the
# retry decision needs: no SELECT on the hot path.
_CLAIM = """
UPDATE {job}
   SET status = %s, attempts = attempts + 1, started_at = %s, worker = %s,
       needs_publish = %s, progress = 0, progress_message = ''
 WHERE id = %s AND status = %s
   AND NOT EXISTS (SELECT 1 FROM {queue_state} q
                    WHERE q.paused AND q.name IN ({job}.queue, %s)){commit}
RETURNING attempts, max_attempts, backoff,
          remove_on_complete = 'true', remove_on_fail = 'true', queue, scheduled_for,
          continuation
"""
_TABLES = {"job": Job._meta.db_table, "queue_state": QueueState._meta.db_table}

# The claim in a transaction of its own (a worker's autocommit) on PostgreSQL: it commits
# without waiting for the WAL flush. A claim lost in a database crash only puts the job
# back to waiting with its attempt uncounted; the finish is fenced by attempts and status
# and does wait for the flush, which writes every earlier record (the claim's too) to disk.
# The setting is made by the statement itself, no extra round trip: set_config(..., true)
# holds until the end of the transaction, and PostgreSQL reads synchronous_commit at
# commit time. It is a conjunct of the WHERE clause, so a claim that changed the row
# evaluated it (every conjunct held); one that changed nothing has nothing to flush.
CLAIM_ASYNC_COMMIT = _CLAIM.format(
    **_TABLES, commit="\n   AND set_config('synchronous_commit', 'off', true) = 'off'"
)

# The claim inside a caller's transaction (jobs.testing in a test's transaction, say) and
# on SQLite: the setting would also cover the caller's own writes, so none is made.
CLAIM = _CLAIM.format(**_TABLES, commit="")


# When the next delayed job is due: one probe of the job_delayed_due index per priority
# (its leading column), not a scan of every delayed row. Params: the priorities.
NEXT_DELAYED_DUE = f"""
SELECT min(due.scheduled_for)
  FROM unnest(%s::smallint[]) AS p(priority)
 CROSS JOIN LATERAL (
       SELECT scheduled_for FROM {Job._meta.db_table} j
        WHERE j.status = 'delayed' AND j.priority = p.priority
        ORDER BY j.scheduled_for
        LIMIT 1
 ) AS due
"""


COMPLETE = f"""
UPDATE {Job._meta.db_table}
   SET status = %s, finished_at = %s, result = %s, progress = 100
 WHERE id = %s AND status = %s AND attempts = %s
"""


# A workflow's cancellation, read and held by the transaction that completes one of its
# steps (jobs.ledger.workflows.workflow_cancelled).
WORKFLOW_CANCELLED_FOR_SHARE = (
    f"SELECT cancelled_at FROM {Workflow._meta.db_table} WHERE id = %s FOR SHARE"
)


# A job with remove_on_complete / remove_on_fail true ends by leaving the ledger: one
# statement instead of the finishing UPDATE. Its history goes with it (ON DELETE CASCADE).
REMOVE_FINISHED = f"""
DELETE FROM {Job._meta.db_table}
 WHERE id = %s AND status = %s AND attempts = %s
RETURNING task, queue
"""


def end_attempt(*, retry: bool) -> str:
    """An attempt that raised: the job is scheduled again (``retry``) or failed, and the
    attempt is added to its history, in one statement. Params: status, [scheduled_for],
    finished_at, error, traceback, id, active status, attempts, outcome."""
    scheduled = "scheduled_for = %s, " if retry else ""
    return f"""
        WITH ended AS (
            UPDATE {Job._meta.db_table}
               SET status = %s, {scheduled}finished_at = %s, error = %s, traceback = %s
             WHERE id = %s AND status = %s AND attempts = %s
            RETURNING id, attempts, worker, started_at, finished_at, error, traceback
        )
        INSERT INTO {JobAttempt._meta.db_table}
               (job_id, number, worker, started_at, finished_at, outcome, error, traceback)
        SELECT id, attempts, worker, started_at, finished_at, %s, error, traceback FROM ended
    """


SCHEDULE_RETRY = end_attempt(retry=True)
FAIL = end_attempt(retry=False)


# The dedupe window (unique_for): enqueues of one job_key take turns until their
# transactions end. The first key is this lock's namespace among the app's advisory locks.
JOB_KEY_LOCK_SPACE = 0x4A4B  # "JK"
LOCK_JOB_KEY = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"


def remove_by_option(column: str) -> str:
    """Per-job retention (remove_on_complete / remove_on_fail): the ids of finished jobs of
    ``status`` whose own option says they go. true: at once; {"age": s}: finished more than
    s seconds ago; {"count": n}: not among the n most recent finished jobs of their task
    that carry a kept-jobs option; only those finished before a bound (the metrics
    rollup's). Params: status, now, bound, limit."""
    return f"""
        SELECT id FROM (
            SELECT id, finished_at, {column} AS keep,
                   row_number() OVER (PARTITION BY task, {column} = 'true'
                                      ORDER BY finished_at DESC, id DESC) AS newest
              FROM {Job._meta.db_table}
             WHERE status = %s AND {column} IS NOT NULL
        ) ranked
         WHERE (keep = 'true'
            OR (keep ? 'age'
                AND finished_at < %s - make_interval(secs => (keep ->> 'age')::float8))
            OR (keep ? 'count' AND newest > (keep ->> 'count')::bigint)
        ) AND finished_at < %s
         LIMIT %s
    """


# Columns an enqueue sets; the rest take their defaults. One job is one prepared INSERT ...
# VALUES; many are one COPY ... FROM STDIN (one round trip, no per-value quoting). Neither
# goes through the ORM's per-field compilation, which is most of what enqueueing costs.
INSERT_COLUMNS = (
    ("id", "uuid"),
    ("task", "varchar"),
    ("args", "jsonb"),
    ("kwargs", "jsonb"),
    ("queue", "varchar"),
    ("priority", "smallint"),
    ("status", "varchar"),
    ("max_attempts", "integer"),
    ("job_key", "varchar"),
    ("hard_time_limit", "integer"),
    ("created_at", "timestamptz"),
    ("scheduled_for", "timestamptz"),
    ("published_at", "timestamptz"),
    # Per-job options: SQL NULL unless given ("jsonb null").
    ("backoff", "jsonb null"),
    ("remove_on_complete", "jsonb null"),
    ("remove_on_fail", "jsonb null"),
)


DEFAULTED_COLUMNS = {
    "attempts": "0",
    "progress": "0",
    "progress_message": "''",
    "error": "''",
    "traceback": "''",
    "worker": "''",
    "crash_count": "0",
    "needs_publish": "false",
}


_INSERT_HEAD = (
    f"INSERT INTO {Job._meta.db_table} "
    f"({', '.join([c for c, _ in INSERT_COLUMNS] + list(DEFAULTED_COLUMNS))}) "
)


# One row (every .delay()): plain VALUES, cheaper to send and plan than arrays.
INSERT_ONE = (
    _INSERT_HEAD
    + "VALUES ("
    + ", ".join(["%s::jsonb" if t.startswith("jsonb") else "%s" for _, t in INSERT_COLUMNS])
    + ", "
    + ", ".join(DEFAULTED_COLUMNS.values())
    + ")"
)


COPY_DEFAULTS = (0, 0, "", "", "", "", 0, False)  # the DEFAULTED_COLUMNS columns, in order


COPY_MANY = (
    f"COPY {Job._meta.db_table} "
    f"({', '.join([c for c, _ in INSERT_COLUMNS] + list(DEFAULTED_COLUMNS))}) FROM STDIN"
)


# The maintained counts of finished jobs (migration 0011_status_counts): the folded counts,
# and the append-only log of changes the triggers on the ledger write and the maintenance
# cycle folds in (jobs.ledger.status_counts).
STATUS_COUNT_TABLE = "jobs_statuscount"
STATUS_COUNT_DELTA_TABLE = "jobs_statuscountdelta"
FINISHED_SQL = "(" + ", ".join(f"'{s.value}'" for s in FINISHED_STATUSES) + ")"

# Every (queue, status) pair asked for, in one statement (one snapshot, so the two halves
# agree). The live statuses: one index-only range count per pair (those sets stay small,
# and the plan cannot become a sequential scan of the ledger). Each status is a literal,
# so the planner estimates its rows from the column's statistics (few) rather than as an
# average pair of a ledger of millions: that estimate once put the statement over
# jit_above_cost, and compiling it took ~145 ms of a sub-millisecond count at 1M rows.
# The finished statuses, which grow into the millions: the folded counts plus the
# changes not folded yet. Params: queues.
_LIVE_COUNT = """
    SELECT q.queue, '{status}',
           (SELECT count(*) FROM {job} j WHERE j.queue = q.queue AND j.status = '{status}')
      FROM asked q
"""
_LIVE_COUNTS = "    UNION ALL".join(
    _LIVE_COUNT.format(status=s.value, job=Job._meta.db_table) for s in LIVE_STATUSES
)
QUEUE_STATUS_COUNTS = f"""
    WITH asked AS (SELECT unnest(%s::text[]) AS queue){_LIVE_COUNTS}    UNION ALL
    SELECT c.queue, c.status, sum(c.n)::bigint
      FROM (SELECT queue, status, n FROM {STATUS_COUNT_TABLE}
            UNION ALL
            SELECT queue, status, n FROM {STATUS_COUNT_DELTA_TABLE}) AS c
     WHERE c.queue IN (SELECT queue FROM asked)
     GROUP BY c.queue, c.status
"""

# The log into the counts, in one statement. Two folds at once delete disjoint rows (the
# second skips what the first deleted), so nothing is added twice; the upserts go in key
# order so two folds cannot deadlock on the counts' rows.
STATUS_COUNTS_FOLD = f"""
    WITH folded AS (DELETE FROM {STATUS_COUNT_DELTA_TABLE} RETURNING queue, status, n)
    INSERT INTO {STATUS_COUNT_TABLE} AS c (queue, status, n)
    SELECT queue, status, sum(n) FROM folded
     GROUP BY queue, status
     ORDER BY queue, status
    ON CONFLICT (queue, status) DO UPDATE SET n = c.n + excluded.n
"""

# A recount from the ledger. The SHARE lock holds every writer of the ledger (and so every
# trigger) off until the transaction ends, and waits for those in progress: the count and
# the emptied log then describe the same rows. The counts' tables are locked in the
# order a fold takes them (log, then counts): no deadlock with one; readers go on.
STATUS_COUNTS_REBUILD = (
    f"LOCK TABLE {Job._meta.db_table} IN SHARE MODE",
    f"LOCK TABLE {STATUS_COUNT_DELTA_TABLE}, {STATUS_COUNT_TABLE} IN EXCLUSIVE MODE",
    f"DELETE FROM {STATUS_COUNT_DELTA_TABLE}",
    f"DELETE FROM {STATUS_COUNT_TABLE}",
    f"""
    INSERT INTO {STATUS_COUNT_TABLE} (queue, status, n)
    SELECT queue, status, count(*) FROM {Job._meta.db_table}
     WHERE status IN {FINISHED_SQL}
     GROUP BY queue, status
    """,
)


# The most recent finished jobs of the window, newest first from the job_finished_at index.
FINISHED_WINDOW = f"""
    WITH recent AS (
        SELECT queue, status, EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000 AS ms
          FROM {Job._meta.db_table}
         WHERE finished_at >= %s AND finished_at < %s AND status IN ('completed', 'failed')
         ORDER BY finished_at DESC
         LIMIT %s
    )
    SELECT queue,
           count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'failed'),
           avg(ms) FILTER (WHERE status = 'completed'),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FILTER (WHERE status = 'completed')
      FROM recent GROUP BY queue
"""


def job_list(*, by_task: bool) -> str:
    """The newest jobs of each (queue, status) pair asked for, merged newest first. Params:
    queues, statuses, [task], rows per pair, limit, offset."""
    task_filter = "AND j.task = %s" if by_task else ""
    return f"""
        SELECT j.* FROM unnest(%s::text[]) AS q(queue)
         CROSS JOIN unnest(%s::text[]) AS s(status)
         CROSS JOIN LATERAL (
               SELECT * FROM {Job._meta.db_table} j
                WHERE j.queue = q.queue AND j.status = s.status {task_filter}
                ORDER BY j.created_at DESC
                LIMIT %s
         ) AS j
         ORDER BY j.created_at DESC
         LIMIT %s OFFSET %s
    """


def duration_histograms(bucket_count: int) -> str:
    """Per-queue run-time histograms of the most recent finished jobs. Params: since,
    until, sample size, then each bucket's upper bound in seconds."""
    filters = ", ".join("count(*) FILTER (WHERE s <= %s)" for _ in range(bucket_count))
    return f"""
        WITH recent AS (
            SELECT queue, EXTRACT(EPOCH FROM (finished_at - started_at)) AS s
              FROM {Job._meta.db_table}
             WHERE finished_at >= %s AND finished_at < %s
               AND status IN ('completed', 'failed') AND started_at IS NOT NULL
             ORDER BY finished_at DESC
             LIMIT %s
        )
        SELECT queue, count(*), coalesce(sum(s), 0), {filters} FROM recent GROUP BY queue
    """


# The metrics rollup (jobs.observability.rollups): what finished in [since, until), grouped
# by queue, minute, status and the fixed histogram buckets of its wait (due time to start)
# and run (start to finish) in ms, from the job_finished_at index. Retried attempts leave
# their own rows (job_attempt_retried_finished); enqueues are found per (queue, status)
# through job_queue_status_created. Params: bounds, bounds, since, until.
ROLLUP_FINISHED = f"""
    SELECT queue, date_trunc('minute', finished_at AT TIME ZONE 'UTC'), status,
           width_bucket(GREATEST(EXTRACT(EPOCH FROM (started_at - scheduled_for)) * 1000, 0),
                        %s::float8[]),
           width_bucket(GREATEST(EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000, 0),
                        %s::float8[]),
           count(*)
      FROM {Job._meta.db_table}
     WHERE finished_at >= %s AND finished_at < %s
       AND status IN ('completed', 'failed', 'cancelled')
     GROUP BY 1, 2, 3, 4, 5
"""

# Params: since, until.
ROLLUP_RETRIED = f"""
    SELECT j.queue, date_trunc('minute', a.finished_at AT TIME ZONE 'UTC'), count(*)
      FROM {JobAttempt._meta.db_table} a JOIN {Job._meta.db_table} j ON j.id = a.job_id
     WHERE a.outcome = 'retried' AND a.finished_at >= %s AND a.finished_at < %s
     GROUP BY 1, 2
"""

# Params: queues, statuses, since, until.
ROLLUP_ENQUEUED = f"""
    SELECT q.queue, e.minute, e.n
      FROM unnest(%s::text[]) AS q(queue)
     CROSS JOIN unnest(%s::text[]) AS s(status)
     CROSS JOIN LATERAL (
           SELECT date_trunc('minute', j.created_at AT TIME ZONE 'UTC') AS minute, count(*) AS n
             FROM {Job._meta.db_table} j
            WHERE j.queue = q.queue AND j.status = s.status
              AND j.created_at >= %s AND j.created_at < %s
            GROUP BY 1
     ) AS e
"""
