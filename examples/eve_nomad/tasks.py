"""The EVE Nomad workers, with the retry strategies of its configuration table:
token refresh 3 x exponential 2 s, ESI data refresh 3 x exponential 2 s, historical data
2 x exponential 5 s, cache cleanup 1."""

from jobs import exponential, job_task

from . import CACHE_CLEANUP_QUEUE, ESI_REFRESH_QUEUE, HISTORICAL_DATA_QUEUE, TOKEN_REFRESH_QUEUE
from .errors import EsiRateLimited, OAuthUnavailable


@job_task(
    name="examples.eve_nomad.refresh_character_token",
    queue=TOKEN_REFRESH_QUEUE,
    priority="HIGH",
    max_attempts=3,
    backoff=exponential(2),
    autoretry_for=(OAuthUnavailable,),
)
def refresh_character_token(character_id: int, user_id: int) -> dict:
    from .services import character_token_refresh

    return character_token_refresh(character_id=character_id, user_id=user_id)


@job_task(
    name="examples.eve_nomad.refresh_expiring_tokens",
    queue=TOKEN_REFRESH_QUEUE,
    priority="HIGH",
    max_attempts=3,
    backoff=exponential(2),
)
def refresh_expiring_tokens() -> dict:
    from .services import expiring_tokens_refresh_queue

    return {"queued": expiring_tokens_refresh_queue()}


# ESI data refresh: 3 attempts, exponential 2 s ("ESI rate limits"); NORMAL unless the caller
# says otherwise (a user's request is HIGH). Only ESI's error limit is retried.
@job_task(
    name="examples.eve_nomad.refresh_esi_data",
    queue=ESI_REFRESH_QUEUE,
    priority="NORMAL",
    max_attempts=3,
    backoff=exponential(2),
    autoretry_for=(EsiRateLimited,),
)
def refresh_esi_data(
    character_id: int,
    user_id: int,
    endpoint: str,
    skip_cache: bool = False,
    requested_by: str = "system",
) -> dict:
    from .services import esi_data_refresh

    return esi_data_refresh(
        character_id=character_id,
        user_id=user_id,
        endpoint=endpoint,
        skip_cache=skip_cache,
        requested_by=requested_by,
    )


@job_task(
    name="examples.eve_nomad.collect_historical_data",
    queue=HISTORICAL_DATA_QUEUE,
    priority="LOW",
    max_attempts=2,
    backoff=exponential(5),
)
def collect_historical_data(
    character_id: int, user_id: int, data_type: str, from_date: str, to_date: str
) -> dict:
    from .services import historical_data_collect

    return historical_data_collect(
        character_id=character_id,
        user_id=user_id,
        data_type=data_type,
        from_date=from_date,
        to_date=to_date,
    )


@job_task(
    name="examples.eve_nomad.cleanup_cache",
    queue=CACHE_CLEANUP_QUEUE,
    priority="LOW",
    max_attempts=1,
)
def cleanup_cache(
    cleanup_type: str,
    pattern: str | None = None,
    max_size: int | None = None,
    dry_run: bool = False,
) -> dict:
    from .services import cache_cleanup

    return cache_cleanup(
        cleanup_type=cleanup_type, pattern=pattern, max_size=max_size, dry_run=dry_run
    )
