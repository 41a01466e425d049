"""Consistency checks and repairs behind ``manage.py repair_tickets``.

Each check finds the ids of the rows that are wrong, then repairs them in batches; every
repair re-checks its rows under a row lock, so a repair racing a live request changes only
what is still wrong when it gets there. ``dry_run`` finds and reports, and changes nothing.
"""

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from jobs import (
    job_cancel,
    jobs_republish,
    live_job_keys,
    pending_job_args,
    unstarted_jobs_published_before,
)
from tickets.conf import tickets_settings
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    GenerationStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatLockStatus,
    SeatStatus,
    Ticket,
    TicketGeneration,
)
from tickets.services.emails import email_job_key, tickets_email_enqueue
from tickets.services.generation import (
    generation_job_key,
    ticket_generation_enqueue,
    ticket_generation_queue_process,
)
from tickets.services.locks import seat_locks_release_expired
from tickets.services.reservations import reservations_release_expired
from tickets.tasks import email_tickets, generate_tickets

BATCH = 500
# The jobs that take a booking id as their one argument.
BOOKING_TASKS = [generate_tickets.name, email_tickets.name]


@dataclass
class Finding:
    name: str
    description: str
    ids: list = field(default_factory=list)
    repaired: int = 0
    found: int = 0

    def __post_init__(self) -> None:
        self.found = len(self.ids)


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    find: Callable[[datetime], list]
    repair: Callable[[Sequence, datetime], int]


def _batches(ids: Sequence, size: int = BATCH) -> Iterator[Sequence]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _without_live_job(booking_ids: list, job_key: Callable[[uuid.UUID], str]) -> list:
    """The bookings among ``booking_ids`` that have no live job under ``job_key``."""
    live = live_job_keys(keys=[job_key(b) for b in booking_ids])
    return [b for b in booking_ids if job_key(b) not in live]


def _enqueue_each(ids: Sequence, enqueue: Callable[..., Any]) -> int:
    """One job per booking id (a live one is kept, not doubled); how many were new."""
    queued = 0
    with transaction.atomic():
        for booking_id in ids:
            queued += int(enqueue(booking_id=booking_id).created)
    return queued


# --- seats ---------------------------------------------------------------------------------


def _expected_seat_status():
    """What a seat's status must be, from the rows that hold it."""
    held = BookingSeat.objects.filter(seat=OuterRef("pk"), active=True)
    return Case(
        When(Exists(held.filter(booking__status=BookingStatus.PAID)), then=Value("booked")),
        When(Exists(held.filter(booking__status=BookingStatus.RESERVED)), then=Value("reserved")),
        When(
            Exists(SeatLock.objects.filter(seat=OuterRef("pk"), status=SeatLockStatus.ACTIVE)),
            then=Value("locked"),
        ),
        default=Value("available"),
        output_field=CharField(),
    )


def _mismatched_seats():
    return Seat.objects.annotate(expected=_expected_seat_status()).exclude(status=F("expected"))


def find_locked_without_lock(now: datetime) -> list:
    return list(_mismatched_seats().filter(status=SeatStatus.LOCKED).values_list("id", flat=True))


def find_other_seat_mismatches(now: datetime) -> list:
    return list(_mismatched_seats().exclude(status=SeatStatus.LOCKED).values_list("id", flat=True))


def repair_seat_status(ids: Sequence, now: datetime) -> int:
    fixed = 0
    with transaction.atomic():
        rows = list(
            _mismatched_seats()
            .filter(id__in=list(ids))
            .select_for_update(of=("self",))
            .values_list("id", "expected")
        )
        by_status: dict[str, list] = {}
        for seat_id, expected in rows:
            by_status.setdefault(expected, []).append(seat_id)
        for expected, seat_ids in by_status.items():
            fixed += Seat.objects.filter(id__in=seat_ids).update(status=expected, updated_at=now)
    return fixed


def find_expired_locks(now: datetime) -> list:
    return list(
        SeatLock.objects.filter(status=SeatLockStatus.ACTIVE, expires_at__lte=now).values_list(
            "id", flat=True
        )
    )


def repair_expired_locks(ids: Sequence, now: datetime) -> int:
    # The every-minute sweep, run now: same SQL, same notifications.
    return seat_locks_release_expired(now=now, batch_size=len(ids), max_batches=1)["released"]


