class OAuthUnavailable(Exception):
    """The OAuth server did not answer (retried with exponential backoff)."""
