"""The EVE Nomad job platform (queue service, token refresh, ESI data refresh, historical
data, cache cleanup, scheduler, metrics, health and alerts) written against the platform.

Its ``JobPriority`` (CRITICAL=1 .. BATCH=5) is the platform's ``Priority``, with the same
names and numbers; ``addJob(queue, type, data, opts)`` is ``task.apply_async``;
``createWorker(queue, processor, {concurrency})`` is a task declared on its queue.
"""

TOKEN_REFRESH_QUEUE = "examples.token-refresh"
ESI_REFRESH_QUEUE = "examples.esi-refresh"
HISTORICAL_DATA_QUEUE = "examples.historical-data"
CACHE_CLEANUP_QUEUE = "examples.cache-cleanup"
