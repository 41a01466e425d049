"""The examples' Celery queues, in the format ``config/queues.py`` documents.

Not part of production's declarations: the test and local settings, which install the
``examples`` app, add these names to ``JOBS_QUEUES``; the Procfile's ``worker-examples``
serves them under ``make run`` (``scripts/check_queues.py`` checks that list too). Their
local ranks come after every production queue's.
"""

QUEUES = [
    # The generic JobService: "concurrency: 5".
    {"name": "examples.jobs", "group": "worker-examples", "concurrency": 2, "local_rank": 110},
    # E-commerce: email 5, orders 10, payment webhooks 20, payment retry 3, inventory release
    # 8 (with the hourly stock sync), manual review 1.
    {"name": "examples.email", "group": "worker-examples", "concurrency": 2, "local_rank": 120},
    {"name": "examples.orders", "group": "worker-examples", "concurrency": 2, "local_rank": 130},
    {
        "name": "examples.payment-webhooks",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 140,
    },
    {
        "name": "examples.payment-retry",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 150,
    },
    {
        "name": "examples.inventory",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 160,
    },
    {
        "name": "examples.manual-review",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 165,
    },
    # EVE Nomad: token refresh, ESI data refresh, historical data, cache cleanup.
    {
        "name": "examples.token-refresh",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 170,
    },
    {
        "name": "examples.esi-refresh",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 175,
    },
    {
        "name": "examples.historical-data",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 180,
    },
    {
        "name": "examples.cache-cleanup",
        "group": "worker-examples",
        "concurrency": 2,
        "local_rank": 190,
    },
]

# The concurrency each source document gives its workers. Locally one worker process serves
# every example queue (a group has one -c); a deployment would give each queue a worker
# service of its own with this -c, as docker-compose.yml does for the products.
DOCUMENTED_CONCURRENCY = {
    "examples.jobs": 5,
    "examples.email": 5,
    "examples.orders": 10,
    "examples.payment-webhooks": 20,
    "examples.payment-retry": 3,
    "examples.inventory": 8,
    "examples.manual-review": 1,
    "examples.token-refresh": 5,
    "examples.esi-refresh": 10,
    "examples.historical-data": 3,
    "examples.cache-cleanup": 1,
}

QUEUE_NAMES = [queue["name"] for queue in QUEUES]
