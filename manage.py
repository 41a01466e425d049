#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Without DJANGO_SETTINGS_MODULE the production settings are used, which refuse to start
without a real SECRET_KEY (and DATABASE_URL, ALLOWED_HOSTS, WAITLIST_PUBLIC_BASE_URL). On a
developer's machine: ``DJANGO_SETTINGS_MODULE=config.settings.local python manage.py ...``
(``make run`` sets it for its own processes).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
