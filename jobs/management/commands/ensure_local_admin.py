"""Create the local admin user for `make run` and print its credentials (DEBUG only)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a local superuser (admin/admin by default) for a local run."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username, password, **options):
        if not settings.DEBUG:
            raise CommandError("ensure_local_admin is for local runs only (DEBUG is off)")
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@localhost"},
        )
        if created:
            user.set_password(password)
            user.save()
            self.stdout.write(f"  Created local admin user: {username} / {password}")
        else:
            self.stdout.write(f"  Local admin user: {username} (password unchanged)")
