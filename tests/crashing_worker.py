"""A Celery worker whose draw (or substitution) stops half-way through, for the crash tests.

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

# CRASH_IN=substitution: the same, half-way through passing a prize to an alternate (the
# alternate holds it and has a claim; the substitution row and the log are not written yet).
if os.environ.get("CRASH_IN") == "substitution":
    from draws import substitutions  # noqa: E402

    _award = substitutions._award

    def award_then_hang(*args, **kwargs):
        _award(*args, **kwargs)
        Path(os.environ["CRASH_MARKER"]).touch()
        time.sleep(600)

    substitutions._award = award_then_hang

if __name__ == "__main__":
    from lottery_site.celery import app

    app.worker_main(["worker", *sys.argv[1:]])
