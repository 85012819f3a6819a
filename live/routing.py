"""Websocket routes, named in settings (LIVE_WEBSOCKET_ROUTES) and mounted by lottery_site.asgi."""

from django.urls import path

from live.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/<str:event_id>/", LiveConsumer.as_asgi()),
]
