"""Public confirm/decline pages linked from offer emails, mounted at /waitlist/."""

from django.urls import path

from waitlist import views_public

app_name = "waitlist-public"

urlpatterns = [
    path(
        "<slug:tenant>/offers/confirm/<str:token>/",
        views_public.OfferConfirmView.as_view(),
        name="offer-confirm",
    ),
    path(
        "<slug:tenant>/offers/decline/<str:token>/",
        views_public.OfferDeclineView.as_view(),
        name="offer-decline",
    ),
]
