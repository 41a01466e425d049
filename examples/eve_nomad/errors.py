class OAuthUnavailable(Exception):
    """The OAuth server did not answer (retried with exponential backoff)."""


class EsiRateLimited(Exception):
    """ESI refused for now (its error limit, HTTP 420): retried with exponential backoff."""
