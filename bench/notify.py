"""Benchmark: WeChat result messages for an event with many entrants, all holding quota.

    .venv/bin/python bench/notify.py [--entrants 100000] [--runs 3] [--plain 10000]

A fake WeChat server (tests/fake_wechat.py) runs in its own process on loopback and answers like
the real API. Each run, alternating:
- plain: the same client code (``wechat.subscribe.send_subscribe_message``) calls the
  fake in a loop, one process, ``--plain`` messages: the floor of what sending costs;
- workers: the project's worker configuration (the Procfile's ``celery -A lottery_site worker
  --concurrency=${CELERY_CONCURRENCY:-2}``) delivers the drawn event's result messages, from the
  sweep that finds the outbox row to the last delivery recorded. Then every entrant must have
  received exactly one message (the fake's log) and every delivery must be ``sent``.

Own database (lottery_bench_notify) and Redis db 8; loopback only; bounded runs.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = "tpl-bench-result"
ENV = {
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/lottery_bench_notify"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
    "CACHE_KEY_PREFIX": "bench-notify",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "lottery_site.settings",
    "WECHAT_APP_ID": "wx-bench",
    "WECHAT_APP_SECRET": "bench-secret",
    "WECHAT_RESULT_TEMPLATE_ID": TEMPLATE,
}

FAKE_SERVER = """
import json, sys
from collections import Counter
from tests.fake_wechat import FakeWeChat, FakeWeChatHandler

class Handler(FakeWeChatHandler):
    # Headers and body go out as two writes: without this, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every call on loopback, and the benchmark measures only that.
    disable_nagle_algorithm = True

    def do_GET(self):
        state = self.server.state
        if self.path == "/_stats":
            with state._lock:
                received = Counter(body["touser"] for body in state.sent)
                return self._reply({
                    "sent": len(state.sent), "recipients": len(received),
                    "duplicates": sum(n - 1 for n in received.values()),
                    "stable_token": state.calls["stable_token"],
                })
        if self.path == "/_reset":
            with state._lock:
                state.sent.clear()
                state.calls.clear()
            return self._reply({})
        return super().do_GET()

with FakeWeChat(Handler) as fake:
    print(fake.url, flush=True)
    sys.stdin.read()
