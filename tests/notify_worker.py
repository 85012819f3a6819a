"""A Celery worker for the notification crash tests, optionally one that hangs mid-fan-out.

``NOTIFY_TEST_QUEUE``: the queue it serves, also where the tasks it queues go, so the test's
worker never meets another test's tasks. ``CRASH_AT``:
- ``fan-out``: the fan-out records the deliveries, drops ``CRASH_MARKER``, then hangs before it
  marks the log row notified or queues anything;
- ``batch``: the third send batch drops the marker and hangs before claiming anything.
The test then SIGKILLs it and starts a plain one (no ``CRASH_AT``).
"""

import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.test_settings")
django.setup()

from notifications import services  # noqa: E402


def _hang() -> None:
    Path(os.environ["CRASH_MARKER"]).touch()
    time.sleep(600)


def _crash_after_recording():
    record = services._record

    def record_then_hang(*args, **kwargs):
        record(*args, **kwargs)
        _hang()

    services._record = record_then_hang


def _crash_on_third_batch():
    send = services.deliveries_send
    calls = []

    def send_or_hang(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            _hang()
        return send(**kwargs)

    services.deliveries_send = send_or_hang


CRASHES = {"fan-out": _crash_after_recording, "batch": _crash_on_third_batch}

if __name__ == "__main__":
    from lottery_site.celery import app

    app.conf.task_default_queue = os.environ["NOTIFY_TEST_QUEUE"]
    if os.environ.get("CRASH_AT"):
        CRASHES[os.environ["CRASH_AT"]]()
    app.worker_main(["worker", *sys.argv[1:]])
