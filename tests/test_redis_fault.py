"""Fault test: Redis stopped under a live server, in the middle of logins, joins and a due draw.

Everything is real: gunicorn (bin/serve-web, two worker processes), a Celery worker and beat,
MariaDB, and a Redis server of this test's own (tests/private_redis.py) that the test stops
and starts again on the same port, empty. WeChat is the loopback fake. While Redis is down the
API must answer from MariaDB (no 5xx), every accepted join must be kept, the draw that falls
due during the outage must happen once, late, after Redis returns, and /readyz must say what
is true at each moment.
"""

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from events.models import Entry, Event, EventLog
from events.services.events import event_create
from tests.factories import UserFactory
from tests.fake_wechat import FakeWeChat
from tests.live import call, serve_web, service_env, spawn, stop, wait_for
from tests.private_redis import PrivateRedis

pytestmark = [pytest.mark.mysql, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
LOCK_LEAD = 2  # seconds between the lock and the draw, for every process of this test


class Stack:
    """gunicorn, a Celery worker and beat, all on this test's database and Redis."""

    def __init__(self, redis: PrivateRedis, wechat: FakeWeChat) -> None:
        self.env = service_env(
            redis_url=redis.url(),
            CELERY_TASK_ALWAYS_EAGER="0",
            WECHAT_API_BASE=wechat.url,
            WEB_WORKERS="2",
            WEB_ACCESS_LOG="0",
            LOTTERY_LOCK_LEAD_SECONDS=str(LOCK_LEAD),
            LOTTERY_SWEEP_INTERVAL_SECONDS="1",
            NOTIFY_SWEEP_INTERVAL_SECONDS="1",
        )
        self.processes: list[subprocess.Popen] = []

    def start(self, tmp_path: Path) -> "Stack":
        celery = [sys.executable, "-m", "celery", "-A", "lottery_site"]
        web, self.url = serve_web(env=self.env, log=tmp_path / "web.log")
        self.processes.append(web)
        worker = [*celery, "worker", "--concurrency", "1", "--loglevel", "WARNING"]
        worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.processes.append(spawn(worker, env=self.env, log=tmp_path / "worker.log"))
        beat = [*celery, "beat", "--loglevel", "WARNING"]
        self.processes.append(spawn(beat, env=self.env, log=tmp_path / "beat.log"))
        return self

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


class Traffic:
    """Logins and joins in a loop, and /readyz polled, each reading tagged with the phase."""

    def __init__(self, url: str, event_id: str) -> None:
        self.url, self.event_id = url, event_id
        self.phase = "up"
        self.calls: list[tuple[str, str, int, float]] = []  # (phase, what, status, seconds)
        self.accepted: list[str] = []  # public user ids whose join was accepted
        self.own_reads: list[tuple[str, bool]] = []  # (phase, joined) read right after a join
        self.readiness: list[tuple[str, list[str]]] = []  # (phase, degraded)
        self.running = True
        self.threads = [threading.Thread(target=self._joins, args=(n,)) for n in range(2)]
        self.threads.append(threading.Thread(target=self._readyz))

    def __enter__(self) -> "Traffic":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=60)

    def _joins(self, worker: int) -> None:
        n = 0
        while self.running:
            n += 1
            phase = self.phase
            status, body, seconds = call(
                "POST", f"{self.url}/api/v1/auth/login", body={"code": f"fault-{worker}-{n}"}
            )
            self.calls.append((phase, "login", status, seconds))
            if status not in (200, 201):
                continue
            token, user_id = body["data"]["access"], body["data"]["user"]["id"]
            status, body, seconds = call(
                "POST", f"{self.url}/api/v1/events/{self.event_id}/entry", token=token
            )
            self.calls.append((phase, "join", status, seconds))
            if status == 201:
                self.accepted.append(user_id)
                # The joiner's next read, in whichever process: their entry, at once.
                status, body, seconds = call(
                    "GET", f"{self.url}/api/v1/events/{self.event_id}", token=token
                )
                self.calls.append((phase, "detail", status, seconds))
                if status == 200:
                    self.own_reads.append((phase, body["data"]["my_entry"]["joined"]))

    def _readyz(self) -> None:
        while self.running:
            before = self.phase
            status, body, _ = call("GET", f"{self.url}/readyz")
            if before == self.phase:  # not across a stop or a start
                assert status == 200, body
                self.readiness.append((before, body["data"]["degraded"]))
            time.sleep(0.2)


def test_redis_stopped_mid_traffic_loses_nothing_and_the_due_draw_happens_once_after(
    tmp_path, settings
):
    settings.LOTTERY_LOCK_LEAD_SECONDS = LOCK_LEAD
    redis = PrivateRedis().start()
    with FakeWeChat() as wechat:
        stack = Stack(redis, wechat).start(tmp_path)
        try:
            now = timezone.now()
            # Room for a loaded machine: Redis must be stopped before the lock falls due.
            draw_at = now + timedelta(seconds=14)
            event = event_create(
                creator=UserFactory(),
                title="停机演练",
                draw_at=draw_at,
                prizes=[{"name": "一等奖", "quantity": 3}],
                now=now - timedelta(hours=1),  # creation's minimum lead is not under test
            )
            with Traffic(stack.url, event.public_id) as traffic:
                time.sleep(2)
                redis.stop()
                assert timezone.now() < draw_at - timedelta(seconds=LOCK_LEAD), "set-up too slow"
                traffic.phase = "down"
                # The lock and the draw fall due while Redis is down; nothing can queue them.
                wait_for(
                    lambda: timezone.now() > draw_at + timedelta(seconds=3),
                    timeout=30,
                    what="the draw time to pass",
                )
                assert Event.objects.get(pk=event.pk).status == Event.Status.INIT
                traffic.phase = "restarting"
                redis.start()
                traffic.phase = "back"
                wait_for(
                    lambda: Event.objects.get(pk=event.pk).status == Event.Status.OPENED,
                    timeout=90,
                    what="the draw after Redis returned",
                )
                time.sleep(2)  # a few more sweeps: the draw must not happen again
        finally:
            stack.stop()
            redis.stop()

    server_errors = [c for c in traffic.calls if c[2] >= 500]
    assert not server_errors, server_errors[:5]
    phases = {phase for phase, what, status, _ in traffic.calls if what == "join" and status == 201}
    assert {"up", "down"} <= phases, phases  # joins were accepted before and during the outage
    # Each joiner read their own entry right after, from the database.
    assert {phase for phase, _ in traffic.own_reads} >= {"up", "down"}
    assert all(joined for _, joined in traffic.own_reads), traffic.own_reads

    event.refresh_from_db()
    entrants = set(Entry.objects.filter(event=event).values_list("user_key", flat=True))
    assert entrants == set(traffic.accepted)  # every accepted join kept, nothing else
    assert event.entrant_count == len(traffic.accepted)
    assert EventLog.objects.filter(event=event, action="draw").count() == 1
    lag = (event.drawn_at - event.draw_at).total_seconds()
    assert lag > 3  # drawn late, and the proof shows by how much (draw_at, drawn_at)

    readings = {
        phase: [tuple(d) for p, d in traffic.readiness if p == phase]
        for phase in ("up", "down", "back")
    }
    assert readings["up"] and set(readings["up"]) == {()}
    assert readings["down"] and set(readings["down"]) == {("redis",)}
    assert readings["back"][-1] == ()  # healthy again, without a restart
