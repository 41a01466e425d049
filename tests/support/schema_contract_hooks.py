"""Schemathesis hooks of the schema contract run (tests/test_schema_contract.py).

Loaded by the ``schemathesis`` command through ``SCHEMATHESIS_HOOKS``; it reads the objects
the test created from ``SCHEMA_CONTRACT_WORLD`` (JSON). The hooks change what is generated,
never what is checked:

- Real objects in the path. A case whose path parameters are valid gets the tenant, event,
  booking, job, queue and schedule the test created, so it reaches the views' validation
  instead of a 404 for an unknown tenant. A case whose path is the invalid part keeps its
  generated path. (Schemathesis' own ``parameters`` setting pins a value even into the
  cases meant to make that very parameter invalid, and then reports the valid request it
  sent as invalid data accepted.)
- Rules JSON Schema cannot state, because they depend on the clock or on the rows already
  there: a slot's ``starts_at`` must be in the future and a job's ``run_at`` at most ten
  years ahead; an email may wait only once per target (a second join is a 400
  ``duplicate``), an entry's ``slot`` must be one of the tenant's slots and seat ids must
  be seats of the event (else a 400 ``seat_not_found``); a job's ``args`` and ``kwargs``
  must fit its task's signature (else a 400 naming ``args``), so a valid job body names
  ``jobs.noop``, which takes any. A case meant to be valid gets values inside these rules;
  invalid cases are left as generated.
"""

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import schemathesis
from schemathesis.core.parameters import ParameterLocation

WORLD = json.loads(os.environ.get("SCHEMA_CONTRACT_WORLD", "{}"))
_JOINED: set[str] = set()  # emails of valid joins sent so far
ANY_ARGUMENTS_TASK = "jobs.noop"  # noop(*args, **kwargs)


def _path_values(path: str) -> dict[str, str]:
    values = dict(WORLD.get("path", {}))
    if path.startswith("/api/tickets/"):
        values["name"] = "release-expired-locks"
    return values


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def _within_rules(body: dict, path: str) -> None:
    """Move the values of a valid body that depend on the clock or the rows inside their rules."""
    if path.startswith("/api/waitlist/") and body.get("starts_at") is not None:
        body["starts_at"] = _soon()
    if path.endswith("/entries/") and isinstance(body.get("email"), str):
        if body["email"].lower() in _JOINED:
            body["email"] = f"{uuid.uuid4().hex}@example.com"
        _JOINED.add(body["email"].lower())
        if body.get("slot") is not None:
            body["slot"] = WORLD["slot"]
    if path.startswith("/api/tickets/") and isinstance(body.get("seat_ids"), list):
        body["seat_ids"] = WORLD["seats"][: max(1, min(len(body["seat_ids"]), len(WORLD["seats"])))]
    if path.startswith("/api/jobs/") and body.get("run_at") is not None:
        body["run_at"] = _soon()
    if path.rstrip("/") == "/api/jobs" and isinstance(body.get("task"), str):
        body["task"] = ANY_ARGUMENTS_TASK
    for job in body.get("jobs") or ():
        if isinstance(job, dict) and job.get("run_at") is not None:
            job["run_at"] = _soon()
        if isinstance(job, dict) and isinstance(job.get("task"), str):
            job["task"] = ANY_ARGUMENTS_TASK


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None:
        return case
    if case.path_parameters and not meta.is_negative_at(ParameterLocation.PATH):
        for name, value in _path_values(case.operation.path).items():
            if name in case.path_parameters:
                case.path_parameters[name] = value
    if isinstance(case.body, dict) and not meta.is_negative_at(ParameterLocation.BODY):
        _within_rules(case.body, case.operation.path)
    return case
