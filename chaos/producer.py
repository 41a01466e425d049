"""The soak's Python producer: enqueues from Django transactions, as application code does.

Run by ``chaos.soak`` as ``python -m chaos.producer OUT SECONDS SEED RATE`` in the platform's
environment. Each transaction enqueues 1-4 jobs (atomic, non-atomic, failing-first-attempt,
delayed, deduplicated by ``job_key``, on the rate-limited queue) and then commits, or rolls
back on purpose. Every outcome is one JSON line in OUT:

- ``committed``: the ids the transaction's enqueues returned;
- ``rolled_back``: the ids of a transaction rolled back on purpose (none may ever run);
- ``error``: the transaction failed before its commit (the database was down): not accepted;
- ``uncertain``: the commit itself raised; PostgreSQL may or may not have committed.
"""

import json
import random
import sys
import time


class RollBackOnPurpose(Exception):
    pass


def main(out_path: str, seconds: float, seed: int, rate: float) -> None:
    import django

    django.setup()
    from django.db import DatabaseError, InterfaceError, connection, transaction

    from chaos.stack import LIMITED_QUEUE
    from tests.testapp import tasks

    rng = random.Random(seed)
    deadline = time.time() + seconds
    n = 0
    with open(out_path, "a", buffering=1) as out:
        while time.time() < deadline:
            n += 1
            rollback = rng.random() < 0.15
            calls = []
            for _ in range(rng.randint(1, 4)):
                n += 1
                key = f"py-{seed}-{n}"
                kind = rng.choices(["atomic", "plain", "flaky"], weights=[5, 3, 2])[0]
                task = {
                    "atomic": tasks.chaos_atomic,
                    "plain": tasks.chaos_plain,
                    "flaky": tasks.chaos_flaky,
                }[kind]
                options: dict = {}
                args: list = [key]
                if kind != "flaky":
                    args.append(round(rng.uniform(0.0, 0.4), 3))
                roll = rng.random()
                if roll < 0.2:
                    options["countdown"] = round(rng.uniform(0.5, 20), 2)
                elif roll < 0.3:
                    options["queue"] = LIMITED_QUEUE
                elif roll < 0.4 and not rollback:
                    # A few keys shared by neighbouring enqueues: while the first job with
                    # the key is live, the others return it.
                    options["job_key"] = f"py-key-{seed}-{n // 6}"
                calls.append((task, args, options))
            ids: list[str] = []
            started = time.time()
            committing = False
            try:
                with transaction.atomic():
                    for task, args, options in calls:
                        ids.append(str(task.apply_async(args, **options).id))
                    if rollback:
                        raise RollBackOnPurpose
                    committing = True
                outcome = "committed"
            except RollBackOnPurpose:
                outcome = "rolled_back"
            except (DatabaseError, InterfaceError) as exc:
                outcome = "uncertain" if committing else "error"
                ids.append(f"!{type(exc).__name__}")
                connection.close()
                time.sleep(0.3)
            out.write(
                json.dumps(
                    {
                        "t": started,
                        "outcome": outcome,
                        "ids": [i for i in ids if not i.startswith("!")],
                        "tasks": [c[0].name for c in calls],
                        "error": next((i[1:] for i in ids if i.startswith("!")), None),
                    }
                )
                + "\n"
            )
            time.sleep(rng.expovariate(rate))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
