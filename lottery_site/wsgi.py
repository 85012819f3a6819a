"""The WSGI application gunicorn serves (``gunicorn lottery_site.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

from lottery_site import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")

# Before the application exists: the Django instrumentation adds its middleware to the settings,
# and the middleware chain is built once, by get_wsgi_application.
telemetry.setup_web()
application = get_wsgi_application()
