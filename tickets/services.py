"""State changes of the tickets app. Views, tasks, admin actions and commands call these.

Row-lock order, kept by every service so two of them can never deadlock:
user row -> seat locks (by seat id) -> seats (by id); bookings -> their seats. Sweepers
take their rows with SKIP LOCKED and so never wait on a request.
"""

import logging
import traceback
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage, mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from jobs.backoff import exponential
from tickets import pdf, selectors
from tickets.codes import ticket_code_make, ticket_code_read
from tickets.conf import tickets_settings
from tickets.errors import (
    BookingStateError,
    EventClosed,
    ReservationExpired,
    SeatLimitExceeded,
    SeatNotFound,
    SeatNotLocked,
    SeatUnavailable,
    TicketsNotReady,
    UnknownJob,
)
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    Event,
    GenerationStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatLockStatus,
    SeatStatus,
    Ticket,
    TicketGenerationJob,
    TicketPdf,
)
from tickets.notifications import users_notify

log = logging.getLogger(__name__)


def generation_job_key(booking_id: uuid.UUID | str) -> str:
    return f"tickets.generate:{booking_id}"


def email_job_key(booking_id: uuid.UUID | str) -> str:
    return f"tickets.email:{booking_id}"


def _unique_ids(seat_ids: Iterable[uuid.UUID | str]) -> list[uuid.UUID]:
    seen: dict[uuid.UUID, None] = {}
    for value in seat_ids:
        seen[value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))] = None
    return list(seen)


def _lock_user_row(user: AbstractBaseUser) -> None:
    # One user's lock and booking requests run one at a time, so two parallel requests
    # cannot both pass the per-user seat limit. Other users are not held up.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def _labels(seats: Iterable[Seat]) -> str:
    return ", ".join(sorted(s.label for s in seats))


def _ensure_open(event: Event, now: datetime) -> None:
    if event.starts_at <= now:
        raise EventClosed("This event has started; its seats can no longer be booked.")


# --- seat locks ---------------------------------------------------------------------------


def seat_lock_acquire(
    *, event: Event, seat_ids: Sequence[uuid.UUID | str], user: AbstractBaseUser
) -> list[SeatLock]:
    """Lock seats for the user, all or none. Seats the user already holds count as locked
    (the call is safe to repeat). Raises SeatUnavailable, SeatLimitExceeded, SeatNotFound."""
    conf = tickets_settings()
    wanted = _unique_ids(seat_ids)
    now = timezone.now()
    _ensure_open(event, now)
    try:
        with transaction.atomic():
            _lock_user_row(user)
            mine = {
                lock.seat_id: lock
                for lock in selectors.user_live_locks(user=user, event=event, now=now).filter(
                    seat_id__in=wanted
                )
            }
            to_lock = [seat_id for seat_id in wanted if seat_id not in mine]
            held = selectors.seats_held_count(user=user, event=event, now=now)
            if held + len(to_lock) > conf.max_seats_per_user:
                raise SeatLimitExceeded(
                    f"You can hold at most {conf.max_seats_per_user} seats for this event; "
                    f"you hold {held} and asked for {len(to_lock)} more.",
                    limit=conf.max_seats_per_user,
                    held=held,
                )
            if not to_lock:
                return [mine[seat_id] for seat_id in wanted]
            # Row locks in id order: parallel requests for overlapping seats queue up here
            # instead of deadlocking, and each sees the winner's committed status.
            seats = list(
                Seat.objects.select_for_update().filter(event=event, id__in=to_lock).order_by("id")
            )
            if len(seats) != len(to_lock):
                missing = sorted(str(s) for s in set(to_lock) - {s.id for s in seats})
                raise SeatNotFound(
                    f"seat_ids: no such seat(s) in this event: {', '.join(missing)}",
                    seat_ids=missing,
                )
            taken = [s for s in seats if s.status != SeatStatus.AVAILABLE]
            if taken:
                raise SeatUnavailable(
                    f"Seat(s) {_labels(taken)} are not available (someone else holds them).",
                    seat_ids=sorted(str(s.id) for s in taken),
                )
            updated = Seat.objects.filter(id__in=to_lock, status=SeatStatus.AVAILABLE).update(
                status=SeatStatus.LOCKED, updated_at=now
            )
            if updated != len(to_lock):
                raise SeatUnavailable("Some of the seats were taken a moment ago.")
            expires_at = now + timedelta(seconds=conf.lock_ttl_seconds)
            created = SeatLock.objects.bulk_create(
                [
                    SeatLock(
                        seat=seat,
                        event=event,
                        user=user,
                        expires_at=expires_at,
                        created_at=now,
                    )
                    for seat in seats
                ]
            )
    except IntegrityError as exc:
        # The one-active-lock-per-seat index caught what the status guard did not.
        raise SeatUnavailable("Some of the seats were taken a moment ago.") from exc
    by_seat = {lock.seat_id: lock for lock in [*mine.values(), *created]}
    return [by_seat[seat_id] for seat_id in wanted]


