from django.apps import AppConfig

from jobs.conf import jobs_settings


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # The worker signal receivers (heartbeats, the maintenance loop, the clean-shutdown
        # marker) connect on import; the admin registers its pages on import (it lives in
        # the web layer, so Django's autodiscovery of ``jobs.admin`` would not find it).
        from jobs.observability.rollups import rollup_step
        from jobs.runtime import signals  # noqa: F401
        from jobs.runtime.loops import register_sweep
        from jobs.web import admin  # noqa: F401

        # The metrics history is rolled up by every maintenance cycle (workers' loops and
        # the maintenance-sweep schedule); the runtime layer cannot import it itself.
        register_sweep(rollup_step)
        jobs_settings()  # a JOBS_* setting of the wrong type stops the start here
