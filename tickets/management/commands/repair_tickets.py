"""``manage.py repair_tickets [--dry-run]``: find and repair seats, locks, bookings and their
jobs that disagree with each other."""

import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tickets.services.repair import CHECKS, tickets_repair

# Below this many rows to repair, a progress bar is noise.
PROGRESS_THRESHOLD = 1000


class Command(BaseCommand):
    help = (
        "Find and repair ticketing inconsistencies: seats locked with no live lock, seat "
        "statuses out of step with bookings, paid bookings with neither tickets nor a "
        "generation job, jobs for missing bookings, stuck queue rows and jobs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what is wrong; change nothing."
        )
        parser.add_argument(
            "--progress",
            choices=["auto", "always", "never"],
            default="auto",
            help=f"Progress bar: auto shows it from {PROGRESS_THRESHOLD} rows on.",
        )

    def handle(self, *args, dry_run: bool = False, progress: str = "auto", **options):
        bar = None

        def on_found(findings):
            nonlocal bar
            total = sum(f.found for f in findings)
            show = progress == "always" or (progress == "auto" and total >= PROGRESS_THRESHOLD)
            if show and not dry_run:
                bar = tqdm(total=total, unit="row", desc="repairing", file=sys.stderr)

        findings = tickets_repair(
            dry_run=dry_run,
            on_found=on_found,
            on_progress=lambda n: bar.update(n) if bar else None,
        )
        if bar:
            bar.close()
        width = max(len(c.description) for c in CHECKS)
        self.stdout.write("DRY RUN: nothing changed" if dry_run else "repair_tickets")
        for finding in findings:
            line = f"  {finding.description:<{width}}  found {finding.found:>6}"
            if not dry_run:
                line += f"  repaired {finding.repaired:>6}"
            style = self.style.WARNING if finding.found else (lambda text: text)
            self.stdout.write(style(line))
        total = sum(f.found for f in findings)
        if total == 0:
            self.stdout.write(self.style.SUCCESS("No inconsistencies found."))
        elif dry_run:
            self.stdout.write(f"{total} problem(s) found; run without --dry-run to repair.")
        else:
            repaired = sum(f.repaired for f in findings)
            self.stdout.write(self.style.SUCCESS(f"{repaired} row(s) repaired."))
