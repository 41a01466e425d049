"""Error pages: API clients get JSON, people get Django's HTML pages."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    """A path under /api/ that matches no route answers like the API's own 404s."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
