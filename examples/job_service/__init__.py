"""A generic ``JobService`` (schedule, scheduleMany, registerHandler, getJobStatus, getJobs,
retryJob) written against the platform.

- ``payloads``: the ``JobTypeMap`` (SEND_EMAIL, GENERATE_REPORT) as typed models;
- ``tasks``: the handlers (``registerHandler`` is ``@job_task``);
- ``services``: the ``EmailService`` and the report request (they enqueue);
- ``selectors``: the ``JobMonitor``'s reads (status, active and failed jobs);
- ``monitor``: the ``JobMonitor``'s one write, retrying every failed job.

The ``JobService`` configuration maps onto the task declarations: ``concurrency: 5`` is
the queue's worker (``examples/queues.py``), ``defaultRetryLimit: 3`` and
``defaultRetryDelay: 60000`` are ``max_attempts=4`` and ``fixed(60)``, ``defaultTimeout:
300000`` is ``time_limit=300``; storage and retention are the ledger's (``JOBS_RETENTION``).
"""

QUEUE = "examples.jobs"
