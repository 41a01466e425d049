"""The waitlist's background jobs. Thin: ids in, a service call, a small result out.

| job                    | queue                  | priority | attempts | backoff             |
|------------------------|------------------------|----------|----------|---------------------|
| expired holds          | waitlist.holds         | HIGH     | 3        | exponential 1 s     |
| notification cascade   | waitlist.cascade       | HIGH     | 5        | exponential 1 s     |
| notification send      | waitlist.notifications | NORMAL   | 1 + 3    | 1 s, 2 s, 4 s       |
| cleanup                | waitlist.cleanup       | LOW      | 2        | fixed 60 s          |

Only errors known to be transient are retried: database connection trouble and deadlocks
(OperationalError, InterfaceError) and, for sends, ``NotificationTemporaryFailure``.

The services import this module to enqueue these jobs, so each task imports the services
inside its body: one import direction, no cycle.
"""

from django.db import InterfaceError, OperationalError

from jobs import exponential, fixed, job_task
from waitlist.errors import NotificationTemporaryFailure

TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# "At most 3 retries" of a failed send: the first send plus three retries.
NOTIFICATION_MAX_ATTEMPTS = 4


@job_task(
    name="waitlist.process_expired_holds",
    queue="waitlist.holds",
    priority="HIGH",
    max_attempts=3,
    autoretry_for=TRANSIENT_DB_ERRORS,
    backoff=exponential(1),
)
def process_expired_holds(tenant_id: int | None = None) -> dict:
    """Every minute: release expired holds (all tenants or one), one cascade per slot."""
    from waitlist import services

    return services.holds_release_expired(tenant_id=tenant_id)


@job_task(
    name="waitlist.notification_cascade",
    queue="waitlist.cascade",
    priority="HIGH",
    max_attempts=5,
    autoretry_for=TRANSIENT_DB_ERRORS,
    backoff=exponential(1),
)
def notification_cascade(
    slot_id: int, previous_entry_id: int | None = None, reason: str = "expired"
) -> dict:
    """On decline or expiry (or a slot opening): offer the slot to the next candidate."""
    from waitlist import services

    return services.slot_offer_next(
        slot_id=slot_id, previous_entry_id=previous_entry_id, reason=reason
    )


@job_task(
    name="waitlist.send_notification",
    bind=True,
    queue="waitlist.notifications",
    priority="NORMAL",
    max_attempts=NOTIFICATION_MAX_ATTEMPTS,
    autoretry_for=(NotificationTemporaryFailure, *TRANSIENT_DB_ERRORS),
    backoff=exponential(1),
)
def send_notification(self, notification_id: int) -> dict:
    """Send one notification; a transient failure is retried after 1 s, 2 s and 4 s, and
    after the last attempt the notification is marked failed."""
    from waitlist import services

    claim = getattr(self.request, "ledger_claim", None)
    attempt = claim.attempts if claim else 1
    final = claim.attempts >= claim.max_attempts if claim else True
    return services.notification_send(
        notification_id=notification_id, attempt=attempt, final_attempt=final
    )


@job_task(
    name="waitlist.cleanup",
    queue="waitlist.cleanup",
    priority="LOW",
    max_attempts=2,
    autoretry_for=TRANSIENT_DB_ERRORS,
    backoff=fixed(60),
)
def cleanup(retention_days: int | None = None) -> dict:
    """Daily at 02:00: delete notifications and audit logs older than the retention."""
    from waitlist import services

    return services.retention_cleanup(retention_days=retention_days)
