"""Who may use the job administration API, and how often."""

from rest_framework.permissions import IsAdminUser
from rest_framework.settings import api_settings
from rest_framework.throttling import (
    AnonRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from jobs.conf import jobs_settings


class IsStaff(IsAdminUser):
    """Staff only: 401 without credentials, 403 for a signed-in non-staff user."""

    message = "Job administration is for staff users only."


class JobsAdminThrottle(SimpleRateThrottle):
    """Requests per user (or per address, before authentication) on the jobs API.

    The rate is read at request time, so ``override_settings(REST_FRAMEWORK=...)`` works;
    without a ``jobs_admin`` entry in DEFAULT_THROTTLE_RATES it is JOBS_API_THROTTLE_RATE.
    """

    scope = "jobs_admin"

    def get_rate(self):
        return (
            api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or jobs_settings().api_throttle_rate
        )

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


JOBS_API_PERMISSIONS = [IsStaff]
JOBS_API_THROTTLES = [AnonRateThrottle, UserRateThrottle, JobsAdminThrottle]