def seat_lock_release(
    *, event: Event, seat_ids: Sequence[uuid.UUID | str], user: AbstractBaseUser
) -> list[uuid.UUID]:
    """Give back the user's own locks on these seats; returns the seats released. Seats the
    user does not hold are ignored, so the call is safe to repeat."""
    wanted = _unique_ids(seat_ids)
    now = timezone.now()
    with transaction.atomic():
        locks = list(
            SeatLock.objects.select_for_update()
            .filter(user=user, event=event, seat_id__in=wanted, status=SeatLockStatus.ACTIVE)
            .order_by("seat_id")
        )
        if not locks:
            return []
        released = [lock.seat_id for lock in locks]
        SeatLock.objects.filter(id__in=[lock.id for lock in locks]).update(
            status=SeatLockStatus.RELEASED, released_at=now
        )
        Seat.objects.filter(id__in=released, status=SeatStatus.LOCKED).update(
            status=SeatStatus.AVAILABLE, updated_at=now
        )
    return released


def seat_locks_release_expired(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> dict:
    """Every minute: expired locks -> seats available, users told over WebSocket.

    Set-based in bounded batches: one SELECT ... FOR UPDATE SKIP LOCKED of up to
    ``batch_size`` locks, then one UPDATE of those locks and one of their seats.
    """
    conf = tickets_settings()
    now = now or timezone.now()
    batch_size = batch_size or conf.sweep_batch_size
    max_batches = max_batches or conf.sweep_max_batches
    released = batches = 0
    per_user: dict[tuple[int, uuid.UUID], list[tuple[str, str]]] = defaultdict(list)
    for _ in range(max_batches):
        with transaction.atomic():
            rows = list(
                SeatLock.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=SeatLockStatus.ACTIVE, expires_at__lte=now)
                .order_by("expires_at")
                .values_list("id", "seat_id", "user_id", "event_id", "seat__label")[:batch_size]
            )
            if not rows:
                break
            SeatLock.objects.filter(id__in=[r[0] for r in rows]).update(
                status=SeatLockStatus.EXPIRED, released_at=now
            )
            Seat.objects.filter(id__in=[r[1] for r in rows], status=SeatStatus.LOCKED).update(
                status=SeatStatus.AVAILABLE, updated_at=now
            )
        batches += 1
        released += len(rows)
        for _lock_id, seat_id, user_id, event_id, label in rows:
            per_user[(user_id, event_id)].append((str(seat_id), label))
        if len(rows) < batch_size:
            break
    notified = users_notify(
        messages=[
            (
                user_id,
                {
                    "type": "seat_locks.expired",
                    "event_id": str(event_id),
                    "seat_ids": [seat_id for seat_id, _ in seats],
                    "seat_labels": sorted(label for _, label in seats),
                    "message": "Your hold on these seats expired; they are available again.",
                },
            )
            for (user_id, event_id), seats in per_user.items()
        ]
    )
    return {"released": released, "batches": batches, "notified": notified}


