"""One URL style for every API: a path answers with or without its trailing slash.

The job API's documented paths have no trailing slash, the waitlist's and the tickets' have
one; a client should not have to know which. For a path under ``/api/`` that matches no
route, the other form (slash added or removed) is tried and, if it matches, served in place
(no redirect, so a POST keeps its body). A path that matches in neither form answers a JSON
404, also with ``DEBUG`` on, where Django would show its HTML page.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

API_PREFIX = "/api/"


def _resolves(path: str, urlconf: str | None) -> bool:
    try:
        resolve(path, urlconf)
    except Resolver404:
        return False
    return True


class ApiPathFormsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX):
            urlconf = getattr(request, "urlconf", None)
            if not _resolves(path, urlconf):
                other = path[:-1] if path.endswith("/") else f"{path}/"
                if not _resolves(other, urlconf):
                    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
                request.path_info = other
        return self.get_response(request)
