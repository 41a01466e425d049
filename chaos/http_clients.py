"""API clients over HTTP (httpx, asyncio): the soak's HTTP producer and the load run's clients.

Every answer is recorded as one JSON line: when it was sent, how long it took, the endpoint,
the status (0: no answer, the connection failed or timed out) and, for an accepted enqueue,
the job id. Run by ``chaos.soak`` as ``python -m chaos.http_clients OUT BASE TOKEN SECONDS SEED
CLIENTS RATE``.
"""

import asyncio
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from chaos.stack import LIMITED_QUEUE

Record = Callable[[dict[str, Any]], None]


def soak_enqueue_body(rng: random.Random, n: int, seed: int) -> dict:
    """One of the soak's enqueues: atomic, non-atomic or failing-first-attempt tasks, some
    delayed, some deduplicated by job_key, some on the rate-limited queue."""
    kind = rng.choices(["atomic", "plain", "flaky"], weights=[5, 3, 2])[0]
    key = f"http-{seed}-{n}"
    body: dict[str, Any] = {"task": f"testapp.chaos_{kind}", "kwargs": {"key": key}}
    if kind != "flaky":
        body["kwargs"]["seconds"] = round(rng.uniform(0.0, 0.4), 3)
    roll = rng.random()
    if roll < 0.2:
        body["delay"] = int(rng.uniform(500, 20000))
    elif roll < 0.3:
        body["queue"] = LIMITED_QUEUE
    elif roll < 0.4:
        body["job_key"] = f"http-key-{seed}-{n // 6}"
    return body


async def call(
    client: httpx.AsyncClient, record: Record, endpoint: str, method: str, url: str, **kw
) -> httpx.Response | None:
    sent = time.time()
    started = time.perf_counter()
    try:
        answer = await client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        record(
            {
                "t": sent,
                "ms": (time.perf_counter() - started) * 1000,
                "endpoint": endpoint,
                "status": 0,
                "error": type(exc).__name__,
            }
        )
        return None
    entry: dict[str, Any] = {
        "t": sent,
        "ms": (time.perf_counter() - started) * 1000,
        "endpoint": endpoint,
        "status": answer.status_code,
    }
    if endpoint == "enqueue" and answer.status_code in (200, 201):
        entry["job_id"] = answer.json()["id"]
        entry["created"] = answer.status_code == 201
    record(entry)
    return answer


async def client_loop(
    *,
    base: str,
    token: str,
    deadline: float,
    rng: random.Random,
    record: Record,
    enqueue_body: Callable[[int], dict],
    mix: tuple[float, float, float],
    pause: Callable[[], float],
    known_ids: list[str],
) -> None:
    """One client: until the deadline, enqueue / read a job / read the metrics in ``mix``
    proportions, pausing ``pause()`` seconds between calls."""
    headers = {"Authorization": f"Bearer {token}"}
    n = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as client:
        while time.time() < deadline:
            n += 1
            what = rng.choices(["enqueue", "detail", "metrics"], weights=mix)[0]
            if what == "detail" and not known_ids:
                what = "enqueue"
            if what == "enqueue":
                answer = await call(
                    client, record, "enqueue", "POST", "/api/jobs/", json=enqueue_body(n)
                )
                if answer is not None and answer.status_code in (200, 201):
                    known_ids.append(answer.json()["id"])
                    del known_ids[:-1000]
            elif what == "detail":
                await call(client, record, "detail", "GET", f"/api/jobs/{rng.choice(known_ids)}")
            else:
                await call(client, record, "metrics", "GET", "/api/jobs/metrics")
            wait = pause()
            if wait:
                await asyncio.sleep(wait)


def soak_http_producer(
    out_path: str, base: str, token: str, seconds: float, seed: int, clients: int, rate: float
) -> None:
    """The soak's HTTP producer: ``clients`` clients sending ``rate`` requests/s in all."""
    deadline = time.time() + seconds
    known: list[str] = []
    with open(out_path, "a", buffering=1) as out:

        def record(entry: dict[str, Any]) -> None:
            out.write(json.dumps(entry) + "\n")

        async def run() -> None:
            loops = []
            for i in range(clients):
                rng = random.Random(f"{seed}-{i}")
                loops.append(
                    client_loop(
                        base=base,
                        token=token,
                        deadline=deadline,
                        rng=rng,
                        record=record,
                        enqueue_body=lambda n, rng=rng, i=i: soak_enqueue_body(
                            rng, n, seed * 1000 + i
                        ),
                        mix=(0.7, 0.2, 0.1),
                        pause=lambda rng=rng: rng.expovariate(rate / clients),
                        known_ids=known,
                    )
                )
            await asyncio.gather(*loops)

        asyncio.run(run())


if __name__ == "__main__":
    out, base, token, seconds, seed, clients, rate = sys.argv[1:8]
    soak_http_producer(out, base, token, float(seconds), int(seed), int(clients), float(rate))
