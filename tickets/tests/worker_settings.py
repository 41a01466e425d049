"""Settings of the Celery workers the end-to-end tests start: the test settings, with mail
written to files (TICKETS_TEST_MAIL_DIR) so the test process can read what a worker sent."""

import os

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["TICKETS_TEST_MAIL_DIR"]
