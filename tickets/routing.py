from django.urls import path

from tickets.consumers import TicketsConsumer

websocket_urlpatterns = [
    path("ws/tickets/", TicketsConsumer.as_asgi()),
]
