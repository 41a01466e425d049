"""The admin's bulk actions: one operation per selected row, each refusal reported with its
row, the others carried on. Every admin of the project (the platform's and the products')
runs its actions through ``run_for_each``; actions that remove or re-run work ask first
(``confirmed``)."""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from jobs.errors import ApplicationError

Item = TypeVar("Item")


def run_for_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    items: Iterable[Item],
    call: Callable[[Item], Any],
    *,
    done: str,
    label: Callable[[Item], str] = str,
) -> int:
    """Run ``call(item)`` for every item and tell the operator how it went.

    An item whose call raises an ``ApplicationError`` (the state does not allow it) or
    returns ``False`` (nothing to do) is listed as refused; the rest count as done, in one
    success message: ``"<done>: <n>."``. Returns how many were done.
    """
    ok = 0
    refused: list[str] = []
    for item in items:
        try:
            if call(item) is False:
                refused.append(label(item))
                continue
        except (ApplicationError, ObjectDoesNotExist) as exc:
            reason = exc.message if isinstance(exc, ApplicationError) else str(exc)
            refused.append(f"{label(item)} ({reason})")
            continue
        ok += 1
    if ok:
        model_admin.message_user(request, f"{done}: {ok}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(
            request,
            f"Not done (the state does not allow it): {', '.join(refused[:20])}"
            + (f" and {len(refused) - 20} more" if len(refused) > 20 else ""),
            messages.WARNING,
        )
    return ok


# A bulk action acts on at most this many rows per confirmation: the confirmation page
# lists what it will touch, and a selection "across all pages" of a million-row ledger is a
# mistake to stop, not a page to render.
CONFIRM_MAX_ROWS = 1000


def confirmed(
    *, description: str, question: str, permissions: Iterable[str] = ("change",)
) -> Callable:
    """An admin action that asks first: the first POST (from the action menu) shows a
    confirmation page listing the selected rows; only its "Yes" (a second POST, with the
    CSRF token and ``confirmed=yes``) runs the action. ``question`` is the page's heading,
    e.g. "Retry these jobs?"."""

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def action(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
            if request.POST.get("confirmed") == "yes":
                return func(model_admin, request, queryset)
            rows = list(queryset[: CONFIRM_MAX_ROWS + 1])
            if len(rows) > CONFIRM_MAX_ROWS:
                model_admin.message_user(
                    request,
                    f"Select at most {CONFIRM_MAX_ROWS} rows for one action "
                    "(narrow the list with its filters).",
                    messages.ERROR,
                )
                return None
            opts = model_admin.model._meta
            context = {
                **model_admin.admin_site.each_context(request),
                "title": question,
                "question": question,
                "action": func.__name__,
                "action_label": description,
                "rows": rows,
                "opts": opts,
                "app_label": opts.app_label,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "cancel_url": request.get_full_path(),
            }
            return TemplateResponse(request, "admin/jobs/confirm_action.html", context)

        return admin.action(description=description, permissions=list(permissions))(action)

    return decorate
