"""A Celery worker whose draw stops half-way through writing winners, for the crash test.

It writes half the awards inside the draw's transaction, drops a marker file, then hangs, so the
test can SIGKILL it at the worst moment: winners partly written, nothing committed.
"""

import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.test_settings")
django.setup()

from draws import services  # noqa: E402

_write_awards = services._write_awards


def write_half_then_hang(awards):
    _write_awards(awards[: max(1, len(awards) // 2)])
    Path(os.environ["CRASH_MARKER"]).touch()
    time.sleep(600)


services._write_awards = write_half_then_hang

if __name__ == "__main__":
    from lottery_site.celery import app

    app.worker_main(["worker", *sys.argv[1:]])