def find_seats_of_lapsed_bookings(now: datetime) -> list:
    return list(
        BookingSeat.objects.filter(active=True, booking__status=BookingStatus.EXPIRED).values_list(
            "id", flat=True
        )
    )


def repair_seats_of_lapsed_bookings(ids: Sequence, now: datetime) -> int:
    return BookingSeat.objects.filter(
        id__in=list(ids), active=True, booking__status=BookingStatus.EXPIRED
    ).update(active=False)


# --- reservations --------------------------------------------------------------------------


def find_overdue_expiries(now: datetime) -> list:
    cutoff = now - timedelta(seconds=tickets_settings().stuck_after_seconds)
    return list(
        ReservationExpiry.objects.filter(processed=False, expires_at__lte=cutoff).values_list(
            "id", flat=True
        )
    )


def repair_overdue_expiries(ids: Sequence, now: datetime) -> int:
    return reservations_release_expired(now=now, batch_size=len(ids), max_batches=1)["processed"]


def find_lapsed_without_expiry(now: datetime) -> list:
    """Unpaid bookings past their expiry that no expiry queue row will ever release."""
    pending = ReservationExpiry.objects.filter(reservation=OuterRef("pk"), processed=False)
    return list(
        Booking.objects.filter(status=BookingStatus.RESERVED, expires_at__lte=now)
        .exclude(Exists(pending))
        .values_list("id", flat=True)
    )


def repair_lapsed_without_expiry(ids: Sequence, now: datetime) -> int:
    rows = []
    for booking in Booking.objects.filter(id__in=list(ids), status=BookingStatus.RESERVED):
        seat_ids = BookingSeat.objects.filter(booking=booking, active=True).values_list(
            "seat_id", flat=True
        )
        rows.append(
            ReservationExpiry(
                reservation=booking,
                seat_ids=sorted(str(s) for s in seat_ids),
                user_id=booking.user_id,
                expires_at=booking.expires_at,
                created_at=now,
            )
        )
    ReservationExpiry.objects.bulk_create(rows)
    return len(rows)


# --- tickets -------------------------------------------------------------------------------


def _paid_without_all_tickets():
    return (
        Booking.objects.filter(status=BookingStatus.PAID)
        .annotate(
            seat_count=Count("booking_seats", filter=Q(booking_seats__active=True), distinct=True),
            ticket_count=Count("tickets", distinct=True),
        )
        .filter(ticket_count__lt=F("seat_count"))
    )


def find_paid_without_tickets(now: datetime) -> list:
    """Paid bookings missing tickets, with no generation row to retry them (pending or
    failed: a failed row is the admin's to retry) and no live generation job."""
    candidates = list(
        _paid_without_all_tickets()
        .exclude(
            Exists(
                TicketGeneration.objects.filter(
                    booking=OuterRef("pk"),
                    status__in=[GenerationStatus.PENDING, GenerationStatus.FAILED],
                )
            )
        )
        .values_list("id", flat=True)
    )
    return _without_live_job(candidates, generation_job_key)


def repair_paid_without_tickets(ids: Sequence, now: datetime) -> int:
    return _enqueue_each(ids, ticket_generation_enqueue)


def find_overdue_generation_rows(now: datetime) -> list:
    """Pending generation rows long past their next attempt with no job to run them (the
    3-minute schedule was off, or its job was lost)."""
    cutoff = now - timedelta(seconds=tickets_settings().stuck_after_seconds)
    rows = list(
        TicketGeneration.objects.filter(
            status=GenerationStatus.PENDING, next_attempt_at__lte=cutoff
        ).values_list("id", "booking_id")
    )
    without_job = set(_without_live_job([b for _, b in rows], generation_job_key))
    return [row_id for row_id, b in rows if b in without_job]


def repair_overdue_generation_rows(ids: Sequence, now: datetime) -> int:
    TicketGeneration.objects.filter(id__in=list(ids), status=GenerationStatus.PENDING).update(
        next_attempt_at=now
    )
    return ticket_generation_queue_process(now=now, batch_size=len(ids))["enqueued"]


def find_tickets_never_emailed(now: datetime) -> list:
    cutoff = now - timedelta(seconds=tickets_settings().stuck_after_seconds)
    candidates = list(
        Booking.objects.filter(
            status=BookingStatus.PAID, paid_at__lte=cutoff, tickets_emailed_at__isnull=True
        )
        .exclude(user__email="")
        .filter(Exists(Ticket.objects.filter(booking=OuterRef("pk"))))
        .values_list("id", flat=True)
    )
    return _without_live_job(candidates, email_job_key)


