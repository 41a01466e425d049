"""manage.py repair_tickets: --dry-run reports and changes nothing; without it, repairs."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import job_cancel
from tickets import services
from tickets.models import (
    Booking,
    BookingStatus,
    GenerationStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatStatus,
)
from tickets.tasks import generate_tickets, release_expired_locks
from tickets.tests.factories import (
    BookingFactory,
    BookingSeatFactory,
    SeatFactory,
    SeatLockFactory,
    TicketGenerationFactory,
    paid_booking,
)
from tickets.tests.ledger import Job

pytestmark = pytest.mark.django_db


def repair_tickets(*args) -> str:
    out = io.StringIO()
    call_command("repair_tickets", *args, stdout=out)
    return out.getvalue()


def found(report: str, description: str) -> int:
    line = next(line for line in report.splitlines() if description in line)
    return int(line.split("found")[1].split()[0])


@pytest.fixture
def broken_world(clock):
    """One of each inconsistency repair_tickets knows about."""
    world = {}
    world["orphan_locked"] = SeatFactory(status=SeatStatus.LOCKED)  # no lock row at all
    expired = SeatLockFactory(expires_at=timezone.now() - timedelta(minutes=1))
    world["expired_lock_seat"] = expired.seat
    world["unticketed"] = paid_booking(seats=1)  # paid, no tickets, no job
    mismatch = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=mismatch.id)
    seat = mismatch.booking_seats.get().seat
    Seat.objects.filter(id=seat.id).update(status=SeatStatus.RESERVED)  # should be booked
    world["mismatch_seat"] = seat
    world["lapsed"] = BookingSeatFactory(
        booking=BookingFactory(expires_at=timezone.now() - timedelta(minutes=1))
    ).booking  # unpaid, past expiry, no expiry row
    world["ghost_job"] = generate_tickets.apply_async(
        (str(uuid.uuid4()),), job_key="tickets.generate:ghost"
    ).id
    stuck = TicketGenerationFactory(next_attempt_at=timezone.now() - timedelta(hours=2), attempts=2)
    BookingSeatFactory(booking=stuck.booking, seat__status=SeatStatus.BOOKED)
    world["stuck_row"] = stuck
    # Everything above was flagged: the clock moves on so "overdue" means overdue.
    clock.shift(timedelta(minutes=1))
    return world


def test_dry_run_reports_every_problem_and_changes_nothing(broken_world):
    jobs_before = Job.objects.count()
    seats_before = dict(Seat.objects.values_list("id", "status"))

    report = repair_tickets("--dry-run")

    assert "DRY RUN" in report
    assert found(report, "seats locked with no live lock") == 1
    assert found(report, "expired seat locks still holding their seats") == 1
    assert found(report, "paid bookings with neither tickets nor a generation job") == 1
    assert found(report, "other seats whose status disagrees") == 1
    assert found(report, "unpaid bookings past expiry with no expiry row") == 1
    assert found(report, "queued jobs for bookings that do not exist") == 1
    assert found(report, "pending generation rows long overdue with no job") == 1
    assert dict(Seat.objects.values_list("id", "status")) == seats_before
    assert Job.objects.count() == jobs_before
    assert Job.objects.get(id=broken_world["ghost_job"]).status == "waiting"
    assert not ReservationExpiry.objects.exists()


def test_repair_fixes_every_problem_and_a_second_run_finds_nothing(broken_world):
    report = repair_tickets()

    assert "repaired" in report
    status = {s.id: s.status for s in Seat.objects.all()}
    assert status[broken_world["orphan_locked"].id] == SeatStatus.AVAILABLE
    assert status[broken_world["expired_lock_seat"].id] == SeatStatus.AVAILABLE
    assert status[broken_world["mismatch_seat"].id] == SeatStatus.BOOKED
    assert not SeatLock.objects.filter(status="active").exists()
    unticketed = broken_world["unticketed"]
    assert Job.objects.filter(job_key=services.generation_job_key(unticketed.id)).exists()
    assert Job.objects.get(id=broken_world["ghost_job"]).status == "cancelled"
    assert ReservationExpiry.objects.filter(reservation=broken_world["lapsed"]).exists()
    stuck = broken_world["stuck_row"]
    assert Job.objects.filter(job_key=services.generation_job_key(stuck.booking_id)).exists()
    stuck.refresh_from_db()
    assert stuck.status == GenerationStatus.PENDING

    assert "No inconsistencies found." in repair_tickets("--dry-run")


def test_the_repaired_lapsed_booking_is_then_expired_by_the_sweep(broken_world):
    repair_tickets()

    services.reservations_release_expired()

    assert Booking.objects.get(id=broken_world["lapsed"].id).status == BookingStatus.EXPIRED


def test_a_paid_booking_with_a_failed_generation_row_is_left_for_the_admin(clock):
    TicketGenerationFactory(status=GenerationStatus.FAILED, attempts=5)

    assert "No inconsistencies found." in repair_tickets("--dry-run")


def test_large_runs_show_a_progress_bar(clock, capsys):
    Seat.objects.bulk_create(
        Seat(event=SeatFactory().event, label=f"X{n}", status=SeatStatus.LOCKED)
        for n in range(1200)
    )

    report = repair_tickets()

    assert found(report, "seats locked with no live lock") == 1200
    assert "1200/1200" in capsys.readouterr().err
    assert not Seat.objects.filter(status=SeatStatus.LOCKED).exists()


def test_tickets_never_emailed_and_lost_job_messages_are_requeued(clock):
    booking = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=booking.id)
    job_cancel(job_key=services.email_job_key(booking.id))  # as if the email job was lost
    sweep = release_expired_locks.delay()  # published, but its message never arrives
    clock.shift(timedelta(hours=1))

    dry = repair_tickets("--dry-run")
    assert found(dry, "tickets were never emailed") == 1
    assert found(dry, "tickets jobs stuck waiting") == 1

    repair_tickets()

    assert Job.objects.filter(job_key=services.email_job_key(booking.id), status="waiting").exists()
    assert Job.objects.get(id=sweep.id).needs_publish is True
