"""The dashboard's pages, staff only, in the admin's own look (``admin/base_site.html``)."""

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jobs.scheduling.operations import (
    ScheduleNotFound,
    schedule_run_now,
    schedule_set_enabled,
)
from jobs.web.dashboard import panels

SCHEDULE_ACTIONS = ("run", "enable", "disable")
# Changing a schedule is changing a django-celery-beat PeriodicTask.
CHANGE_SCHEDULES = "django_celery_beat.change_periodictask"


def _page(request: HttpRequest, template: str, tab: str, title: str, **context) -> HttpResponse:
    return TemplateResponse(
        request,
        f"admin/jobs/dashboard/{template}",
        {
            **admin.site.each_context(request),
            # The queue table needs the page's width: the app sidebar would push it past a
            # 1400 px screen (as on the job list).
            "is_nav_sidebar_enabled": False,
            "title": title,
            "tab": tab,
            **context,
        },
    )


@staff_member_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "overview.html",
        "overview",
        "Jobs dashboard",
        **panels.overview(),
        attention=panels.attention(),
    )


@staff_member_required
@require_GET
def live(request: HttpRequest) -> HttpResponse:
    return _page(request, "live.html", "live", "Running jobs and workers", live=panels.live())


@staff_member_required
@require_GET
def live_json(request: HttpRequest) -> JsonResponse:
    """The live page's fallback: polled when the WebSocket is not connected, and every few
    seconds anyway for what the stream does not carry (workers, jobs started elsewhere)."""
    return JsonResponse(panels.live())


@staff_member_required
@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "schedules.html",
        "schedules",
        "Schedules",
        schedules=panels.schedules(),
        can_change=request.user.has_perm(CHANGE_SCHEDULES),
    )


@staff_member_required
@require_POST
def schedule_action(request: HttpRequest) -> HttpResponse:
    """Run a schedule now, or enable or disable it (a form POST with the CSRF token)."""
    back = HttpResponseRedirect(reverse("jobs-dashboard:schedules"))
    if not request.user.has_perm(CHANGE_SCHEDULES):
        messages.error(request, "You may not change schedules.")
        return back
    name = request.POST.get("name", "")
    action = request.POST.get("action", "")
    if action not in SCHEDULE_ACTIONS:
        messages.error(request, f"action: use one of {', '.join(SCHEDULE_ACTIONS)}.")
        return back
    try:
        if action == "run":
            job = schedule_run_now(name=name)
            messages.success(request, f"{name}: enqueued now as job {job.id}.")
        else:
            schedule_set_enabled(name=name, enabled=action == "enable")
            messages.success(request, f"{name}: {action}d.")
    except ScheduleNotFound:
        messages.error(request, f"name: no schedule {name!r}.")
    return back
