from django.apps import AppConfig

from tickets.conf import tickets_settings


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        # A bad TICKETS_* value stops the start here, not at the first request that reads it.
        tickets_settings()
