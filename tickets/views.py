"""The tickets REST API (JWT). Views validate input, call one service, render the result."""

import json

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import NOT_FOUND, ConflictAwareAutoSchema, Pagination, validated
from tickets import selectors, services
from tickets.models import Booking, Event, ReservationExpiry, TicketGeneration
from tickets.serializers import (
    BookingCreateInput,
    BookingOut,
    CheckInInput,
    CheckInOut,
    EventOut,
    EventSeatsOut,
    GenerationQueueFilter,
    GenerationQueueOut,
    JobQueuedOut,
    ReservationExpiryFilter,
    ReservationExpiryOut,
    SeatIdsInput,
    SeatLockOut,
    SeatLocksOut,
    SeatOut,
    SeatStatusFilter,
    TicketOut,
    UnlockOut,
    VerifyPaymentInput,
)


class TicketsAPIView(APIView):
    """Documents the error answers (400/401/403/404/409/429) next to each success. Domain
    errors (``tickets.errors``) are answered by the project's one exception handler."""

    schema = ConflictAwareAutoSchema()


class TicketsListView(TicketsAPIView):
    """A paged list (``?limit=&offset=``)."""

    pagination_class = Pagination  # also tells the OpenAPI schema the list is paged

    def paged(self, request: Request, rows, serializer_class, **kwargs) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, **kwargs).data)


def _event(event_id) -> Event:
    return get_object_or_404(Event, id=event_id)


def _booking_for(request: Request, booking_id) -> Booking:
    booking = selectors.bookings_visible_to(user=request.user).filter(id=booking_id).first()
    if booking is None:
        raise Http404("No booking with this id.")
    return booking


def _booking_out(request: Request, booking: Booking) -> dict:
    fresh = selectors.bookings_visible_to(user=request.user).get(id=booking.id)
    return BookingOut(fresh, context={"staff": request.user.is_staff}).data


# --- events and seats ----------------------------------------------------------------------


class EventListView(TicketsListView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=EventOut(many=True))
    def get(self, request: Request) -> Response:
        include_past = request.query_params.get("include_past") in ("1", "true", "yes")
        return self.paged(request, selectors.events_list(include_past=include_past), EventOut)


class EventDetailView(TicketsAPIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=EventOut)
    def get(self, request: Request, event_id) -> Response:
        event = selectors.event_get(event_id=event_id)
        if event is None:
            raise Http404("No event with this id.")
        return Response(EventOut(event).data)


