from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Connect the worker signal receivers: heartbeats and the dispatcher, and the
        # clean-shutdown marker that keeps a stopped worker from being reported as down.
        from jobs import alerts, worker_runtime  # noqa: F401
