"""The EVE Nomad platform's documented usage: token refresh (scheduled sweep, user request at
CRITICAL, OAuth outages retried on a real worker), ESI data refresh (endpoint groups, the
cache, ESI's error limit retried on a real worker), historical data batches, the cache
cleanup and the monitoring calls."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from examples.eve_nomad import (
    CACHE_CLEANUP_QUEUE,
    ESI_REFRESH_QUEUE,
    HISTORICAL_DATA_QUEUE,
    TOKEN_REFRESH_QUEUE,
)
from examples.eve_nomad.models import CacheEntry, CharacterToken, HistoricalCollection
from examples.eve_nomad.monitoring import (
    alerts_check,
    all_queue_metrics_get,
    failed_jobs_get,
    job_activity_summary_get,
    job_system_health_get,
    queue_metrics_get,
)
from examples.eve_nomad.services import (
    ENDPOINT_GROUPS,
    cache_cleanup,
    cache_cleanup_queue,
    character_data_refresh_queue,
    esi_data_refresh_queue,
    expiring_tokens_refresh_queue,
    historical_data_collect,
    historical_data_queue,
    historical_data_queue_all,
    token_refresh_queue,
)
from examples.eve_nomad.tasks import (
    cleanup_cache,
    collect_historical_data,
    refresh_character_token,
    refresh_esi_data,
    refresh_expiring_tokens,
)
from examples.tests.ledger import Job
from jobs import InvalidInput, assert_enqueued, run_enqueued_jobs
from tests.support.waiting import wait_for


def token(character_id: int, expires_in: timedelta, **fields) -> CharacterToken:
    return CharacterToken.objects.create(
        character_id=character_id,
        user_id=7,
        expires_at=timezone.now() + expires_in,
        **fields,
    )


def cache_entry(key: str, *, expires_in: timedelta | None = None, used_ago: int = 0):
    now = timezone.now()
    return CacheEntry.objects.create(
        key=key,
        expires_at=now + expires_in if expires_in is not None else None,
        last_used_at=now - timedelta(minutes=used_ago),
    )


# --- on a real worker -------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_token_refresh_survives_an_oauth_outage_with_exponential_backoff(examples_worker):
    token(90001, timedelta(minutes=5), oauth_outages=1)

    job_id = token_refresh_queue(character_id=90001, user_id=7, priority="CRITICAL")

    job = Job.objects.get(id=job_id)
    assert job.priority_name == "CRITICAL" and job.queue == TOKEN_REFRESH_QUEUE
    # The first attempt meets the outage; the retry 2 s later refreshes the token.
    wait_for(lambda: Job.objects.get(id=job_id).status == "completed", timeout=30)
    job.refresh_from_db()
    assert job.attempts == 2 and job.max_attempts == 3
    refreshed = CharacterToken.objects.get(character_id=90001)
    assert refreshed.refresh_count == 1 and refreshed.oauth_outages == 0
    assert refreshed.expires_at > timezone.now() + timedelta(minutes=15)
    assert [a.outcome for a in job.attempt_history.order_by("number")] == ["retried"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_scheduled_sweep_and_cache_cleanup_run_on_a_worker(examples_worker):
    token(1, timedelta(minutes=30))
    token(2, timedelta(days=1))
    cache_entry("esi:characters:1:wallet", expires_in=timedelta(minutes=-1))
    cache_entry("esi:characters:1:skills", expires_in=timedelta(hours=1))

    sweep = refresh_expiring_tokens.apply_async()
    cleanup = cache_cleanup_queue("expired")

    wait_for(lambda: CharacterToken.objects.get(character_id=1).refresh_count == 1)
    wait_for(lambda: Job.objects.get(id=cleanup).status == "completed")
    assert Job.objects.get(id=sweep.id).result == {"queued": 1}
    assert CharacterToken.objects.get(character_id=2).refresh_count == 0
    assert list(CacheEntry.objects.values_list("key", flat=True)) == ["esi:characters:1:skills"]
    assert Job.objects.get(id=cleanup).result == {
        "type": "expired",
        "dryRun": False,
        "matched": 1,
        "removed": 1,
    }


# --- through the ledger, in process ------------------------------------------------------------
@pytest.mark.django_db
def test_sweep_queues_high_refreshes_and_a_user_request_is_critical():
    token(1, timedelta(minutes=10))
    token(2, timedelta(minutes=90))
    token(3, timedelta(hours=5))

    assert expiring_tokens_refresh_queue() == 2
    token_refresh_queue(character_id=3, user_id=7, priority="CRITICAL")

    queued = assert_enqueued(task=refresh_character_token)
    by_character = {job.kwargs["character_id"]: job.priority_name for job in queued}
    assert by_character == {1: "HIGH", 2: "HIGH", 3: "CRITICAL"}


@pytest.mark.django_db
def test_historical_data_batch_is_queued_at_batch_priority_and_collected_once():
    ids = historical_data_queue_all(character_id=5, user_id=7, from_date=date(2025, 1, 1))
    single = historical_data_queue(
        character_id=5,
        user_id=7,
        data_type="wallet_journal",
        from_date=date(2025, 1, 1),
        to_date=date(2025, 10, 18),
    )

    jobs = Job.objects.filter(id__in=ids)
    assert len(ids) == 5 and {j.priority_name for j in jobs} == {"BATCH"}
    assert {j.queue for j in jobs} == {HISTORICAL_DATA_QUEUE} and {
        j.max_attempts for j in jobs
    } == {2}
    assert Job.objects.get(id=single).priority_name == "LOW"

    run_enqueued_jobs(task=collect_historical_data)

    assert HistoricalCollection.objects.count() == 6
    job = Job.objects.get(id=single)
    assert job.result == {"data_type": "wallet_journal", "collected": True}
    # The same range collected again (a redelivered job) adds nothing.
    assert historical_data_collect(**job.kwargs) == {
        "data_type": "wallet_journal",
        "collected": False,
    }
    assert HistoricalCollection.objects.count() == 6
    with pytest.raises(InvalidInput):
        historical_data_queue(
            character_id=5, user_id=7, data_type="killmails", from_date=date(2025, 1, 1)
        )


@pytest.mark.django_db
def test_cache_cleanup_types_and_dry_run():
    cache_entry("esi:characters:1:wallet", expires_in=timedelta(minutes=-5), used_ago=1)
    cache_entry("esi:characters:2:wallet", expires_in=timedelta(hours=1), used_ago=50)
    cache_entry("esi:universe:types", used_ago=10)
    cache_entry("esi:markets:prices", used_ago=30)

    dry = cache_cleanup(cleanup_type="expired", dry_run=True)
    assert dry == {"type": "expired", "dryRun": True, "matched": 1, "removed": 0}
    assert CacheEntry.objects.count() == 4

    assert cache_cleanup(cleanup_type="expired")["removed"] == 1
    assert cache_cleanup(cleanup_type="expired")["removed"] == 0
    assert cache_cleanup(cleanup_type="pattern", pattern="esi:characters:*")["removed"] == 1
    # LRU down to one entry: the most recently used stays.
    assert cache_cleanup(cleanup_type="lru", max_size=1)["removed"] == 1
    assert list(CacheEntry.objects.values_list("key", flat=True)) == ["esi:universe:types"]
    assert cache_cleanup(cleanup_type="all")["removed"] == 1

    with pytest.raises(InvalidInput):
        cache_cleanup_queue("pattern")
    job_id = cache_cleanup_queue("expired", dry_run=True)
    job = Job.objects.get(id=job_id)
    assert (job.queue, job.priority_name, job.max_attempts) == (CACHE_CLEANUP_QUEUE, "LOW", 1)
    assert job.kwargs["dry_run"] is True
    assert_enqueued(task=cleanup_cache, kwargs=job.kwargs)


@pytest.mark.django_db
def test_metrics_failed_jobs_health_and_alerts(settings, mailoutbox):
    settings.JOBS_ALERT_WAITING_THRESHOLD = 3
    token(1, timedelta(minutes=5))
    failing = token_refresh_queue(character_id=404, user_id=7)  # no such token: fails
    ok = token_refresh_queue(character_id=1, user_id=7)
    run_enqueued_jobs(task=refresh_character_token)
    historical_data_queue_all(character_id=5, user_id=7, from_date=date(2025, 1, 1))

    metrics = queue_metrics_get(queue=TOKEN_REFRESH_QUEUE)
    assert (metrics["completed"], metrics["failed"], metrics["total"]) == (1, 1, 2)
    assert metrics["failureRate"] == 50.0 and metrics["avgProcessingTime"] is not None
    assert HISTORICAL_DATA_QUEUE in {q["queueName"] for q in all_queue_metrics_get()}
    summary = job_activity_summary_get()
    assert summary["failedJobs"] == 1 and summary["waitingJobs"] == 5
    [failed] = failed_jobs_get()
    assert failed["jobId"] == failing and failed["queueName"] == TOKEN_REFRESH_QUEUE
    assert "DoesNotExist" in failed["failedReason"] and failed["attemptsMade"] == 1
    assert Job.objects.get(id=ok).status == "completed"

    # Queue backup: more waiting jobs than the threshold opens an alert, mailed once.
    outcome = alerts_check()
    assert f"queue_backlog:{HISTORICAL_DATA_QUEUE}" in outcome["opened"]
    health = job_system_health_get()
    assert health["healthy"] is False
    assert any(a["subject"] == HISTORICAL_DATA_QUEUE for a in health["alerts"])
    assert set(health) >= {"queues", "scheduledJobs", "workers"}


# --- ESI data refresh -------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_esi_wallet_refresh_survives_the_error_limit_with_exponential_backoff(examples_worker):
    token(90002, timedelta(hours=1), esi_rate_limited=1)

    job_ids = character_data_refresh_queue(
        character_id=90002, user_id=7, groups=["CHARACTER_WALLET"], skip_cache=True
    )

    assert len(job_ids) == 3  # wallet, journal, transactions
    wait_for(
        lambda: Job.objects.filter(id__in=job_ids, status="completed").count() == 3, timeout=30
    )
    jobs = list(Job.objects.filter(id__in=job_ids))
    assert {(j.queue, j.priority_name, j.max_attempts) for j in jobs} == {
        (ESI_REFRESH_QUEUE, "NORMAL", 3)
    }
    # One request met ESI's error limit; its job's retry 2 s later fetched the data.
    assert sorted(j.attempts for j in jobs) == [1, 1, 2]
    assert CharacterToken.objects.get(character_id=90002).esi_rate_limited == 0
    assert set(CacheEntry.objects.values_list("key", flat=True)) == {
        "esi:characters:90002:wallet",
        "esi:characters:90002:wallet/journal",
        "esi:characters:90002:wallet/transactions",
    }


@pytest.mark.django_db
def test_esi_refresh_uses_a_fresh_cache_unless_skipped_and_refuses_unknown_endpoints():
    token(5, timedelta(hours=1))
    wallet = "/latest/characters/{character_id}/wallet/"

    first = esi_data_refresh_queue(
        character_id=5, user_id=7, endpoint=wallet, priority="HIGH", requested_by="user"
    )
    run_enqueued_jobs(task=refresh_esi_data)
    again = esi_data_refresh_queue(character_id=5, user_id=7, endpoint=wallet)
    forced = esi_data_refresh_queue(character_id=5, user_id=7, endpoint=wallet, skip_cache=True)
    run_enqueued_jobs(task=refresh_esi_data)

    assert Job.objects.get(id=first).priority_name == "HIGH"
    assert Job.objects.get(id=again).priority_name == "NORMAL"
    assert Job.objects.get(id=first).result["cached"] is False
    assert Job.objects.get(id=again).result["cached"] is True
    assert Job.objects.get(id=forced).result["cached"] is False
    entry = CacheEntry.objects.get(key="esi:characters:5:wallet")
    assert entry.value["endpoint"] == "/latest/characters/5/wallet/"
    assert entry.value["requested_by"] == "system"  # the forced refresh wrote it last
    assert len(ENDPOINT_GROUPS) == 8
    with pytest.raises(InvalidInput) as bad_endpoint:
        esi_data_refresh_queue(character_id=5, user_id=7, endpoint="/latest/killmails/")
    with pytest.raises(InvalidInput) as bad_group:
        character_data_refresh_queue(character_id=5, user_id=7, groups=["CHARACTER_KILLS"])
    assert (bad_endpoint.value.field, bad_group.value.field) == ("endpoint", "groups")
    # A character without a token fails at once: only ESI's error limit is retried.
    missing = esi_data_refresh_queue(character_id=404, user_id=7, endpoint=wallet)
    run_enqueued_jobs(task=refresh_esi_data)
    assert (Job.objects.get(id=missing).status, Job.objects.get(id=missing).attempts) == (
        "failed",
        1,
    )