# --- reservations (bookings awaiting payment) ----------------------------------------------


def booking_create(
    *,
    event: Event,
    user: AbstractBaseUser,
    seat_ids: Sequence[uuid.UUID | str] | None = None,
) -> Booking:
    """Turn the user's live locks (all of them for the event, or the given seats) into a
    reservation that lapses after TICKETS_RESERVATION_TTL_SECONDS unless paid."""
    conf = tickets_settings()
    now = timezone.now()
    wanted = _unique_ids(seat_ids) if seat_ids else None
    _ensure_open(event, now)
    with transaction.atomic():
        _lock_user_row(user)
        locks_qs = SeatLock.objects.select_for_update().filter(
            user=user, event=event, status=SeatLockStatus.ACTIVE, expires_at__gt=now
        )
        if wanted is not None:
            locks_qs = locks_qs.filter(seat_id__in=wanted)
        locks = list(locks_qs.order_by("seat_id"))
        if wanted is not None and len(locks) != len(wanted):
            missing = sorted(str(s) for s in set(wanted) - {lock.seat_id for lock in locks})
            raise SeatNotLocked(
                "Lock these seats first (or lock them again: your lock may have expired): "
                + ", ".join(missing),
                seat_ids=missing,
            )
        if not locks:
            raise SeatNotLocked("You hold no live seat locks for this event; lock seats first.")
        seat_ids_locked = [lock.seat_id for lock in locks]
        seats = list(Seat.objects.select_for_update().filter(id__in=seat_ids_locked).order_by("id"))
        updated = Seat.objects.filter(id__in=seat_ids_locked, status=SeatStatus.LOCKED).update(
            status=SeatStatus.RESERVED, updated_at=now
        )
        if updated != len(seat_ids_locked):
            raise SeatUnavailable("Some of the seats are no longer locked for you.")
        SeatLock.objects.filter(id__in=[lock.id for lock in locks]).update(
            status=SeatLockStatus.CONVERTED, released_at=now
        )
        booking = Booking.objects.create(
            event=event,
            user=user,
            status=BookingStatus.RESERVED,
            total_amount=sum((s.price for s in seats), Decimal("0")),
            expires_at=now + timedelta(seconds=conf.reservation_ttl_seconds),
            created_at=now,
        )
        BookingSeat.objects.bulk_create(
            [BookingSeat(booking=booking, seat=seat, price=seat.price) for seat in seats]
        )
        ReservationExpiry.objects.create(
            reservation=booking,
            seat_ids=sorted(str(s.id) for s in seats),
            user=user,
            expires_at=booking.expires_at,
            created_at=now,
        )
    return booking


