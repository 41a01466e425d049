"""Create the periodic jobs declared in each app's schedules.py (run on every deploy)."""

from django.core.management.base import BaseCommand

from jobs.scheduling.declarations import schedules_sync


class Command(BaseCommand):
    help = "Create missing periodic tasks from the apps' schedules.py; keeps admin edits."

    def handle(self, *args, **options):
        outcome = schedules_sync()
        for name in outcome["created"]:
            self.stdout.write(f"  created schedule {name}")
        self.stdout.write(
            f"  schedules: {len(outcome['created'])} created, {len(outcome['kept'])} kept"
        )
