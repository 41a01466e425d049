"""The manual-review queue is admin-driven: an admin approves or rejects each item here (the
e-commerce document's "Concurrency: 1 (admin-driven)"). Installed with the app, so only where
the examples are (test and local settings)."""

from django.contrib import admin
from django.db.models import QuerySet

from jobs import admin_run_for_each

from .ecommerce.models import ReviewItem, ReviewStatus
from .ecommerce.services import review_decide


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "kind", "status", "reason", "created_at", "decided_by")
    list_filter = ("status", "kind")
    readonly_fields = (
        "order",
        "kind",
        "reason",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    )
    actions = ("approve", "reject")

    def has_add_permission(self, request) -> bool:
        return False  # items come from the review jobs

    def _decide(self, request, queryset: QuerySet[ReviewItem], *, approve: bool) -> None:
        admin_run_for_each(
            self,
            request,
            queryset.filter(status=ReviewStatus.PENDING),
            lambda item: review_decide(
                review_id=item.pk, approve=approve, by=request.user.get_username()
            ),
            done="Approved" if approve else "Rejected",
        )

    @admin.action(description="Approve the selected reviews")
    def approve(self, request, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected reviews (unpaid high-value orders cancelled)")
    def reject(self, request, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, approve=False)