def reservations_release_expired(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> dict:
    """Every 2 minutes: due rows of the reservation expiry queue -> unpaid bookings expire,
    their seats become available, users are told over WebSocket.

    Queue rows and bookings are taken with SKIP LOCKED: a booking whose payment is being
    verified right now is left for the next run, never expired under the verifier.
    """
    conf = tickets_settings()
    now = now or timezone.now()
    batch_size = batch_size or conf.sweep_batch_size
    max_batches = max_batches or conf.sweep_max_batches
    processed = expired = seats_freed = batches = 0
    messages: list[tuple[int, dict]] = []
    for _ in range(max_batches):
        with transaction.atomic():
            entries = list(
                ReservationExpiry.objects.select_for_update(skip_locked=True)
                .filter(processed=False, expires_at__lte=now)
                .order_by("expires_at")
                .values_list("id", "reservation_id")[:batch_size]
            )
            if not entries:
                break
            bookings = list(
                Booking.objects.select_for_update(skip_locked=True)
                .filter(id__in={r for _, r in entries})
                .values_list("id", "user_id", "event_id", "status", "expires_at")
            )
            lapsed = {b[0]: b for b in bookings if b[3] == BookingStatus.RESERVED and b[4] <= now}
            seat_rows = list(
                BookingSeat.objects.filter(booking_id__in=lapsed, active=True).values_list(
                    "booking_id", "seat_id", "seat__label"
                )
            )
            if lapsed:
                BookingSeat.objects.filter(booking_id__in=lapsed, active=True).update(active=False)
                seats_freed += Seat.objects.filter(
                    id__in=[r[1] for r in seat_rows], status=SeatStatus.RESERVED
                ).update(status=SeatStatus.AVAILABLE, updated_at=now)
                Booking.objects.filter(id__in=lapsed).update(
                    status=BookingStatus.EXPIRED, updated_at=now
                )
            # Rows whose booking another transaction holds (a payment being verified right
            # now) were skipped above and stay queued for the next run.
            decided = {
                b[0] for b in bookings if not (b[3] == BookingStatus.RESERVED and b[4] > now)
            }
            ReservationExpiry.objects.filter(id__in=[e for e, r in entries if r in decided]).update(
                processed=True, processed_at=now
            )
        batches += 1
        processed += sum(1 for _, r in entries if r in decided)
        expired += len(lapsed)
        seats_of: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
        for booking_id, seat_id, label in seat_rows:
            seats_of[booking_id].append((str(seat_id), label))
        for booking_id, (_, user_id, event_id, _, _) in lapsed.items():
            messages.append(
                (
                    user_id,
                    {
                        "type": "reservation.expired",
                        "booking_id": str(booking_id),
                        "event_id": str(event_id),
                        "seat_ids": [s for s, _ in seats_of[booking_id]],
                        "seat_labels": sorted(label for _, label in seats_of[booking_id]),
                        "message": "Your reservation expired unpaid; its seats were released.",
                    },
                )
            )
        if len(entries) < batch_size:
            break
    notified = users_notify(messages=messages)
    return {
        "processed": processed,
        "expired": expired,
        "seats_released": seats_freed,
        "batches": batches,
        "notified": notified,
    }


# --- payment and ticket generation ---------------------------------------------------------


def booking_verify_payment(
    *, booking: Booking, admin: AbstractBaseUser | None, payment_reference: str = ""
) -> Booking:
    """An admin confirms the payment: the booking is paid, its seats booked, and ticket
    generation starts at once (a job enqueued in this transaction, run right after commit).
    Verifying a paid booking again changes nothing."""
    from tickets.tasks import generate_tickets

    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == BookingStatus.PAID:
            return booking
        if booking.status == BookingStatus.EXPIRED or booking.expires_at <= now:
            raise ReservationExpired(
                f"The reservation expired at {booking.expires_at.isoformat()}; its seats may "
                "be gone. The customer has to book again.",
                expires_at=booking.expires_at.isoformat(),
            )
        seat_ids = list(
            BookingSeat.objects.filter(booking=booking, active=True).values_list(
                "seat_id", flat=True
            )
        )
        booked = Seat.objects.filter(id__in=seat_ids, status=SeatStatus.RESERVED).update(
            status=SeatStatus.BOOKED, updated_at=now
        )
        if booked != len(seat_ids) or not seat_ids:
            raise BookingStateError("The booking's seats are not reserved for it any more.")
        booking.status = BookingStatus.PAID
        booking.paid_at = now
        booking.verified_by = admin
        booking.payment_reference = payment_reference
        booking.save(
            update_fields=["status", "paid_at", "verified_by", "payment_reference", "updated_at"]
        )
        ReservationExpiry.objects.filter(reservation=booking, processed=False).update(
            processed=True, processed_at=now
        )
        generate_tickets.apply_async((str(booking.id),), job_key=generation_job_key(booking.id))
    return booking


def tickets_generate(*, booking: Booking) -> dict:
    """Create the booking's tickets (never a second one for a seat), render their PDF and
    queue the email. Safe to run any number of times."""
    from tickets.tasks import email_tickets

    booking_seats = list(
        BookingSeat.objects.filter(booking=booking, active=True).select_related("seat")
    )
    if not booking_seats:
        raise BookingStateError(f"booking {booking.id} holds no seats")
    now = timezone.now()
    before = Ticket.objects.filter(booking=booking).count()
    new_tickets = []
    for booking_seat in booking_seats:
        ticket_id = uuid.uuid4()
        new_tickets.append(
            Ticket(
                id=ticket_id,
                booking=booking,
                seat_id=booking_seat.seat_id,
                code=ticket_code_make(ticket_id=ticket_id),
                created_at=now,
            )
        )
    # ON CONFLICT DO NOTHING on the one-ticket-per-seat index: a rerun keeps the old ones.
    Ticket.objects.bulk_create(new_tickets, ignore_conflicts=True)
    tickets = selectors.booking_tickets(booking=booking)
    foreign = {bs.seat_id for bs in booking_seats} - {t.seat_id for t in tickets}
    if foreign:
        raise BookingStateError(f"seats {sorted(map(str, foreign))} have another booking's ticket")
    document = selectors.ticket_document(booking=booking, tickets=tickets)
    content = pdf.render_tickets_pdf(document)  # slow part: outside any transaction
    TicketPdf.objects.update_or_create(
        booking=booking,
        defaults={
            "content": content,
            "size": len(content),
            "ticket_count": len(tickets),
            "rendered_at": timezone.now(),
        },
    )
    email_job = None
    if booking.tickets_emailed_at is None:
        email_job = email_tickets.apply_async((str(booking.id),), job_key=email_job_key(booking.id))
    return {
        "tickets": len(tickets),
        "created": len(tickets) - before,
        "pdf_bytes": len(content),
        "email_job": email_job.id if email_job else None,
    }


def ticket_generation_run(*, booking_id: uuid.UUID | str) -> dict:
    """One generation attempt, as the seed describes: on failure the booking gets (or
    updates) its row in the ticket generation queue; after the last attempt the row is
    failed, kept, and the admins are told."""
    booking = Booking.objects.select_related("event", "user").filter(id=booking_id).first()
    if booking is None:
        return {"status": "missing_booking", "booking_id": str(booking_id)}
    if booking.status != BookingStatus.PAID:
        return {"status": "skipped", "reason": f"booking is {booking.status}"}
    try:
        outcome = tickets_generate(booking=booking)
    except Exception as exc:
        # The seed's rule: every failure of an attempt is recorded in the queue row and
        # retried from there with increasing delays, whatever its cause.
        error = "".join(traceback.format_exception(exc))
        entry = ticket_generation_failure_record(booking=booking, error=error)
        return {
            "status": entry.status,
            "attempts": entry.attempts,
            "max_attempts": entry.max_attempts,
            "next_attempt_at": entry.next_attempt_at.isoformat(),
            "error": f"{type(exc).__name__}: {exc}",
        }
    ticket_generation_success_record(booking=booking)
    return {"status": "done", **outcome}


def generation_retry_delay(*, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: base, 2x, 4x, ..."""
    base = tickets_settings().generation_retry_delay_seconds
    return exponential(base, max_delay=base * 32).seconds(attempts)


def ticket_generation_failure_record(*, booking: Booking, error: str) -> TicketGenerationJob:
    conf = tickets_settings()
    now = timezone.now()
    with transaction.atomic():
        entry, _ = TicketGenerationJob.objects.select_for_update().get_or_create(
            booking=booking,
            defaults={
                "admin_id": booking.verified_by_id,
                "max_attempts": conf.generation_max_attempts,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        entry.attempts += 1
        entry.last_attempt_at = now
        entry.last_error = error[-20000:]
        entry.processed_at = None
        if entry.attempts >= entry.max_attempts:
            entry.status = GenerationStatus.FAILED
        else:
            entry.status = GenerationStatus.PENDING
            entry.next_attempt_at = now + timedelta(
                seconds=generation_retry_delay(attempts=entry.attempts)
            )
        entry.save()
    if entry.status == GenerationStatus.FAILED:
        _mail_admins_generation_failed(entry=entry, booking=booking)
    return entry


def _mail_admins_generation_failed(*, entry: TicketGenerationJob, booking: Booking) -> None:
    try:
        mail_admins(
            subject=f"Ticket generation failed for booking {booking.id}",
            message=(
                f"Ticket generation for booking {booking.id} (event {booking.event.name}, "
                f"user {booking.user.get_username()}) failed {entry.attempts} time(s) and "
                "will not be retried automatically. Retry it from the admin "
                "(Ticket generation queue -> Retry now) once the cause is fixed.\n\n"
                f"Last error:\n{entry.last_error}"
            ),
            fail_silently=False,
        )
    except Exception:  # the row stays failed and visible; a lost mail must not hide it
        log.exception("could not mail the admins about booking %s", booking.id)


def ticket_generation_success_record(*, booking: Booking) -> bool:
    now = timezone.now()
    return bool(
        TicketGenerationJob.objects.filter(booking=booking)
        .exclude(status=GenerationStatus.DONE)
        .update(
            status=GenerationStatus.DONE,
            processed_at=now,
            last_attempt_at=now,
            attempts=F("attempts") + 1,
        )
    )


def ticket_generation_queue_process(
    *, now: datetime | None = None, batch_size: int | None = None
) -> dict:
    """Every 3 minutes: each due pending row gets a generation job. The rows are leased
    (next_attempt_at pushed ahead) so the next run does not hand them out again while their
    job waits; the attempt itself sets the real next time."""
    from tickets.tasks import generate_tickets

    conf = tickets_settings()
    now = now or timezone.now()
    batch_size = batch_size or conf.sweep_batch_size
    enqueued = already = 0
    with transaction.atomic():
        rows = list(
            TicketGenerationJob.objects.select_for_update(skip_locked=True)
            .filter(status=GenerationStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", "booking_id")[:batch_size]
        )
        if rows:
            TicketGenerationJob.objects.filter(id__in=[r[0] for r in rows]).update(
                next_attempt_at=now + timedelta(seconds=conf.generation_lease_seconds)
            )
        for _, booking_id in rows:
            result = generate_tickets.apply_async(
                (str(booking_id),), job_key=generation_job_key(booking_id)
            )
            if result.created:
                enqueued += 1
            else:
                already += 1
    return {"due": len(rows), "enqueued": enqueued, "already_queued": already}


def ticket_generation_retry(*, booking: Booking, admin: AbstractBaseUser | None = None):
    """An admin asks for another go: the queue row (if any) gets a fresh set of attempts and
    a generation job runs now. Returns the job's LedgerResult."""
    from tickets.tasks import generate_tickets

    conf = tickets_settings()
    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != BookingStatus.PAID:
            raise BookingStateError(
                f"Only paid bookings get tickets; this one is {booking.status}."
            )
        TicketGenerationJob.objects.filter(booking=booking).update(
            status=GenerationStatus.PENDING,
            attempts=0,
            processed_at=None,
            next_attempt_at=now + timedelta(seconds=conf.generation_lease_seconds),
        )
        return generate_tickets.apply_async(
            (str(booking.id),), job_key=generation_job_key(booking.id)
        )


def ticket_pdf_ensure(*, booking: Booking) -> TicketPdf:
    """The stored PDF, rendered from the existing tickets if it is missing."""
    stored = TicketPdf.objects.filter(booking=booking).first()
    if stored is not None:
        return stored
    tickets = selectors.booking_tickets(booking=booking)
    if not tickets:
        raise TicketsNotReady("The tickets of this booking have not been generated yet.")
    content = pdf.render_tickets_pdf(selectors.ticket_document(booking=booking, tickets=tickets))
    stored, _ = TicketPdf.objects.update_or_create(
        booking=booking,
        defaults={
            "content": content,
            "size": len(content),
            "ticket_count": len(tickets),
            "rendered_at": timezone.now(),
        },
    )
    return stored


def tickets_email_send(*, booking_id: uuid.UUID | str) -> dict:
    """Email the ticket PDF to the booking's user, once. SMTP errors propagate so the job
    retries them (transient by nature)."""
    booking = Booking.objects.select_related("event", "user").filter(id=booking_id).first()
    if booking is None:
        return {"status": "missing_booking", "booking_id": str(booking_id)}
    if booking.status != BookingStatus.PAID:
        return {"status": "skipped", "reason": f"booking is {booking.status}"}
    if booking.tickets_emailed_at is not None:
        return {"status": "already_sent", "at": booking.tickets_emailed_at.isoformat()}
    address = booking.user.email
    if not address:
        return {"status": "no_email"}
    document = ticket_pdf_ensure(booking=booking)
    context = {"booking": booking, "event": booking.event, "count": document.ticket_count}
    message = EmailMessage(
        subject=f"Your tickets for {booking.event.name}",
        body=render_to_string("tickets/email/tickets_ready.txt", context),
        to=[address],
    )
    message.attach(f"tickets-{booking.id}.pdf", bytes(document.content), "application/pdf")
    message.send(fail_silently=False)
    Booking.objects.filter(id=booking.id, tickets_emailed_at__isnull=True).update(
        tickets_emailed_at=timezone.now()
    )
    return {"status": "sent", "to": address, "pdf_bytes": document.size}


def tickets_email_resend(*, booking: Booking):
    """Send the tickets again (admin action); returns the email job's LedgerResult."""
    from tickets.tasks import email_tickets

    if booking.status != BookingStatus.PAID:
        raise BookingStateError(f"Only paid bookings have tickets; this one is {booking.status}.")
    with transaction.atomic():
        Booking.objects.filter(id=booking.id).update(tickets_emailed_at=None)
        return email_tickets.apply_async((str(booking.id),), job_key=email_job_key(booking.id))


# --- check-in ------------------------------------------------------------------------------


class CheckIn:
    VALID = "valid"
    ALREADY_USED = "already_used"
    FORGED = "forged"


def ticket_check_in(*, code: str, by: AbstractBaseUser | None) -> tuple[str, Ticket | None]:
    """Verify a scanned code and admit its holder once. Returns (outcome, ticket)."""
    ticket_id = ticket_code_read(code=code)
    if ticket_id is None:
        return CheckIn.FORGED, None
    ticket = Ticket.objects.select_related("seat", "booking__event").filter(id=ticket_id).first()
    if ticket is None or ticket.code != code.strip():
        return CheckIn.FORGED, None
    # The conditional UPDATE admits exactly one of two simultaneous scans.
    admitted = Ticket.objects.filter(id=ticket.id, used_at__isnull=True).update(
        used_at=timezone.now(), checked_in_by=by
    )
    ticket.refresh_from_db(fields=["used_at", "checked_in_by"])
    return (CheckIn.VALID if admitted else CheckIn.ALREADY_USED), ticket


# --- operators ------------------------------------------------------------------------------


def tickets_job_trigger(*, name: str):
    """Run one of the app's periodic jobs now (seed: "manually triggered through the admin
    interface"). A run already queued is returned instead of queueing a second one."""
    from tickets.tasks import MANUAL_JOBS

    task = MANUAL_JOBS.get(name)
    if task is None:
        raise UnknownJob(f"unknown job {name!r}; use one of: {', '.join(sorted(MANUAL_JOBS))}")
    return task.apply_async(job_key=f"tickets.manual:{name}")
