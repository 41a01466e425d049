"""The soak's audit: what the producers were told, what the ledger and the effects table
hold, what the chaos log says happened. Reads the private database with plain SQL.

Lines marked ``must_be_zero`` fail the soak when they are not 0.
"""

import json
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg

CHAOS_TASKS = ("testapp.chaos_atomic", "testapp.chaos_plain", "testapp.chaos_flaky")
ATOMIC_TASKS = ("testapp.chaos_atomic", "testapp.chaos_flaky")
LIVE = ("delayed", "waiting", "active")

# An HTTP answer counts as inside a PostgreSQL outage when it overlaps the window between the
# stop and the server answering again, widened by this much on each side (connections made
# just before the stop, a first query just after the start).
OUTAGE_GRACE_SECONDS = 2.0
# A 503 this soon after PostgreSQL answers again is still the outage's: a web process notices
# the database is back when its pool's next connection attempt succeeds, and the pool retries
# with backoff (1 s, 2 s, 4 s); clients were told Retry-After: 5. Such 503s are counted on
# a line of their own, with the slowest recovery, and only a 503 gets this allowance.
RECOVERY_SECONDS = 8.0


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        if line.strip():
            with suppress(ValueError):  # a line cut by a kill
                lines.append(json.loads(line))
    return lines


def outage_windows(events: list[dict[str, Any]], fault: str) -> list[tuple[float, float]]:
    windows, down = [], None
    for event in events:
        if event["fault"] != fault:
            continue
        if event["phase"] == "down":
            down = event["t"]
        elif event["phase"] in ("up", "error") and down is not None:
            windows.append((down, event["t"]))
            down = None
    if down is not None:
        windows.append((down, time.time()))
    return windows


def overlaps(answer: dict[str, Any], windows: list[tuple[float, float]]) -> bool:
    start, end = answer["t"], answer["t"] + answer.get("ms", 0) / 1000
    return any(
        start <= up + OUTAGE_GRACE_SECONDS and end >= down - OUTAGE_GRACE_SECONDS
        for down, up in windows
    )


def live_chaos_jobs(db_url: str) -> int:
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        row = conn.execute(
            "select count(*) from jobs_job where task = any(%s) and status = any(%s)",
            [list(CHAOS_TASKS), list(LIVE)],
        ).fetchone()
        return int(row[0]) if row else 0


