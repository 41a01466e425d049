"""Recount the maintained finished-job counts from the ledger (PostgreSQL)."""

from django.core.management.base import BaseCommand

from jobs.ledger.status_counts import status_counts_maintained, status_counts_rebuild


class Command(BaseCommand):
    help = (
        "Recount the finished jobs per (queue, status) from the ledger and empty the log of "
        "changes: after a bulk load that bypassed the ledger's triggers, or if the counts "
        "are in doubt. Holds the ledger's writers off while it counts."
    )

    def handle(self, *args, **options):
        if not status_counts_maintained():
            self.stdout.write("  counts are live on this database: nothing to rebuild")
            return
        counts = status_counts_rebuild()
        for (queue, status), n in sorted(counts.items()):
            self.stdout.write(f"  {queue} {status}: {n}")
        self.stdout.write(f"  rebuilt: {sum(counts.values())} finished jobs")