class EventSeatsView(TicketsAPIView):
    """Seat availability: every seat of the event with its status (?status= to filter)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[SeatStatusFilter], responses=EventSeatsOut)
    def get(self, request: Request, event_id) -> Response:
        event = _event(event_id)
        query = validated(SeatStatusFilter, request.query_params)
        seats = selectors.event_seats(event=event, status=query.get("status"))
        return Response(
            {
                "event_id": str(event.id),
                "counts": selectors.event_seat_counts(event=event),
                "seats": SeatOut(seats, many=True).data,
            }
        )


class SeatLockView(TicketsAPIView):
    @extend_schema(request=SeatIdsInput, responses={201: SeatLocksOut})
    def post(self, request: Request, event_id) -> Response:
        event = _event(event_id)
        data = validated(SeatIdsInput, request.data)
        locks = services.seat_lock_acquire(
            event=event, seat_ids=data["seat_ids"], user=request.user
        )
        return Response(
            {
                "locks": SeatLockOut(locks, many=True).data,
                "expires_at": min(lock.expires_at for lock in locks),
            },
            status=status.HTTP_201_CREATED,
        )


class SeatUnlockView(TicketsAPIView):
    @extend_schema(request=SeatIdsInput, responses=UnlockOut)
    def post(self, request: Request, event_id) -> Response:
        event = _event(event_id)
        data = validated(SeatIdsInput, request.data)
        released = services.seat_lock_release(
            event=event, seat_ids=data["seat_ids"], user=request.user
        )
        return Response({"released": [str(seat_id) for seat_id in released]})


class MyLocksView(TicketsAPIView):
    @extend_schema(responses=SeatLockOut(many=True))
    def get(self, request: Request) -> Response:
        locks = selectors.user_live_locks(user=request.user)
        return Response(SeatLockOut(locks, many=True).data)


# --- bookings ------------------------------------------------------------------------------


class BookingListCreateView(TicketsListView):
    @extend_schema(responses=BookingOut(many=True))
    def get(self, request: Request) -> Response:
        return self.paged(
            request,
            selectors.bookings_visible_to(user=request.user),
            BookingOut,
            context={"staff": request.user.is_staff},
        )

    @extend_schema(request=BookingCreateInput, responses={201: BookingOut, 404: NOT_FOUND})
    def post(self, request: Request) -> Response:
        data = validated(BookingCreateInput, request.data)
        event = _event(data["event_id"])
        booking = services.booking_create(
            event=event, user=request.user, seat_ids=data.get("seat_ids")
        )
        return Response(_booking_out(request, booking), status=status.HTTP_201_CREATED)


class BookingDetailView(TicketsAPIView):
    @extend_schema(responses=BookingOut)
    def get(self, request: Request, booking_id) -> Response:
        booking = _booking_for(request, booking_id)
        return Response(BookingOut(booking, context={"staff": request.user.is_staff}).data)


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | memoryview):
            return bytes(data)
        return json.dumps(data, default=str).encode()  # an error body asked for as PDF


class BookingTicketsPdfView(TicketsAPIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="Tickets not generated yet."),
        }
    )
    def get(self, request: Request, booking_id) -> HttpResponse | Response:
        booking = _booking_for(request, booking_id)
        document = services.ticket_pdf_ensure(booking=booking)
        response = HttpResponse(bytes(document.content), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="tickets-{booking.id}.pdf"'
        return response


# --- admin (staff) -------------------------------------------------------------------------


class VerifyPaymentView(TicketsAPIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=VerifyPaymentInput, responses=BookingOut)
    def post(self, request: Request, booking_id) -> Response:
        booking = get_object_or_404(Booking, id=booking_id)
        data = validated(VerifyPaymentInput, request.data)
        booking = services.booking_verify_payment(
            booking=booking, admin=request.user, payment_reference=data["payment_reference"]
        )
        return Response(_booking_out(request, booking))


class RetryGenerationView(TicketsAPIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=None, responses={202: JobQueuedOut})
    def post(self, request: Request, booking_id) -> Response:
        booking = get_object_or_404(Booking, id=booking_id)
        result = services.ticket_generation_retry(booking=booking, admin=request.user)
        return Response(
            {"booking_id": str(booking.id), "job_id": result.id, "queued": result.created},
            status=status.HTTP_202_ACCEPTED,
        )


class GenerationQueueView(TicketsListView):
    """The ticket generation queue, every field (?status=pending|failed|done)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(parameters=[GenerationQueueFilter], responses=GenerationQueueOut(many=True))
    def get(self, request: Request) -> Response:
        query = validated(GenerationQueueFilter, request.query_params)
        rows = TicketGeneration.objects.order_by("-created_at")
        if query.get("status"):
            rows = rows.filter(status=query["status"])
        return self.paged(request, rows, GenerationQueueOut)


class ReservationExpiryQueueView(TicketsListView):
    """The reservation expiry queue, every field (?processed=true|false)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(parameters=[ReservationExpiryFilter], responses=ReservationExpiryOut(many=True))
    def get(self, request: Request) -> Response:
        query = validated(ReservationExpiryFilter, request.query_params)
        rows = ReservationExpiry.objects.order_by("-created_at")
        if "processed" in query:
            rows = rows.filter(processed=query["processed"] == "true")
        return self.paged(request, rows, ReservationExpiryOut)


class JobRunView(TicketsAPIView):
    """Run a periodic job now: release-expired-locks, process-expired-reservations,
    process-ticket-generation-queue."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=None, responses={202: JobQueuedOut})
    def post(self, request: Request, name: str) -> Response:
        result = services.tickets_job_trigger(name=name)
        return Response(
            {"name": name, "job_id": result.id, "queued": result.created},
            status=status.HTTP_202_ACCEPTED,
        )


class CheckInView(TicketsAPIView):
    """Door scanner: 200 valid (admitted now), 409 already used, 400 forged."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        request=CheckInInput,
        responses={
            200: CheckInOut,
            409: CheckInOut,
            # A forged code (result "forged", detail) or a body naming the missing field.
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Forged code or bad input."),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(CheckInInput, request.data)
        outcome, ticket = services.ticket_check_in(code=data["code"], by=request.user)
        if outcome == services.CheckIn.FORGED:
            return Response(
                {
                    "result": outcome,
                    "code": ["Not a genuine ticket code."],
                    "detail": "Not a genuine ticket code: do not admit.",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = {
            "result": outcome,
            "ticket": TicketOut(ticket).data,
            "event": {"id": str(ticket.booking.event_id), "name": ticket.booking.event.name},
        }
        if outcome == services.CheckIn.ALREADY_USED:
            body["detail"] = f"Ticket already used at {ticket.used_at.isoformat()}: do not admit."
            return Response(body, status=status.HTTP_409_CONFLICT)
        body["detail"] = f"Valid: admit seat {ticket.seat.label}."
        return Response(body)
