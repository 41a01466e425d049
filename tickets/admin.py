"""Django admin for every tickets model, with buttons and actions that run the jobs.

Operators run the periodic jobs by hand from here, and failed generation rows stay in the
ticket generation queue for debugging: the queue tables show every field, read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from jobs import admin_run_for_each
from tickets import services
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    Event,
    ReservationExpiry,
    Seat,
    SeatLock,
    Ticket,
    TicketGeneration,
    TicketPdf,
)


def _booking_id(booking: Booking) -> str:
    return str(booking.id)


def _job_link(job_id: str) -> str:
    try:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:jobs_job_change", args=[job_id]), job_id
        )
    except NoReverseMatch:
        return job_id


class RunJobButtonsMixin:
    """Adds "run now" buttons to a changelist, one per name in ``run_jobs``."""

    change_list_template = "admin/tickets/change_list_run_jobs.html"
    run_jobs: tuple[tuple[str, str], ...] = ()

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "run-job/<str:name>/",
                self.admin_site.admin_view(self.run_job_view),
                name="{}_{}_run_job".format(*info),
            ),
            *super().get_urls(),
        ]

    def run_job_view(self, request: HttpRequest, name: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request) or name not in dict(self.run_jobs):
            raise PermissionDenied
        result = services.tickets_job_trigger(name=name)
        verb = "queued" if result.created else "already queued"
        self.message_user(
            request,
            format_html("{} {}: job {}", dict(self.run_jobs)[name], verb, _job_link(result.id)),
            messages.SUCCESS,
        )
        info = self.model._meta.app_label, self.model._meta.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_changelist".format(*info)))

    def changelist_view(self, request, extra_context=None):
        info = self.model._meta.app_label, self.model._meta.model_name
        buttons = [
            {"label": label, "url": reverse("admin:{}_{}_run_job".format(*info), args=[name])}
            for name, label in self.run_jobs
        ]
        return super().changelist_view(request, {**(extra_context or {}), "run_jobs": buttons})


class SeatInline(admin.TabularInline):
    model = Seat
    extra = 0
    fields = ["label", "section", "price", "status"]
    readonly_fields = ["status"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "venue", "starts_at", "created_at"]
    search_fields = ["name", "venue"]
    date_hierarchy = "starts_at"
    inlines = [SeatInline]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["label", "event", "section", "price", "status", "updated_at"]
    list_filter = ["status", "event"]
    search_fields = ["label", "event__name"]
    # Status follows locks and bookings; repair inconsistencies with manage.py repair_tickets.
    readonly_fields = ["status", "updated_at"]
    list_select_related = ["event"]


@admin.register(SeatLock)
class SeatLockAdmin(RunJobButtonsMixin, admin.ModelAdmin):
    run_jobs = (("release-expired-locks", "Release expired locks now"),)
    list_display = ["seat", "event", "user", "status", "expires_at", "created_at", "released_at"]
    list_filter = ["status", "event"]
    search_fields = ["user__username", "user__email", "seat__label"]
    readonly_fields = [f.name for f in SeatLock._meta.fields]
    list_select_related = ["seat", "event", "user"]

    def has_add_permission(self, request):
        return False


class BookingSeatInline(admin.TabularInline):
    model = BookingSeat
    extra = 0
    can_delete = False
    readonly_fields = ["seat", "price", "active"]

    def has_add_permission(self, request, obj=None):
        return False


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    can_delete = False
    fields = ["id", "seat", "used_at", "checked_in_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "user",
        "status",
        "total_amount",
        "expires_at",
        "paid_at",
        "tickets_emailed_at",
    ]
    list_filter = ["status", "event"]
    search_fields = ["id", "user__username", "user__email", "payment_reference"]
    readonly_fields = [
        "id",
        "event",
        "user",
        "status",
        "total_amount",
        "expires_at",
        "paid_at",
        "verified_by",
        "tickets_emailed_at",
        "created_at",
        "updated_at",
        "tickets_pdf",
    ]
    inlines = [BookingSeatInline, TicketInline]
    actions = ["verify_payment", "retry_generation", "resend_tickets_email"]
    list_select_related = ["event", "user"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="tickets PDF")
    def tickets_pdf(self, booking: Booking) -> str:
        if not TicketPdf.objects.filter(booking=booking).exists():
            return "-"
        url = reverse("tickets:booking-tickets-pdf", args=[booking.id])
        return format_html('<a href="{}">download</a>', url)

    @admin.action(description="Verify payment (starts ticket generation)")
    def verify_payment(self, request, queryset):
        admin_run_for_each(
            self,
            request,
            queryset.filter(status=BookingStatus.RESERVED),
            lambda b: services.booking_verify_payment(booking=b, admin=request.user),
            done="Payment verified booking(s)",
            label=_booking_id,
        )

    @admin.action(description="Retry ticket generation now")
    def retry_generation(self, request, queryset):
        admin_run_for_each(
            self,
            request,
            queryset,
            lambda b: services.ticket_generation_retry(booking=b, admin=request.user),
            done="Ticket generation queued booking(s)",
            label=_booking_id,
        )

    @admin.action(description="Send the tickets email again")
    def resend_tickets_email(self, request, queryset):
        admin_run_for_each(
            self,
            request,
            queryset,
            lambda b: services.tickets_email_resend(booking=b),
            done="Tickets email queued booking(s)",
            label=_booking_id,
        )


@admin.register(BookingSeat)
class BookingSeatAdmin(admin.ModelAdmin):
    list_display = ["booking", "seat", "price", "active"]
    list_filter = ["active"]
    search_fields = ["booking__id", "seat__label"]
    readonly_fields = ["booking", "seat", "price", "active"]
    list_select_related = ["booking", "seat"]

    def has_add_permission(self, request):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "booking", "seat", "created_at", "used_at", "checked_in_by"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "code", "booking__id", "seat__label"]
    readonly_fields = [f.name for f in Ticket._meta.fields]
    list_select_related = ["booking", "seat", "checked_in_by"]

    def has_add_permission(self, request):
        return False


@admin.register(TicketPdf)
class TicketPdfAdmin(admin.ModelAdmin):
    list_display = ["booking", "ticket_count", "size", "rendered_at", "download"]
    readonly_fields = ["booking", "ticket_count", "size", "rendered_at", "download"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="PDF")
    def download(self, document: TicketPdf) -> str:
        url = reverse("tickets:booking-tickets-pdf", args=[document.booking_id])
        return format_html('<a href="{}">download</a>', url)


@admin.register(ReservationExpiry)
class ReservationExpiryAdmin(RunJobButtonsMixin, admin.ModelAdmin):
    run_jobs = (("process-expired-reservations", "Process expired reservations now"),)
    list_display = [
        "id",
        "reservation",
        "user",
        "seat_ids",
        "expires_at",
        "processed",
        "processed_at",
        "created_at",
    ]
    list_filter = ["processed"]
    search_fields = ["reservation__id", "user__username"]
    readonly_fields = [f.name for f in ReservationExpiry._meta.fields]
    list_select_related = ["reservation", "user"]

    def has_add_permission(self, request):
        return False


@admin.register(TicketGeneration)
class TicketGenerationAdmin(RunJobButtonsMixin, admin.ModelAdmin):
    run_jobs = (("process-ticket-generation-queue", "Process the generation queue now"),)
    list_display = [
        "id",
        "booking",
        "admin",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_attempt_at",
        "short_error",
        "processed_at",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["booking__id", "last_error"]
    readonly_fields = [f.name for f in TicketGeneration._meta.fields]
    actions = ["retry_now"]
    list_select_related = ["booking", "admin"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="last error")
    def short_error(self, entry: TicketGeneration) -> str:
        lines = [line for line in entry.last_error.strip().splitlines() if line.strip()]
        return lines[-1][:120] if lines else ""

    @admin.action(description="Retry now (fresh attempts)")
    def retry_now(self, request, queryset):
        admin_run_for_each(
            self,
            request,
            [entry.booking for entry in queryset.select_related("booking")],
            lambda b: services.ticket_generation_retry(booking=b, admin=request.user),
            done="Ticket generation queued booking(s)",
            label=_booking_id,
        )
