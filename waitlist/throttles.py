"""Rate limits of the public confirm/decline pages (DRF's throttle machinery, per client IP)."""

from rest_framework.throttling import SimpleRateThrottle


class PublicLinkThrottle(SimpleRateThrottle):
    """``public_link`` rate from REST_FRAMEWORK settings, counted per client address in the
    shared cache, so every web process enforces the same budget. Signed-in users count by
    address too: the pages are for customers, not staff."""

    scope = "public_link"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
