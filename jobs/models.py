"""Django's entry point to the platform's models; each lives in the layer that owns it."""

from jobs.ledger.models import (
    FINISHED_STATUSES,
    LIVE_STATUSES,
    AttemptOutcome,
    Job,
    JobAttempt,
    JobStatus,
    QueueState,
    WorkerProcess,
    Workflow,
    WorkflowChord,
    WorkflowStep,
)
from jobs.observability.models import Alert, AlertRule, MetricsRollup, RollupPeriod, RollupWatermark
from jobs.scheduling.models import ScheduleFire, ScheduleOptions

__all__ = [
    "FINISHED_STATUSES",
    "LIVE_STATUSES",
    "Alert",
    "AlertRule",
    "AttemptOutcome",
    "Job",
    "JobAttempt",
    "JobStatus",
    "MetricsRollup",
    "QueueState",
    "RollupPeriod",
    "RollupWatermark",
    "ScheduleFire",
    "ScheduleOptions",
    "WorkerProcess",
    "Workflow",
    "WorkflowChord",
    "WorkflowStep",
]
