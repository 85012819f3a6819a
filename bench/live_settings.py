"""The service's settings, with a plain Channels broadcast route beside the live one (bench/live.py)."""

from lottery_site.settings import *  # noqa: F403

LIVE_WEBSOCKET_ROUTES = "bench.live_routes.websocket_urlpatterns"
