"""Every Celery queue of the project, declared once per app.

The platform declares its own queues here; each product declares its queues in its
``<app>/queues.py``, as plain data in the same format (see ``waitlist/queues.py``):

- ``name``: the queue;
- ``group``: the docker-compose worker service that serves it;
- ``concurrency``: that service's ``-c`` (every queue of a group declares the same);
- ``local_rank``: its place in the local worker's ``-Q`` list (Procfile), lowest first;
  with ``queue_order_strategy=priority`` the worker serves the first non-empty queue first.

What follows from the declarations:

- ``JOBS_QUEUES`` in the settings defaults to ``QUEUE_NAMES``;
- the ``-Q`` lists of Procfile (in ``local_rank`` order) and of every docker-compose worker
  service (with ``concurrency`` as ``-c``) are written by hand and checked against these
  declarations in CI by ``scripts/check_queues.py``.

The settings import this module, so it imports neither Django nor anything that does.
"""

from dataclasses import dataclass

from examples.queues import QUEUES as EXAMPLES_QUEUES
from tickets.queues import QUEUES as TICKETS_QUEUES
from waitlist.queues import QUEUES as WAITLIST_QUEUES

PLATFORM_QUEUES = [
    # Everything that declares no queue of its own.
    {"name": "default", "group": "worker-default", "concurrency": 4, "local_rank": 70},
    # The platform's housekeeping: the maintenance sweep, retention and alerts.
    {"name": "jobs.maintenance", "group": "worker-maintenance", "concurrency": 1, "local_rank": 80},
]


@dataclass(frozen=True)
class QueueDeclaration:
    name: str
    group: str
    concurrency: int
    local_rank: int
    declared_in: str


_KEYS = {"name": str, "group": str, "concurrency": int, "local_rank": int}

# Where each list is declared, in the order JOBS_QUEUES lists them.
_SOURCES = [
    ("config/queues.py", PLATFORM_QUEUES),
    ("waitlist/queues.py", WAITLIST_QUEUES),
    ("tickets/queues.py", TICKETS_QUEUES),
]


# The examples app is installed by the test and local settings only: its queues are checked
# with the others (no name or rank twice) but are not production's (QUEUES, QUEUE_NAMES).
_EXAMPLE_SOURCES = [("examples/queues.py", EXAMPLES_QUEUES)]


def _declarations(sources=_SOURCES) -> list[QueueDeclaration]:
    """The declarations of every app, refusing malformed or contradicting ones."""
    found: list[QueueDeclaration] = []
    for source, entries in sources:
        for entry in entries:
            if set(entry) != set(_KEYS) or not all(
                isinstance(entry[key], kind) and not isinstance(entry[key], bool)
                for key, kind in _KEYS.items()
            ):
                raise ValueError(
                    f"{source}: {entry!r} must have exactly the keys name (str), group (str), "
                    "concurrency (int) and local_rank (int)"
                )
            if entry["concurrency"] < 1:
                raise ValueError(f"{source}: queue {entry['name']!r}: concurrency must be >= 1")
            found.append(QueueDeclaration(**entry, declared_in=source))
    for attribute in ("name", "local_rank"):
        seen: dict[object, QueueDeclaration] = {}
        for queue in found:
            other = seen.setdefault(getattr(queue, attribute), queue)
            if other is not queue:
                raise ValueError(
                    f"{queue.declared_in}: queue {queue.name!r} has the same {attribute} as "
                    f"queue {other.name!r} of {other.declared_in}"
                )
    group_concurrency: dict[str, QueueDeclaration] = {}
    for queue in found:
        other = group_concurrency.setdefault(queue.group, queue)
        if other.concurrency != queue.concurrency:
            raise ValueError(
                f"{queue.declared_in}: queue {queue.name!r} gives group {queue.group!r} "
                f"concurrency {queue.concurrency}, queue {other.name!r} of {other.declared_in} "
                f"gives it {other.concurrency}"
            )
    return found


QUEUES: tuple[QueueDeclaration, ...] = tuple(_declarations())
# The examples' queues (validated together with production's), served by the Procfile's
# worker-examples and added to JOBS_QUEUES by the settings that install the app.
EXAMPLE_QUEUES: tuple[QueueDeclaration, ...] = tuple(
    _declarations([*_SOURCES, *_EXAMPLE_SOURCES])[len(QUEUES) :]
)
EXAMPLE_QUEUE_NAMES: tuple[str, ...] = tuple(queue.name for queue in EXAMPLE_QUEUES)
# The default of the JOBS_QUEUES setting: the platform's queues, then each app's.
QUEUE_NAMES: tuple[str, ...] = tuple(queue.name for queue in QUEUES)
# The local worker's -Q list (Procfile): the queue it serves first comes first.
LOCAL_WORKER_ORDER: tuple[str, ...] = tuple(
    queue.name for queue in sorted(QUEUES, key=lambda queue: queue.local_rank)
)


def worker_groups() -> dict[str, tuple[int, tuple[str, ...]]]:
    """docker-compose worker service -> (its concurrency, the queues it serves)."""
    groups: dict[str, tuple[int, tuple[str, ...]]] = {}
    for queue in QUEUES:
        concurrency, names = groups.get(queue.group, (queue.concurrency, ()))
        groups[queue.group] = (concurrency, (*names, queue.name))
    return groups
