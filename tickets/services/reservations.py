"""Reservations: a user's live locks become a booking that waits for its payment, and the
sweep that expires the unpaid ones."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets.conf import tickets_settings
from tickets.errors import SeatNotLocked, SeatUnavailable
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    Event,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatLockStatus,
    SeatStatus,
)
from tickets.notifications import users_notify
from tickets.services.guards import ensure_open, lock_user_row, unique_ids


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
    wanted = unique_ids(seat_ids) if seat_ids else None
    ensure_open(event, now)
    with transaction.atomic():
        lock_user_row(user)
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