def audit(
    *,
    db_url: str,
    producer_lines: list[dict[str, Any]],
    http_lines: list[dict[str, Any]],
    chaos_events: list[dict[str, Any]],
) -> dict[str, Any]:
    accepted_py = {
        i for line in producer_lines if line["outcome"] == "committed" for i in line["ids"]
    }
    accepted_http = {line["job_id"] for line in http_lines if line.get("job_id")}
    accepted = accepted_py | accepted_http
    rolled_back = {i for ln in producer_lines if ln["outcome"] == "rolled_back" for i in ln["ids"]}
    uncertain = {i for ln in producer_lines if ln["outcome"] == "uncertain" for i in ln["ids"]}

    with psycopg.connect(db_url, connect_timeout=5) as conn:
        rows = {
            str(r[0]): {
                "id": str(r[0]),
                "task": r[1],
                "status": r[2],
                "attempts": r[3],
                "crash_count": r[4],
                "error": (r[5] or "")[:300],
                "worker": r[6],
            }
            for r in conn.execute(
                "select id, task, status, attempts, crash_count, error, worker from jobs_job "
                "where task = any(%s)",
                [list(CHAOS_TASKS)],
            )
        }
        effects: dict[str, list[dict[str, Any]]] = {}
        for job_id, task, attempt, pid, parent_pid, at in conn.execute(
            "select job_id, task, attempt, pid, parent_pid, extract(epoch from created_at) "
            "from testapp_chaoseffect order by created_at"
        ):
            effects.setdefault(job_id, []).append(
                {
                    "task": task,
                    "attempt": attempt,
                    "pid": pid,
                    "parent_pid": parent_pid,
                    "t": float(at),
                }
            )

    # --- rolled back, lost, unfinished ------------------------------------------------------
    rolled_back_ran = sorted(i for i in rolled_back if i in rows or i in effects)
    lost = sorted(i for i in accepted if i not in rows)
    still_live = sorted(i for i, r in rows.items() if r["status"] in LIVE)
    not_completed = sorted(
        i for i in accepted if i in rows and rows[i]["status"] in ("failed", "cancelled")
    )

    # --- effects ----------------------------------------------------------------------------
    atomic_wrong = sorted(
        i
        for i, r in rows.items()
        if r["task"] in ATOMIC_TASKS and r["status"] == "completed" and len(effects.get(i, [])) != 1
    )
    # Effects of a job with no completed row (an atomic effect must never outlive its attempt).
    atomic_orphans = sorted(
        i
        for i, found in effects.items()
        if found[0]["task"] in ATOMIC_TASKS and rows.get(i, {}).get("status") != "completed"
    )
    kills = [
        e
        for e in chaos_events
        if (e["fault"], e["phase"])
        in (("kill_worker", "sigkill"), ("freeze_worker", "sigstop"), ("crashed", "exited"))
    ]

    def explained_by(effect: dict[str, Any]) -> dict[str, Any] | None:
        for event in kills:
            pids = {event["pid"], *event.get("children", [])}
            if (effect["parent_pid"] in pids or effect["pid"] in pids) and event["t"] >= (
                effect["t"] - 1
            ):
                return event
        return None

    duplicates, unexplained = [], []
    for job_id, found in effects.items():
        if found[0]["task"] != "testapp.chaos_plain" or len(found) < 2:
            continue
        reasons = [explained_by(effect) for effect in found[:-1]]
        duplicates.append(
            {
                "job_id": job_id,
                "effects": len(found),
                "explained_by": [
                    f"{r['fault']} {r.get('target')} pid {r['pid']} at {r['t']:.1f}" if r else None
                    for r in reasons
                ],
            }
        )
        if not all(reasons):
            unexplained.append({"job_id": job_id, "effects": found})

    crashes = [e for e in chaos_events if (e["fault"], e["phase"]) == ("crashed", "exited")]

    # --- HTTP ---------------------------------------------------------------------------------
    pg_windows = outage_windows(chaos_events, "restart_postgres")
    redis_windows = outage_windows(chaos_events, "restart_redis")
    by_status: dict[str, int] = {}
    for answer in http_lines:
        by_status[str(answer["status"])] = by_status.get(str(answer["status"]), 0) + 1
    recovering = [(up, up + RECOVERY_SECONDS) for _, up in pg_windows]
    in_recovery = [
        a
        for a in http_lines
        if a["status"] == 503 and not overlaps(a, pg_windows) and overlaps(a, recovering)
    ]
    bad_5xx = [
        a
        for a in http_lines
        if a["status"] >= 500 and not (a["status"] == 503 and overlaps(a, pg_windows + recovering))
    ]
    bad_in_redis = [a for a in bad_5xx if overlaps(a, redis_windows)]
    bad_in_pg = [a for a in bad_5xx if overlaps(a, pg_windows)]

    def sample(ids: list[str]) -> list[dict[str, Any]]:
        return [rows.get(i, {"id": i}) | {"effects": effects.get(i, [])} for i in ids[:20]]

    return {
        "accepted": len(accepted),
        "accepted_python": len(accepted_py),
        "accepted_http": len(accepted_http),
        "rolled_back_enqueues": len(rolled_back),
        "uncertain_commits": len(uncertain),
        "producer_errors": sum(1 for ln in producer_lines if ln["outcome"] == "error"),
        "jobs_in_ledger": len(rows),
        "rolled_back_ran": len(rolled_back_ran),
        "lost": len(lost),
        "not_completed": len(not_completed),
        "not_completed_by_error": _count_by(
            f"{rows[i]['status']}: {rows[i]['error'][:80]}" for i in not_completed
        ),
        "still_live": len(still_live),
        "atomic_effects_not_1": len(atomic_wrong) + len(atomic_orphans),
        "plain_duplicate_effects": len(duplicates),
        "plain_duplicates_unexplained": len(unexplained),
        "processes_exited_by_themselves": len(crashes),
        "http_answers": len(http_lines),
        "http_by_status": dict(sorted(by_status.items())),
        "http_5xx_not_503_in_pg_outage": len(bad_5xx),
        "http_503_while_reconnecting": len(in_recovery),
        "slowest_recovery_seconds": round(
            max(
                (a["t"] - max(up for _, up in pg_windows if up <= a["t"]) for a in in_recovery),
                default=0.0,
            ),
            1,
        ),
        "http_5xx_bad_during_redis_outage": len(bad_in_redis),
        "http_5xx_bad_during_pg_outage": len(bad_in_pg),
        "pg_outages": [[round(d, 3), round(u, 3)] for d, u in pg_windows],
        "redis_outages": [[round(d, 3), round(u, 3)] for d, u in redis_windows],
        "details": {
            "rolled_back_ran": sample(rolled_back_ran),
            "lost": lost[:20],
            "not_completed": sample(not_completed),
            "still_live": sample(still_live),
            "atomic_effects_not_1": sample(atomic_wrong + atomic_orphans),
            "plain_duplicates": duplicates[:50],
            "plain_duplicates_unexplained": unexplained[:20],
            "http_5xx_bad": bad_5xx[:50],
            "processes_exited_by_themselves": crashes,
        },
    }


