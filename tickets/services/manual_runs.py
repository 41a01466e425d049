"""Running one of the app's periodic jobs by hand (admin buttons, the staff API)."""

from tickets.errors import UnknownJob
from tickets.tasks import MANUAL_JOBS


def tickets_job_trigger(*, name: str):
    """Run one of the app's periodic jobs now, as an operator asks from the admin or the
    API. A run already queued is returned instead of queueing a second one."""
    task = MANUAL_JOBS.get(name)
    if task is None:
        raise UnknownJob(f"unknown job {name!r}; use one of: {', '.join(sorted(MANUAL_JOBS))}")
    return task.apply_async(job_key=f"tickets.manual:{name}")
