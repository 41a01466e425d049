from django.db import models


class CharacterToken(models.Model):
    """A character's OAuth token (the value itself is never stored in a job)."""

    character_id = models.BigIntegerField(unique=True)
    user_id = models.BigIntegerField()
    expires_at = models.DateTimeField()
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    # The sandbox OAuth server is down for this many refreshes (a transient error).
    oauth_outages = models.PositiveSmallIntegerField(default=0)
    # The sandbox ESI answers "error limited" (HTTP 420) to this many requests (transient).
    esi_rate_limited = models.PositiveSmallIntegerField(default=0)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return f"token of character {self.character_id}"


class HistoricalDataType(models.TextChoices):
    WALLET_JOURNAL = "wallet_journal"
    WALLET_TRANSACTIONS = "wallet_transactions"
    MARKET_ORDERS = "market_orders"
    INDUSTRY_JOBS = "industry_jobs"
    SKILL_HISTORY = "skill_history"


class HistoricalCollection(models.Model):
    """One collected range of one data type for one character."""

    character_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    data_type = models.CharField(max_length=30, choices=HistoricalDataType.choices)
    from_date = models.DateField()
    to_date = models.DateField()
    collected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "examples"
        constraints = [
            models.UniqueConstraint(
                fields=["character_id", "data_type", "from_date", "to_date"],
                name="examples_historical_range_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.data_type} {self.from_date}..{self.to_date}"


class CacheEntry(models.Model):
    """A cached ESI answer."""

    key = models.CharField(max_length=200, unique=True)
    value = models.JSONField(default=dict)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_used_at = models.DateTimeField(db_index=True)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return self.key