def _count_by(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


MUST_BE_ZERO = (
    "rolled_back_ran",
    "lost",
    "not_completed",
    "still_live",
    "atomic_effects_not_1",
    "plain_duplicates_unexplained",
    "http_5xx_not_503_in_pg_outage",
)

LABELS = {
    "accepted": "accepted enqueues (Python commits + HTTP 200/201)",
    "rolled_back_enqueues": "enqueues in transactions rolled back on purpose",
    "uncertain_commits": "enqueues whose COMMIT raised (outcome unknown, not counted)",
    "producer_errors": "Python transactions failed before COMMIT (not accepted)",
    "rolled_back_ran": "rolled-back enqueues that have a row or ran",
    "lost": "jobs lost: accepted, no ledger row",
    "not_completed": "jobs accepted that ended failed/cancelled",
    "still_live": "jobs not finished within the settle bound",
    "atomic_effects_not_1": "atomic jobs whose effects != 1",
    "plain_duplicate_effects": "non-atomic jobs with duplicate effects",
    "plain_duplicates_unexplained": "  of which not explained by a kill/freeze of their worker",
    "processes_exited_by_themselves": "platform processes that exited by themselves (restarted)",
    "http_answers": "HTTP answers",
    "http_5xx_not_503_in_pg_outage": "HTTP 5xx other than 503 during a PostgreSQL outage",
    "http_5xx_bad_during_redis_outage": "  of which during a Redis outage",
    "http_5xx_bad_during_pg_outage": "  of which during a PostgreSQL outage",
    "http_503_while_reconnecting": "HTTP 503 within 8 s after PostgreSQL was back (reconnecting)",
    "slowest_recovery_seconds": "  latest of those, seconds after PostgreSQL was back",
}


def failures(report: dict[str, Any]) -> list[str]:
    return [key for key in MUST_BE_ZERO if report["audit"][key]]


def render(report: dict[str, Any]) -> str:
    a = report["audit"]
    lines = [
        f"chaos soak: seed {report['seed']}, {report['chaos_seconds']:.0f} s of chaos, "
        f"settled in {report['settle_seconds']:.1f} s (bound {report['settle_bound']} s)",
        "faults: " + ", ".join(f"{k} x{v}" for k, v in sorted(report["faults"].items())),
        "",
        f"{'line':<64} {'value':>8}  must be 0",
        "-" * 85,
    ]
    for key, label in LABELS.items():
        mark = ("OK" if not a[key] else "FAIL") if key in MUST_BE_ZERO else ""
        lines.append(f"{label:<64} {a[key]:>8}  {mark}")
    lines.append(
        "HTTP answers by status: " + ", ".join(f"{k}: {v}" for k, v in a["http_by_status"].items())
    )
    lines += [
        "",
        f"{'process':<10} {'RSS start kB':>13} {'RSS end kB':>11} {'growth':>8} {'restarts':>9}",
    ]
    for name, mem in report["memory"].items():
        growth = (mem["end_kb"] - mem["start_kb"]) if mem["start_kb"] else 0
        lines.append(
            f"{name:<10} {mem['start_kb']:>13} {mem['end_kb']:>11} {growth:>+8} "
            f"{mem['restarts']:>9}"
        )
    for why, count in a["not_completed_by_error"].items():
        lines.append(f"not completed: {count} x {why}")
    for crash in a["details"]["processes_exited_by_themselves"]:
        stamp = time.strftime("%H:%M:%S", time.localtime(crash["t"]))
        lines.append(
            f"exited by itself: {crash['target']} pid {crash['pid']} at {stamp}: "
            f"{crash.get('reason', '')[:160]}"
        )
    failed = failures(report)
    lines += ["", "RESULT: " + ("PASS" if not failed else "FAIL (" + ", ".join(failed) + ")")]
    return "\n".join(lines)
