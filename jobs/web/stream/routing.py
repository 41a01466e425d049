from django.urls import path

from jobs.web.stream.consumer import JobStreamConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobStreamConsumer.as_asgi()),
    path("ws/jobs/<uuid:job_id>/", JobStreamConsumer.as_asgi()),
]
