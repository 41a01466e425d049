"""The admin's bulk actions: one operation per selected row, each refusal reported with its
row, the others carried on. Every admin of the project (the platform's and the products')
runs its actions through ``run_for_each``."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest

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
