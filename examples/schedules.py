"""The examples' periodic jobs, loaded into beat by ``manage.py sync_schedules`` where the app
is installed (test and local settings):

- e-commerce: the daily report at 09:00 (``repeat: {cron: '0 9 * * *'}``) and the stock
  sync every hour (``repeat: {every: 3600000}``);
- EVE Nomad: the token refresh every 2 hours (HIGH) and the cache cleanup daily at 03:00
  UTC (LOW, expired entries).
"""

from datetime import timedelta

from jobs import DAILY_3AM, EVERY_2_HOURS, Schedule

SCHEDULES = [
    Schedule(
        name="examples.daily-report",
        task="examples.ecommerce.daily_report",
        cron="0 9 * * *",
        timezone="UTC",
        queue="examples.orders",
        description="Yesterday's orders by status.",
    ),
    Schedule(
        name="examples.stock-sync",
        task="examples.ecommerce.stock_sync",
        every=timedelta(hours=1),
        queue="examples.inventory",
        description="Sync stock levels every hour.",
    ),
    Schedule(
        name="examples.token-refresh",
        task="examples.eve_nomad.refresh_expiring_tokens",
        cron=EVERY_2_HOURS,
        timezone="UTC",
        queue="examples.token-refresh",
        priority="HIGH",
        description="Refresh every character token that expires before the next run.",
    ),
    Schedule(
        name="examples.cache-cleanup",
        task="examples.eve_nomad.cleanup_cache",
        cron=DAILY_3AM,
        timezone="UTC",
        queue="examples.cache-cleanup",
        priority="LOW",
        kwargs={"cleanup_type": "expired"},
        description="Remove expired cache entries.",
    ),
]
