"""Seat locks: a user's short hold on seats while they decide, and the sweep that ends it.

Locks are taken in the row-lock order of ``tickets.services`` (user row, then seats by id).
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets import selectors
from tickets.conf import tickets_settings
from tickets.errors import SeatLimitExceeded, SeatNotFound, SeatUnavailable
from tickets.models import Event, Seat, SeatLock, SeatLockStatus, SeatStatus
from tickets.notifications import users_notify
from tickets.services.guards import ensure_open, lock_user_row, unique_ids


def _labels(seats: Iterable[Seat]) -> str:
    return ", ".join(sorted(s.label for s in seats))


def seat_lock_acquire(
    *, event: Event, seat_ids: Sequence[uuid.UUID | str], user: AbstractBaseUser
) -> list[SeatLock]:
    """Lock seats for the user, all or none. Seats the user already holds count as locked
    (the call is safe to repeat). Raises SeatUnavailable, SeatLimitExceeded, SeatNotFound."""
    conf = tickets_settings()
    wanted = unique_ids(seat_ids)
    now = timezone.now()
    ensure_open(event, now)
    try:
        with transaction.atomic():
            lock_user_row(user)
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
                    f"No such seat(s) in this event: {', '.join(missing)}",
                    field="seat_ids",
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
    wanted = unique_ids(seat_ids)
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
