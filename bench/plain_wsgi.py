"""The floor: a plain WSGI application, no Django, served by bin/serve-web like the service.

    WEB_APP=bench.plain_wsgi bin/serve-web

It answers every request with the body /healthz answers (the envelope with ``status: ok``),
built once. Served by the same gunicorn with the same settings (bin/serve-web: workers,
threads, config), it is what this machine can serve through gunicorn at all, measured in the
same rounds as our endpoints: a reference outside our code (issue 22). A ratio to one of our
own views (the old "bare view", /healthz) improves when that view gets slower, so it proves
nothing; a ratio to this floor does not move with our code.
"""

import json

BODY = json.dumps({"code": 0, "msg": "ok", "data": {"status": "ok"}}).encode()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
