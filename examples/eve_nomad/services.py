"""The EVE Nomad services: queueing its jobs (``refreshCharacterToken``, ``refreshESIData``,
``refreshCharacterData``, ``collectHistoricalData``, ``collectAllHistoricalData``,
``cleanupCache``) and the work the jobs do."""

import re
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from jobs import InvalidInput, JobSpec, PermanentError, Priority, enqueue_many

from .errors import EsiRateLimited, OAuthUnavailable
from .models import CacheEntry, CharacterToken, HistoricalCollection, HistoricalDataType
from .tasks import (
    cleanup_cache,
    collect_historical_data,
    refresh_character_token,
    refresh_esi_data,
)

TOKEN_LIFETIME = timedelta(minutes=20)
# The refresh runs every 2 hours: it refreshes every token that would expire before the next.
REFRESH_AHEAD = timedelta(hours=2)
CLEANUP_TYPES = ("expired", "lru", "pattern", "all")


# --- token refresh ----------------------------------------------------------------------------
def token_refresh_queue(
    *, character_id: int, user_id: int, priority: Priority | str = Priority.HIGH
) -> str:
    """``refreshCharacterToken(characterId, userId, JobPriority.CRITICAL)``: the job id."""
    return refresh_character_token.apply_async(
        kwargs={"character_id": character_id, "user_id": user_id}, priority=priority
    ).id


def expiring_tokens_refresh_queue(*, limit: int = 1000) -> int:
    """The 2-hourly sweep: one HIGH refresh job per token expiring before the next sweep,
    written in one statement."""
    tokens = CharacterToken.objects.filter(expires_at__lt=timezone.now() + REFRESH_AHEAD).order_by(
        "expires_at"
    )[:limit]
    specs = [
        JobSpec(
            task=refresh_character_token.name,
            kwargs={"character_id": t.character_id, "user_id": t.user_id},
            priority=Priority.HIGH,
        )
        for t in tokens
    ]
    return len(enqueue_many(specs))


def character_token_refresh(*, character_id: int, user_id: int) -> dict:
    """Refresh one token. An OAuth outage is counted (committed) and then raised, so the job
    is retried with its exponential backoff."""
    with transaction.atomic():
        token = CharacterToken.objects.select_for_update().get(
            character_id=character_id, user_id=user_id
        )
        if token.oauth_outages:
            CharacterToken.objects.filter(pk=token.pk).update(oauth_outages=F("oauth_outages") - 1)
            outage = True
        else:
            now = timezone.now()
            CharacterToken.objects.filter(pk=token.pk).update(
                expires_at=now + TOKEN_LIFETIME,
                refreshed_at=now,
                refresh_count=F("refresh_count") + 1,
            )
            outage = False
    if outage:
        raise OAuthUnavailable(f"OAuth server unavailable refreshing character {character_id}")
    return {"character_id": character_id, "refreshed": True}


# --- ESI data refresh -------------------------------------------------------------------------
# The endpoint groups of ``refreshCharacterData`` and the ESI paths each one refreshes.
_CHARACTER = "/latest/characters/{character_id}/"
ENDPOINT_GROUPS: dict[str, tuple[str, ...]] = {
    "CHARACTER_OVERVIEW": ("", "location/", "ship/"),
    "CHARACTER_WALLET": ("wallet/", "wallet/journal/", "wallet/transactions/"),
    "CHARACTER_SKILLS": ("skills/", "skillqueue/", "attributes/"),
    "CHARACTER_ASSETS": ("assets/", "blueprints/"),
    "CHARACTER_INDUSTRY": ("industry/jobs/", "mining/"),
    "CHARACTER_MARKET": ("orders/",),
    "CHARACTER_MAIL": ("mail/", "mail/labels/"),
    "CHARACTER_NOTIFICATIONS": ("notifications/",),
}
ENDPOINT_GROUPS = {
    group: tuple(_CHARACTER + suffix for suffix in suffixes)
    for group, suffixes in ENDPOINT_GROUPS.items()
}
ESI_ENDPOINTS = frozenset(path for paths in ENDPOINT_GROUPS.values() for path in paths)
# How long a refreshed answer is served from the cache to callers that do not skip it.
ESI_CACHE_TTL = timedelta(minutes=5)


