"""The ASGI application of the live process (``bin/serve-live``: uvicorn lottery_site.asgi).

Websockets go to the routes settings.LIVE_WEBSOCKET_ROUTES names (the live draws); plain HTTP to
Django, so one process serves a whole party in development. In production nginx sends only
/ws/ here and everything else to gunicorn (deploy/nginx), where the API is served faster.
The sockets authenticate with a token, never a cookie, so no origin check is needed.
"""

import atexit
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")

django_application = get_asgi_application()  # sets Django up before the routes are imported

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from lottery_site import metrics  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(import_string(settings.LIVE_WEBSOCKET_ROUTES)),
    }
)
# This process's open-socket count leaves the sum when it exits (lottery_live_sockets).
atexit.register(metrics.mark_process_dead, os.getpid())