"""


def fake_get(url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{url}{path}", timeout=10) as response:  # noqa: S310
        return json.load(response)


def setup(entrants: int):
    name = ENV["DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(
        ["mysql", "-uroot", "-h127.0.0.1", "-e",
         f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4"],
        check=True,
    )  # fmt: skip
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from draws import services as draws
    from events.models import Entry, Event
    from events.services.events import event_create
    from notifications.models import SubscriptionQuota

    call_command("migrate", verbosity=0)
    cache.clear()
    started = time.monotonic()
    User.objects.bulk_create(
        [User(openid=f"o-bench-{i:07d}", nickname=f"u{i}") for i in range(entrants + 1)],
        batch_size=5000,
    )
    users = list(User.objects.order_by("pk").values_list("pk", "public_id"))
    start = timezone.now() - timedelta(hours=2)
    creator = User.objects.get(pk=users[0][0])
    event = event_create(
        creator=creator,
        title="十万人的抽奖",
        draw_at=start + timedelta(hours=1),
        prizes=[{"name": "一等奖", "quantity": 100}],
        now=start,
    )
    Entry.objects.bulk_create(
        [Entry(event=event, user_id=pk, user_key=key, created_at=start) for pk, key in users[1:]],
        batch_size=5000,
    )
    Event.objects.filter(pk=event.pk).update(participant_count=entrants)
    SubscriptionQuota.objects.bulk_create(
        [SubscriptionQuota(user_id=pk, template_id=TEMPLATE, quota=1) for pk, _ in users[1:]],
        batch_size=5000,
    )
    draws.event_lock(event_id=event.pk, now=event.draw_at)
    assert draws.event_draw(event_id=event.pk, now=event.draw_at)
    print(f"setup: {entrants} entrants drawn in {time.monotonic() - started:.1f} s", flush=True)
    return event


def reset(event) -> None:
    """Back to 'just drawn': no deliveries, outbox row not notified, one unit each."""
    from django.core.cache import cache

    from events.models import EventLog
    from notifications.models import Delivery, SubscriptionQuota

    Delivery.objects.filter(event=event).delete()
    EventLog.objects.filter(event=event, action="draw").update(notified_at=None)
    SubscriptionQuota.objects.update(quota=1)
    cache.delete_pattern("notify:*")


def plain_loop(messages: int) -> float:
    from wechat.subscribe import send_subscribe_message

    data = {"thing1": "十万人的抽奖", "thing2": "很遗憾，未中奖", "time3": "2026-01-01 20:00"}
    send_subscribe_message(openid="o-warm-up", template_id=TEMPLATE, data=data)
    started = time.perf_counter()
    for i in range(messages):
        result = send_subscribe_message(openid=f"o-plain-{i}", template_id=TEMPLATE, data=data)
        assert result.outcome == "sent", result
    return messages / (time.perf_counter() - started)


def worker_run(event, env: dict, entrants: int, timeout: float) -> tuple[float, dict]:
    from celery import current_app
    from django.db.models import Count

    from notifications.models import Delivery

    concurrency = os.environ.get("CELERY_CONCURRENCY", "2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lottery_site", "worker", "--loglevel=WARNING",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(4)  # let it connect and fork its children
        started = time.perf_counter()
        last_sweep = 0.0
        final = Delivery.FINAL_STATES
        while True:
            now = time.perf_counter()
            if now - last_sweep >= 5:  # what beat does
                current_app.send_task("notifications.tasks.sweep")
                last_sweep = now
            done = Delivery.objects.filter(event=event, state__in=final).count()
            if done >= entrants:
                elapsed = time.perf_counter() - started
                break
            if now - started > timeout:
                raise SystemExit(f"timed out with {done} of {entrants} delivered")
            time.sleep(1)  # counting 100k rows often would compete with the workers
        states = dict(
            Delivery.objects.filter(event=event).values_list("state").annotate(n=Count("pk"))
        )
        return entrants / elapsed, states
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entrants", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plain", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE_SERVER], cwd=REPO, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        url = fake.stdout.readline().strip()
        os.environ.update(ENV, WECHAT_API_BASE=url)
        env = {**os.environ}
        event = setup(args.entrants)
        from django.core.cache import cache

        from lottery_site.celery import app

        results = []
        for run in range(1, args.runs + 1):
            reset(event)
            cache.delete_pattern("wechat:*")
            fake_get(url, "/_reset")
            plain = plain_loop(args.plain)
            fake_get(url, "/_reset")
            cache.delete_pattern("wechat:*")  # the workers fetch their own token
            app.control.purge()
            rate, states = worker_run(event, env, args.entrants, args.timeout)
            stats = fake_get(url, "/_stats")
            ok = (
                stats["recipients"] == args.entrants
                and stats["duplicates"] == 0
                and stats["sent"] == args.entrants
                and states == {"sent": args.entrants}
            )
            results.append((plain, rate, ok))
            print(
                f"run {run}: plain {plain:.0f} msg/s, workers {rate:.0f} msg/s, "
                f"ratio {rate / plain:.2f}; fake received {stats['sent']} for "
                f"{stats['recipients']} recipients, duplicates {stats['duplicates']}, "
                f"token fetches {stats['stable_token']}; deliveries {states}; "
                f"{'OK' if ok else 'MISMATCH'}",
                flush=True,
            )
        plain = statistics.median(r[0] for r in results)
        rate = statistics.median(r[1] for r in results)
        ratio = statistics.median(r[1] / r[0] for r in results)
        print(
            f"median: plain {plain:.0f} msg/s, workers {rate:.0f} msg/s, ratio {ratio:.2f} "
            f"(goal >= 0.5); all runs exact: {all(r[2] for r in results)}"
        )
    finally:
        fake.stdin.close()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