def repair_tickets_never_emailed(ids: Sequence, now: datetime) -> int:
    return _enqueue_each(ids, tickets_email_enqueue)


# --- ledger jobs ---------------------------------------------------------------------------


def _booking_arg(job_args) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(job_args[0]))
    except (IndexError, TypeError, ValueError):
        return None


def find_jobs_for_missing_bookings(now: datetime) -> list:
    jobs = pending_job_args(tasks=BOOKING_TASKS)
    booking_ids = {b for _, args in jobs if (b := _booking_arg(args)) is not None}
    existing = set(Booking.objects.filter(id__in=booking_ids).values_list("id", flat=True))
    return [job_id for job_id, args in jobs if _booking_arg(args) not in existing]


def repair_jobs_for_missing_bookings(ids: Sequence, now: datetime) -> int:
    return sum(int(job_cancel(job_id=str(job_id))) for job_id in ids)


def find_stuck_ledger_jobs(now: datetime) -> list:
    """Tickets jobs waiting (published) far longer than any queue should take: their
    message is gone. The platform publishes them again; its start guard keeps a duplicate
    message from running a job twice."""
    cutoff = now - timedelta(seconds=tickets_settings().stuck_after_seconds)
    return unstarted_jobs_published_before(task_prefix="tickets.", cutoff=cutoff)


def repair_stuck_ledger_jobs(ids: Sequence, now: datetime) -> int:
    return jobs_republish(job_ids=list(ids))


CHECKS: list[Check] = [
    Check(
        "expired_locks",
        "expired seat locks still holding their seats",
        find_expired_locks,
        repair_expired_locks,
    ),
    Check(
        "lapsed_booking_seats",
        "seats still held by expired bookings",
        find_seats_of_lapsed_bookings,
        repair_seats_of_lapsed_bookings,
    ),
    Check(
        "locked_without_lock",
        "seats locked with no live lock",
        find_locked_without_lock,
        repair_seat_status,
    ),
    Check(
        "seat_status_mismatch",
        "other seats whose status disagrees with their bookings",
        find_other_seat_mismatches,
        repair_seat_status,
    ),
    Check(
        "overdue_expiries",
        "reservation expiry rows long overdue",
        find_overdue_expiries,
        repair_overdue_expiries,
    ),
    Check(
        "lapsed_without_expiry",
        "unpaid bookings past expiry with no expiry row",
        find_lapsed_without_expiry,
        repair_lapsed_without_expiry,
    ),
    Check(
        "paid_without_tickets",
        "paid bookings with neither tickets nor a generation job",
        find_paid_without_tickets,
        repair_paid_without_tickets,
    ),
    Check(
        "overdue_generation",
        "pending generation rows long overdue with no job",
        find_overdue_generation_rows,
        repair_overdue_generation_rows,
    ),
    Check(
        "never_emailed",
        "paid bookings whose tickets were never emailed and have no email job",
        find_tickets_never_emailed,
        repair_tickets_never_emailed,
    ),
    Check(
        "jobs_missing_booking",
        "queued jobs for bookings that do not exist",
        find_jobs_for_missing_bookings,
        repair_jobs_for_missing_bookings,
    ),
    Check(
        "stuck_ledger_jobs",
        "tickets jobs stuck waiting (message lost)",
        find_stuck_ledger_jobs,
        repair_stuck_ledger_jobs,
    ),
]


def tickets_repair(
    *,
    dry_run: bool,
    now: datetime | None = None,
    checks: Sequence[Check] = CHECKS,
    on_progress: Callable[[int], None] | None = None,
    on_found: Callable[[list[Finding]], None] | None = None,
) -> list[Finding]:
    """Run every check; repair unless ``dry_run``. Checks run in order because an early
    repair (releasing expired locks) can settle what a later check would find."""
    now = now or timezone.now()
    findings = [Finding(c.name, c.description, c.find(now)) for c in checks]
    if on_found:
        on_found(findings)
    if dry_run:
        return findings
    for check, finding in zip(checks, findings, strict=True):
        if check is not checks[0]:
            # Re-find: repairs before this one may have fixed some of these rows.
            finding.ids = check.find(now)
        for batch in _batches(finding.ids):
            finding.repaired += check.repair(batch, now)
            if on_progress:
                on_progress(len(batch))
    return findings
