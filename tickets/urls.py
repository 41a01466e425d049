"""Mounted at /api/tickets/ by config/urls.py."""

from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("events/<uuid:event_id>/", views.EventDetailView.as_view(), name="event-detail"),
    path("events/<uuid:event_id>/seats/", views.EventSeatsView.as_view(), name="event-seats"),
    path("events/<uuid:event_id>/seats/lock/", views.SeatLockView.as_view(), name="seat-lock"),
    path(
        "events/<uuid:event_id>/seats/unlock/", views.SeatUnlockView.as_view(), name="seat-unlock"
    ),
    path("locks/", views.MyLocksView.as_view(), name="my-locks"),
    path("bookings/", views.BookingListCreateView.as_view(), name="booking-list"),
    path("bookings/<uuid:booking_id>/", views.BookingDetailView.as_view(), name="booking-detail"),
    path(
        "bookings/<uuid:booking_id>/tickets.pdf",
        views.BookingTicketsPdfView.as_view(),
        name="booking-tickets-pdf",
    ),
    path(
        "bookings/<uuid:booking_id>/verify-payment/",
        views.VerifyPaymentView.as_view(),
        name="booking-verify-payment",
    ),
    path(
        "bookings/<uuid:booking_id>/retry-generation/",
        views.RetryGenerationView.as_view(),
        name="booking-retry-generation",
    ),
    path("generation-queue/", views.GenerationQueueView.as_view(), name="generation-queue"),
    path(
        "reservation-expiry-queue/",
        views.ReservationExpiryQueueView.as_view(),
        name="reservation-expiry-queue",
    ),
    path("jobs/<str:name>/run/", views.JobRunView.as_view(), name="job-run"),
    path("check-in/", views.CheckInView.as_view(), name="check-in"),
]
