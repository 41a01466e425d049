"""Create (or update) a tenant and give users staff access to it.

manage.py waitlist_tenant bistro --name "Bistro" --hold-seconds 900 --staff alice bob
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from waitlist import services


class Command(BaseCommand):
    help = "Create or update a waitlist tenant and add staff members to it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", help="display name (default: the slug)")
        parser.add_argument("--hold-seconds", type=int, help="how long an offer is held")
        parser.add_argument("--staff", nargs="*", default=[], help="usernames to add as staff")

    def handle(self, *args, slug, name, hold_seconds, staff, **options):
        if hold_seconds is not None and hold_seconds < 1:
            raise CommandError("--hold-seconds must be at least 1")
        users = []
        for username in staff:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"--staff: no user named {username!r}")
            users.append(user)
        tenant = services.tenant_ensure(
            slug=slug,
            name=name,
            hold_duration=timedelta(seconds=hold_seconds) if hold_seconds else None,
            staff=users,
            actor=services.Actor("manage.py"),
        )
        self.stdout.write(
            f"  tenant {tenant.slug} ({tenant.name}), hold {tenant.hold_duration}, "
            f"staff: {', '.join(m.user.username for m in tenant.memberships.all()) or '-'}"
        )
