"""Named cron expressions for the common frequencies (the source documents'
``CRON_EXPRESSIONS``), offered by ``jobs``::

    from jobs import DAILY_3AM, Schedule

    Schedule(name="reports.nightly", task="reports.build", cron=DAILY_3AM)

Plain strings: a schedule declared with one shows the expression itself in admin and the API.
"""

EVERY_MINUTE = "* * * * *"
EVERY_5_MINUTES = "*/5 * * * *"
EVERY_15_MINUTES = "*/15 * * * *"
EVERY_30_MINUTES = "*/30 * * * *"
HOURLY = "0 * * * *"
EVERY_HOUR = HOURLY
EVERY_2_HOURS = "0 */2 * * *"
EVERY_6_HOURS = "0 */6 * * *"
DAILY_MIDNIGHT = "0 0 * * *"
DAILY_3AM = "0 3 * * *"
WEEKLY_MONDAY = "0 0 * * 1"
WEEKLY = WEEKLY_MONDAY
MONTHLY_FIRST = "0 0 1 * *"

CRON_PRESETS: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and name != "CRON_PRESETS"
}
