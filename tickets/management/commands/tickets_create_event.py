"""``manage.py tickets_create_event NAME --rows A-C --per-row 10``: an event with a seat map."""

import string
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.models import Event, Seat


def _rows(spec: str) -> list[str]:
    letters = string.ascii_uppercase
    if "-" in spec:
        first, last = spec.split("-", 1)
        if first not in letters or last not in letters or first > last:
            raise CommandError(f"--rows: {spec!r} is not a range like A-F")
        return list(letters[letters.index(first) : letters.index(last) + 1])
    return [row for row in spec.split(",") if row]


class Command(BaseCommand):
    help = "Create an event with rows of seats (labels A1, A2, ... B1, ...)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--venue", default="")
        parser.add_argument("--starts-at", help="ISO date-time; default one week from now")
        parser.add_argument("--rows", default="A-C", help="A-F or A,B,C")
        parser.add_argument("--per-row", type=int, default=10)
        parser.add_argument("--price", default="25.00")

    def handle(self, *args, **options):
        starts_at = timezone.now() + timedelta(days=7)
        if options["starts_at"]:
            starts_at = parse_datetime(options["starts_at"])
            if starts_at is None:
                raise CommandError("--starts-at: not an ISO date-time")
            if timezone.is_naive(starts_at):
                starts_at = timezone.make_aware(starts_at)
        try:
            price = Decimal(options["price"])
        except InvalidOperation as exc:
            raise CommandError("--price: not a number") from exc
        if options["per_row"] < 1:
            raise CommandError("--per-row: must be at least 1")
        with transaction.atomic():
            event = Event.objects.create(
                name=options["name"], venue=options["venue"], starts_at=starts_at
            )
            Seat.objects.bulk_create(
                Seat(event=event, label=f"{row}{n}", section=row, price=price)
                for row in _rows(options["rows"])
                for n in range(1, options["per_row"] + 1)
            )
        self.stdout.write(f"{event.id} {event.name}: {event.seats.count()} seats")
