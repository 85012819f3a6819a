#!/usr/bin/env python
"""bench/e2e_draw: real Celery beat + worker draw 100,000-entrant events on time.

    BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306/lottery_bench_draw_e2e \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python bench/e2e_draw.py [--entrants 100000] [--events 3]

Events with 100,000 entrants each (loaded with multi-row INSERTs, before anything runs) get
draw times 25 s, 42 s, 59 s ... after the users are loaded, so they fall at different phases of the beat
tick. Then ``celery -A lottery_site beat`` (DatabaseScheduler, the schedule declared in
settings) and ``celery -A lottery_site worker`` start as in production, and the script polls
the database every 50 ms. For each event it reports:

- ``opened_after``: from ``draw_at`` to the moment the event is seen OPENED (winners,
  notification record and all committed). Goal: at most SWEEP_INTERVAL + 5 s.
- ``picked_up_after``: from ``draw_at`` to the draw task's start (the event's ``drawn_at``):
  the sweep interval plus queueing.

Every draw is then checked with the public verifier.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_ENV, REPO, RESULTS, median, setup_django  # noqa: E402
from bench.draw import multi_row_insert, public_ids  # noqa: E402

FIRST_DRAW_AFTER = 25.0  # after the users are loaded: entries, worker and beat start first
DRAW_SPACING = 17.0  # not a multiple of the sweep interval: draws land at different phases
PRIZES = [("一等奖", 1), ("二等奖", 9), ("三等奖", 90), ("参与奖", 900)]


def load_users(entrants: int) -> None:
    from accounts.models import User

    keys = public_ids(entrants)
    multi_row_insert(
        User,
        {"password": "!", "is_superuser": False},
        ({"public_id": key, "openid": f"bench-e2e-{n}"} for n, key in enumerate(keys)),
    )


def load_events(*, entrants: int, events: int, start) -> list[int]:
    from django.db import connection, transaction

    from accounts.models import User
    from events.models import Entry, Event
    from events.services.events import event_create

    creator = User.objects.get(openid="bench-e2e-0")
    event_ids = []
    for number in range(events):
        draw_at = start + timedelta(seconds=FIRST_DRAW_AFTER + number * DRAW_SPACING)
        event = event_create(
            creator=creator,
            title=f"端到端开奖 {number + 1}",
            draw_at=draw_at,
            prizes=[{"name": name, "quantity": quantity} for name, quantity in PRIZES],
            # Created "earlier", as a real event is: creation wants a draw time 5+ min ahead.
            now=draw_at - timedelta(hours=1),
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Entry._meta.db_table} (event_id, user_id, user_key, created_at) "  # noqa: S608
                f"SELECT %s, id, public_id, %s FROM {User._meta.db_table} "
                "WHERE openid LIKE 'bench-e2e-%%'",
                [event.pk, draw_at - timedelta(minutes=30)],
            )
            Event.objects.filter(pk=event.pk).update(participant_count=entrants)
        event_ids.append(event.pk)
    return event_ids


def start_celery(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lottery_site", *args, "--loglevel", "WARNING"],
        cwd=REPO,
        env={**os.environ, **BENCH_ENV},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def watch(event_ids: list[int], *, timeout: float) -> dict[int, float]:
    """Wall-clock moment (epoch seconds) each event was first seen OPENED."""
    from events.models import Event

    seen: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(event_ids) and time.monotonic() < deadline:
        opened = Event.objects.filter(pk__in=event_ids, status=Event.Status.OPENED)
        for pk in opened.values_list("pk", flat=True):
            seen.setdefault(pk, time.time())
        time.sleep(0.05)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entrants", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=3)
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    setup_django()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from events.models import Event

    redis.Redis.from_url(BENCH_ENV["REDIS_URL"]).flushdb()  # our own bench db: stale tasks out
    started = time.perf_counter()
    load_users(args.entrants)
    event_ids = load_events(entrants=args.entrants, events=args.events, start=timezone.now())
    print(
        f"loaded {args.events} events x {args.entrants:,} entrants in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )

    worker = start_celery("worker", "--concurrency", "2", "--without-gossip", "--without-mingle")
    beat = start_celery("beat")
    try:
        last_draw = Event.objects.filter(pk__in=event_ids).order_by("-draw_at").first().draw_at
        budget = (last_draw - timezone.now()).total_seconds() + 60
        seen = watch(event_ids, timeout=budget)
    finally:
        stop(beat)
        stop(worker)

    interval = settings.LOTTERY_SWEEP_INTERVAL_SECONDS
    rows = []
    for event in Event.objects.filter(pk__in=event_ids).order_by("draw_at"):
        opened = seen.get(event.pk)
        row = {
            "event": event.public_id,
            "entrants": event.entrant_count,
            "opened_after": opened - event.draw_at.timestamp() if opened else None,
            "picked_up_after": (
                (event.drawn_at - event.draw_at).total_seconds() if event.drawn_at else None
            ),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        if opened:
            call_command("verify_draw", event.public_id)
    latencies = [row["opened_after"] for row in rows if row["opened_after"] is not None]
    summary = {
        "sweep_interval_seconds": interval,
        "goal_seconds": interval + 5,
        "events": len(rows),
        "opened": len(latencies),
        "opened_after_median": median(latencies) if latencies else None,
        "opened_after_max": max(latencies) if latencies else None,
        "picked_up_after_max": max(
            (row["picked_up_after"] for row in rows if row["picked_up_after"] is not None),
            default=None,
        ),
        "all_within_goal": len(latencies) == len(rows)
        and all(latency <= interval + 5 for latency in latencies),
    }
    print(json.dumps(summary, indent=2))
    (RESULTS / "e2e_draw.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
