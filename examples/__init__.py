"""Each source system's documented usage, written against the platform and tested.

- ``job_service``: a generic ``JobService`` (schedule, scheduleMany, getJobStatus, getJobs,
  retryJob) with an email service and a typed report job;
- ``ecommerce``: the e-commerce queues once on BullMQ (emails, order auto-cancel, payment
  webhooks and retries, inventory release, manual review, a limiter, progress, retention,
  cron and ``every`` repeats);
- ``eve_nomad``: the EVE Nomad job platform (token refresh, ESI data refresh, priorities,
  historical data batches, cache cleanup, monitoring and alerts).

``Procfile.examples`` runs each example queue with the concurrency its document gives.

Installed by the test and local settings only, never in production: its queues
(``examples/queues.py``) are added to ``JOBS_QUEUES`` where the app is installed. Like every
product it imports only the platform's public surface, the ``jobs`` package.
"""
