"""Notifications against real Celery workers, a fake WeChat server on loopback, and SIGKILL."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from draws import services as draw_services
from events.models import EventLog
from events.services.entries import entry_join
from events.services.events import event_create
from lottery_site.celery import app
from notifications import services
from notifications.models import Delivery
from tests.factories import UserFactory
from tests.fake_wechat import FakeWeChat

pytestmark = [pytest.mark.mysql, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parent.parent
TEMPLATES = {"result": "tpl-result", "cancel": "tpl-cancel"}


@pytest.fixture(autouse=True)
def templates(settings):
    settings.NOTIFY_TEMPLATES = {
        kind: {"id": template_id, "fields": {"title": "thing1", "result": "thing2"}}
        for kind, template_id in TEMPLATES.items()
    }


def worker_env(fake: FakeWeChat, queue: str) -> dict:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DATABASE_URL": (
            f"mysql://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}"
            f":{database['PORT'] or 3306}/{database['NAME']}"
        ),
        "WECHAT_API_BASE": fake.url,
        "WECHAT_RESULT_TEMPLATE_ID": TEMPLATES["result"],
        "WECHAT_CANCEL_TEMPLATE_ID": TEMPLATES["cancel"],
        "NOTIFY_BATCH_SIZE": "5",
        "NOTIFY_REQUEUE_SECONDS": "2",  # a lost batch is queued again quickly
        "NOTIFY_TEST_QUEUE": queue,
    }


def start_worker(env: dict, queue: str, **extra) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.notify_worker", "-Q", queue, "--concurrency", "1"]
    args += ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(args, cwd=REPO, env={**env, **extra}, start_new_session=True)


def stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    worker.wait(timeout=30)


def drawn_event(entrants: int):
    start = timezone.now() - timedelta(hours=2)
    event = event_create(
        creator=UserFactory(),
        title="断电也不丢的抽奖",
        draw_at=start + timedelta(hours=1),
        prizes=[{"name": "一等奖", "quantity": 3}],
        now=start,
    )
    users = UserFactory.create_batch(entrants)
    for user in users:
        # Two units each: a message sent twice would not be stopped by a refusal.
        services.subscription_accept(user=user, template_ids=[TEMPLATES["result"]])
        services.subscription_accept(user=user, template_ids=[TEMPLATES["result"]])
        entry_join(event=event, user=user, now=start)
    draw_services.event_lock(event_id=event.pk, now=event.draw_at)
    assert draw_services.event_draw(event_id=event.pk, now=event.draw_at)
    return event, users


def sweep_until_all_final(event, queue: str, *, timeout: float) -> None:
    """Send the sweep as beat would, every second, until every delivery is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.send_task("notifications.tasks.sweep", queue=queue)
        time.sleep(1)
        log = EventLog.objects.get(event=event, action="draw")
        open_ = Delivery.objects.filter(event=event).exclude(state__in=Delivery.FINAL_STATES)
        if log.notified_at and Delivery.objects.filter(event=event).exists() and not open_.exists():
            return
    raise AssertionError("timed out waiting for every delivery to end")


@pytest.mark.parametrize("crash_at", ["fan-out", "batch"])
def test_worker_killed_mid_fan_out_and_restarted_delivers_each_message_exactly_once(
    tmp_path, crash_at
):
    event, users = drawn_event(entrants=23)
    queue = f"test-notify-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "crashed"
    with FakeWeChat() as fake:
        env = worker_env(fake, queue)
        crashing = start_worker(env, queue, CRASH_AT=crash_at, CRASH_MARKER=str(marker))
        try:
            app.send_task("notifications.tasks.sweep", queue=queue)
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert time.monotonic() < deadline, "the worker never reached its crash point"
                time.sleep(0.2)
        finally:
            stop(crashing, signal.SIGKILL)
        sent_before_restart = len(fake.state.sent)

        worker = start_worker(env, queue)
        try:
            sweep_until_all_final(event, queue, timeout=90)
        finally:
            stop(worker)

    received = Counter(body["touser"] for body in fake.state.sent)
    assert received == Counter({user.openid: 1 for user in users})
    states = Counter(Delivery.objects.filter(event=event).values_list("state", flat=True))
    assert states == {Delivery.State.SENT: 23}
    assert (crash_at == "fan-out") == (sent_before_restart == 0)
    # Both worker processes shared one access token through Redis.
    assert fake.state.calls["stable_token"] == 1
