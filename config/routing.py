"""WebSocket routes of every app."""

from jobs.web.stream.routing import websocket_urlpatterns as jobs_websocket_urlpatterns
from tickets.routing import websocket_urlpatterns as tickets_websocket_urlpatterns

websocket_urlpatterns: list = [*tickets_websocket_urlpatterns, *jobs_websocket_urlpatterns]