def esi_cache_key(character_id: int, endpoint: str) -> str:
    """``/latest/characters/{character_id}/wallet/journal/`` of character 7 ->
    ``esi:characters:7:wallet/journal`` (so ``cleanupCache('pattern', 'esi:characters:*')``
    finds it)."""
    suffix = endpoint.removeprefix(_CHARACTER).strip("/") or "info"
    return f"esi:characters:{character_id}:{suffix}"


def _esi_kwargs(character_id, user_id, endpoint, skip_cache, requested_by) -> dict:
    if endpoint not in ESI_ENDPOINTS:
        raise InvalidInput(f"unknown ESI endpoint {endpoint!r}", field="endpoint")
    return {
        "character_id": character_id,
        "user_id": user_id,
        "endpoint": endpoint,
        "skip_cache": skip_cache,
        "requested_by": requested_by,
    }


def esi_data_refresh_queue(
    *,
    character_id: int,
    user_id: int,
    endpoint: str,
    skip_cache: bool = False,
    priority: Priority | str = Priority.NORMAL,
    requested_by: str = "system",
) -> str:
    """``refreshESIData(characterId, userId, endpoint, {skipCache, priority, requestedBy})``:
    the job id."""
    return refresh_esi_data.apply_async(
        kwargs=_esi_kwargs(character_id, user_id, endpoint, skip_cache, requested_by),
        priority=priority,
    ).id


def character_data_refresh_queue(
    *,
    character_id: int,
    user_id: int,
    groups: list[str],
    skip_cache: bool = False,
    priority: Priority | str = Priority.NORMAL,
    requested_by: str = "system",
) -> list[str]:
    """``refreshCharacterData(characterId, userId, groups, {skipCache, priority})``: one job
    per endpoint of the groups, written in one statement; an unknown group queues nothing."""
    unknown = sorted(set(groups) - set(ENDPOINT_GROUPS))
    if unknown or not groups:
        raise InvalidInput(
            f"unknown endpoint groups {unknown}" if unknown else "no endpoint group given",
            field="groups",
        )
    endpoints = dict.fromkeys(path for group in groups for path in ENDPOINT_GROUPS[group])
    specs = [
        JobSpec(
            task=refresh_esi_data.name,
            kwargs=_esi_kwargs(character_id, user_id, endpoint, skip_cache, requested_by),
            priority=priority,
        )
        for endpoint in endpoints
    ]
    return [str(job.id) for job in enqueue_many(specs)]


def esi_data_refresh(
    *, character_id: int, user_id: int, endpoint: str, skip_cache: bool, requested_by: str
) -> dict:
    """Fetch one endpoint from the sandbox ESI into the cache. A fresh cached answer is kept
    unless the caller skips the cache. ESI's error limit is counted (committed) and then
    raised, so the job retries with its exponential backoff. Safe to run twice: the cache
    entry is written by key."""
    key = esi_cache_key(character_id, endpoint)
    now = timezone.now()
    if not skip_cache and CacheEntry.objects.filter(key=key, expires_at__gt=now).exists():
        CacheEntry.objects.filter(key=key).update(last_used_at=now)
        return {"endpoint": endpoint, "key": key, "cached": True}
    with transaction.atomic():
        token = CharacterToken.objects.select_for_update().get(
            character_id=character_id, user_id=user_id
        )
        limited = token.esi_rate_limited > 0
        if limited:
            CharacterToken.objects.filter(pk=token.pk).update(
                esi_rate_limited=F("esi_rate_limited") - 1
            )
    if limited:
        raise EsiRateLimited(f"ESI error limited refreshing {endpoint} of {character_id}")
    answer = {
        "endpoint": endpoint.format(character_id=character_id),
        "requested_by": requested_by,
        "fetched_at": now.isoformat(),
    }
    CacheEntry.objects.update_or_create(
        key=key,
        defaults={"value": answer, "expires_at": now + ESI_CACHE_TTL, "last_used_at": now},
    )
    return {"endpoint": endpoint, "key": key, "cached": False}


# --- historical data --------------------------------------------------------------------------
def historical_data_queue(
    *,
    character_id: int,
    user_id: int,
    data_type: str,
    from_date: date,
    to_date: date | None = None,
    priority: Priority | str = Priority.LOW,
) -> str:
    """``collectHistoricalData(characterId, userId, type, {fromDate, toDate, priority})``."""
    return collect_historical_data.apply_async(
        kwargs=_historical_kwargs(character_id, user_id, data_type, from_date, to_date),
        priority=priority,
    ).id


