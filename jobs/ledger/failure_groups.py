"""Failed jobs grouped by task and error, for the operators' failures page.

A group is one task failing the same way: the error's class and the first line of its
message (``ValueError: bad row 7``). Grouping reads only the newest ``FAILURE_SCAN_ROWS``
failed jobs, newest first through the partial index on failed jobs, so the page costs the
same on a ledger of millions of rows; older failures show up as the newer ones are retried
or removed.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models.functions import Left

from jobs.ledger.models import Job, JobStatus

FAILURE_SCAN_ROWS = 10_000
# The first line of an error message is cut here: a group's label, not the full text.
SIGNATURE_CHARS = 300


def error_signature(error: str) -> str:
    """The error class and the first line of its message: what failures are grouped by."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    return first[:SIGNATURE_CHARS] or "(no error text)"


def error_class(signature: str) -> str:
    head, sep, _ = signature.partition(":")
    return head if sep and head and " " not in head.strip() else ""


@dataclass
class FailureGroup:
    task: str
    signature: str
    count: int = 0
    last_seen: datetime | None = None
    example_id: str = ""
    job_ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable name of the group for URLs (task and signature can be long)."""
        raw = f"{self.task}\n{self.signature}".encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def error_class(self) -> str:
        return error_class(self.signature)


def failure_groups(*, scan: int = FAILURE_SCAN_ROWS) -> tuple[list[FailureGroup], int]:
    """The groups among the newest ``scan`` failed jobs, most frequent first, and how many
    failed jobs were read (``scan`` when there may be more)."""
    rows = (
        Job.objects.filter(status=JobStatus.FAILED)
        .order_by("-created_at")
        .annotate(error_head=Left("error", SIGNATURE_CHARS + 200))
        .values_list("id", "task", "error_head", "finished_at")[:scan]
    )
    groups: dict[tuple[str, str], FailureGroup] = {}
    read = 0
    for job_id, task, error_head, finished_at in rows:
        read += 1
        signature = error_signature(error_head)
        group = groups.get((task, signature))
        if group is None:
            group = groups[(task, signature)] = FailureGroup(task=task, signature=signature)
        group.count += 1
        group.job_ids.append(str(job_id))
        if finished_at and (group.last_seen is None or finished_at > group.last_seen):
            group.last_seen = finished_at
            group.example_id = str(job_id)
        if not group.example_id:
            group.example_id = str(job_id)
    ordered = sorted(
        groups.values(),
        key=lambda g: (-g.count, -(g.last_seen.timestamp() if g.last_seen else 0)),
    )
    return ordered, read


def failure_group(*, key: str, scan: int = FAILURE_SCAN_ROWS) -> FailureGroup | None:
    """The group named ``key`` (``FailureGroup.key``) as it is now, or None."""
    groups, _ = failure_groups(scan=scan)
    return next((g for g in groups if g.key == key), None)
