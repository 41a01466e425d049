from django.apps import AppConfig


class ExamplesConfig(AppConfig):
    """The source systems' usage on the platform (test and local settings only)."""

    name = "examples"
    verbose_name = "Examples"
    default_auto_field = "django.db.models.BigAutoField"