def historical_data_queue_all(
    *,
    character_id: int,
    user_id: int,
    from_date: date,
    to_date: date | None = None,
    priority: Priority | str = Priority.BATCH,
) -> list[str]:
    """``collectAllHistoricalData``: one job per data type, a batch in one write."""
    specs = [
        JobSpec(
            task=collect_historical_data.name,
            kwargs=_historical_kwargs(character_id, user_id, data_type, from_date, to_date),
            priority=priority,
        )
        for data_type in HistoricalDataType.values
    ]
    return [str(job.id) for job in enqueue_many(specs)]


def _historical_kwargs(character_id, user_id, data_type, from_date, to_date) -> dict:
    if data_type not in HistoricalDataType.values:
        raise InvalidInput(f"unknown data type {data_type!r}", field="data_type")
    to_date = to_date or timezone.now().date()
    if from_date > to_date:
        raise InvalidInput("fromDate is after toDate", field="from_date")
    return {
        "character_id": character_id,
        "user_id": user_id,
        "data_type": data_type,
        "from_date": from_date.isoformat(),
        "to_date": to_date.isoformat(),
    }


def historical_data_collect(
    *, character_id: int, user_id: int, data_type: str, from_date: str, to_date: str
) -> dict:
    """Collect one range once: a second run of the job finds it collected."""
    _, created = HistoricalCollection.objects.get_or_create(
        character_id=character_id,
        data_type=data_type,
        from_date=date.fromisoformat(from_date),
        to_date=date.fromisoformat(to_date),
        defaults={"user_id": user_id},
    )
    return {"data_type": data_type, "collected": created}


# --- cache cleanup ----------------------------------------------------------------------------
def cache_cleanup_queue(
    cleanup_type: str,
    *,
    pattern: str | None = None,
    max_size: int | None = None,
    dry_run: bool = False,
) -> str:
    """``cleanupCache(type, {pattern, maxSize, dryRun})``, checked before it is queued."""
    _check_cleanup(cleanup_type, pattern, max_size, error=InvalidInput)
    return cleanup_cache.apply_async(
        kwargs={
            "cleanup_type": cleanup_type,
            "pattern": pattern,
            "max_size": max_size,
            "dry_run": dry_run,
        }
    ).id


def _check_cleanup(cleanup_type, pattern, max_size, *, error) -> None:
    if cleanup_type not in CLEANUP_TYPES:
        raise error(f"cleanup type must be one of {', '.join(CLEANUP_TYPES)}")
    if cleanup_type == "pattern" and not pattern:
        raise error("a pattern cleanup needs a pattern")
    if cleanup_type == "lru" and (max_size is None or max_size < 0):
        raise error("an lru cleanup needs maxSize >= 0")


def glob_regex(pattern: str) -> str:
    """A glob (``esi:characters:*``) as an anchored regular expression for the database."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return "^" + "".join(parts) + "$"


def cache_entries_to_clean(
    cleanup_type: str, *, pattern: str | None = None, max_size: int | None = None
) -> QuerySet[CacheEntry]:
    """expired: past their expiry; pattern: keys matching the glob; lru: all but the
    ``max_size`` most recently used; all: every entry."""
    entries = CacheEntry.objects.all()
    if cleanup_type == "expired":
        return entries.filter(expires_at__lt=timezone.now())
    if cleanup_type == "pattern":
        return entries.filter(key__regex=glob_regex(pattern or ""))
    if cleanup_type == "lru":
        kept = CacheEntry.objects.order_by("-last_used_at", "-pk").values("pk")[: max_size or 0]
        return entries.exclude(pk__in=kept)
    return entries


def cache_cleanup(
    *,
    cleanup_type: str,
    pattern: str | None = None,
    max_size: int | None = None,
    dry_run: bool = False,
) -> dict:
    """Remove the entries of one cleanup type, in one statement; a dry run only counts them.
    Safe to run twice: a second run finds nothing left to remove."""
    _check_cleanup(cleanup_type, pattern, max_size, error=PermanentError)
    entries = cache_entries_to_clean(cleanup_type, pattern=pattern, max_size=max_size)
    matched = entries.count()
    removed = 0 if dry_run else entries.delete()[0]
    return {"type": cleanup_type, "dryRun": dry_run, "matched": matched, "removed": removed}
