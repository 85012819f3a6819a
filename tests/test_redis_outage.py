"""Redis is an accelerator, not a dependency of every request (issue 10, finding 3).

Each test points the cache (and, where it matters, the broker) at a Redis server of its own
(tests/private_redis.py) and stops it: the API must keep serving from MariaDB, never wait on a
Redis known to be down, limit rates per process, and share counts again when Redis returns.
"""

import socket
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import responses
from django.test import Client
from django.utils import timezone

from draws import services as draw_services
from draws import tasks as draw_tasks
from events.models import Event, EventLog
from events.services.entries import entry_join
from lottery_site import redis_breaker
from lottery_site.celery import app
from lottery_site.throttling import COUNTS, UploadRateThrottle, UserRateThrottle, WindowCounts
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory
from tests.private_redis import PrivateRedis, redis_cache

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"


@pytest.fixture
def private_redis(settings):
    """A running Redis of this test's own, with the cache pointed at it."""
    with PrivateRedis() as server:
        settings.CACHES = redis_cache(server.url())
        yield server
    COUNTS.clear()  # counts that went nowhere must not reach the next test's Redis


@contextmanager
def broker_at(url: str):
    """Tasks really published (not run inline) to the broker at ``url``, for this block."""
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=url, task_always_eager=False)
    app._pool = None  # noqa: SLF001 - connections of the previous broker must not be reused
    app.amqp._producer_pool = None  # noqa: SLF001
    try:
        yield
    finally:
        app.conf.update(saved)
        app._pool = None  # noqa: SLF001
        app.amqp._producer_pool = None  # noqa: SLF001


def drawn_event():
    past = timezone.now() - timedelta(hours=2)
    event = EventFactory(now=past, draw_at=past + timedelta(hours=1))
    entry_join(event=event, user=UserFactory(), now=past)
    draw_services.event_lock(event_id=event.pk, now=timezone.now())
    draw_services.event_draw(event_id=event.pk, now=timezone.now())
    return event


def test_with_redis_stopped_login_reads_joins_withdrawals_proof_and_entrants_answer(
    private_redis, wechat
):
    event, drawn = EventFactory(), drawn_event()
    private_redis.stop()
    wechat.add(responses.GET, JSCODE2SESSION, json={"openid": "o-entrant", "session_key": "sk"})

    with broker_at(private_redis.url()):
        login = Client().post("/api/v1/auth/login", {"code": "c1"}, content_type="application/json")
        assert login.status_code == 201, login.content
        entrant = client_for(UserFactory())
        entrant.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['data']['access']}")
        answers = {
            "me": entrant.get("/api/v1/me"),
            "detail": entrant.get(f"/api/v1/events/{event.public_id}"),
            "join": entrant.post(f"/api/v1/events/{event.public_id}/entry"),
            "my events": entrant.get("/api/v1/me/events"),
            "withdraw": entrant.delete(f"/api/v1/events/{event.public_id}/entry"),
            "proof": Client().get(f"/api/v1/events/{drawn.public_id}/proof"),
            "winners": Client().get(f"/api/v1/events/{drawn.public_id}/winners"),
            "entrants": Client().get(f"/api/v1/events/{drawn.public_id}/entrants"),
            "readyz": Client().get("/readyz"),
        }

    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "me": 200,
        "detail": 200,
        "join": 201,
        "my events": 200,
        "withdraw": 200,
        "proof": 200,
        "winners": 200,
        "entrants": 200,
        "readyz": 200,
    }
    readiness = answers["readyz"].json()["data"]
    assert readiness["degraded"] == ["redis"] and readiness["database"] == "ok"
    assert readiness["cache"] == readiness["broker"] == "down"


def test_once_redis_is_known_down_no_request_waits_for_it(settings, user_client):
    """A Redis that accepts connections and never answers (hung, or a black-holed route):
    one request waits for the socket timeout, then the breaker skips Redis."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(128)  # the kernel completes connections; nobody ever answers
        settings.CACHES = redis_cache(
            f"redis://127.0.0.1:{hole.getsockname()[1]}/0", socket_timeout=0.3
        )
        settings.THROTTLE_SYNC_SECONDS = 0  # without the breaker, every request would wait
        durations = []
        for _ in range(12):
            started = time.monotonic()
            assert user_client.get("/api/v1/me").status_code == 200
            durations.append(time.monotonic() - started)

    assert sum(duration >= 0.25 for duration in durations) == 1, durations
    assert max(durations) < 0.3 + 0.5, durations  # the one that waited: its timeout, no retry


def test_with_redis_down_each_process_still_limits_each_user(private_redis, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    private_redis.stop()
    caller, other = client_for(UserFactory()), client_for(UserFactory())
    assert [caller.get("/api/v1/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert other.get("/api/v1/me").status_code == 200


def test_with_redis_down_each_process_still_limits_uploads(private_redis, monkeypatch):
    import io

    from tests.pictures import picture

    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"upload": "2/hour"})
    private_redis.stop()
    client = client_for(UserFactory())

    def upload() -> int:
        file = io.BytesIO(picture())
        file.name = "a.jpg"
        return client.post("/api/v1/uploads", {"file": file, "purpose": "cover"}).status_code

    assert [upload() for _ in range(3)] == [201, 201, 429]


def test_counts_of_all_processes_add_up_in_redis(private_redis):
    """Two processes, three calls each: each learns of the other's calls at its next sync."""
    first, second = WindowCounts(), WindowCounts()
    now = time.time()
    for counts in (first, second):
        for _ in range(3):
            counts.add("throttle_user_7:1", window_seconds=61, now=now)
    first.sync(now=now)
    second.sync(now=now)  # Redis now holds all six
    assert second.add("throttle_user_7:1", window_seconds=61, now=now) == 7
    first.add("throttle_user_7:1", window_seconds=61, now=now)
    first.sync(now=now)
    assert first.add("throttle_user_7:1", window_seconds=61, now=now) == 8  # 7 in Redis + 1


def test_when_redis_returns_counts_are_shared_again_without_a_restart(private_redis, settings):
    settings.REDIS_BREAKER_SECONDS = 0.2
    settings.THROTTLE_SYNC_SECONDS = 0
    client = client_for(UserFactory())
    private_redis.stop()
    assert client.get("/api/v1/me").status_code == 200
    assert not redis_breaker.available()

    private_redis.start()
    time.sleep(0.3)
    assert client.get("/api/v1/me").status_code == 200
    assert redis_breaker.available()
    assert any(key.startswith("lottery-test:1:throttle_user_") for key in _keys(private_redis))


def _keys(server) -> list[str]:
    import redis

    return [key.decode() for key in redis.Redis(port=server.port).keys("*")]


def test_a_draw_asked_for_while_the_broker_is_down_is_answered_and_swept_later(
    private_redis, django_capture_on_commit_callbacks
):
    creator = UserFactory()
    event = EventFactory(creator=creator, draw_mode="manual")
    entry_join(event=event, user=UserFactory(), now=timezone.now())
    private_redis.stop()

    with broker_at(private_redis.url()), django_capture_on_commit_callbacks(execute=True):
        started = time.monotonic()
        response = client_for(creator).post(f"/api/v1/events/{event.public_id}/draw")
        elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content
    assert elapsed < 1.0  # kombu would retry the connection for ever by default
    assert Event.objects.get(pk=event.pk).status == Event.Status.OPENING  # not queued

    draw_tasks.sweep()  # the first sweep after the broker returns (inline here)
    draw_tasks.sweep()
    assert Event.objects.get(pk=event.pk).status == Event.Status.OPENED
    assert EventLog.objects.filter(event=event, action="draw").count() == 1


def redis_up(role: str) -> float | None:
    """``lottery_redis_up{role=...}`` as Prometheus scrapes it."""
    from prometheus_client.parser import text_string_to_metric_families

    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == "lottery_redis_up" and sample.labels == {"role": role}:
                return sample.value
    return None


def test_runbook_lotteryredisdown_each_scrape_says_whether_redis_answers(private_redis, settings):
    """LotteryRedisDown's runbook (docs/operations.md), run: /readyz stays 200 and says
    "degraded", /metrics says 0 within one scrape; Redis started again (empty, as a replaced
    one), the next scrape says 1 and /readyz is plain ok, without restarting anything."""
    settings.METRICS_TOKEN = "scrape-token"
    with broker_at(private_redis.url()):
        assert redis_up("cache") == 1 and redis_up("broker") == 1

        private_redis.stop()
        started = time.monotonic()
        assert redis_up("cache") == 0 and redis_up("broker") == 0
        assert time.monotonic() - started < 5  # well within Prometheus's scrape timeout
        ready = Client().get("/readyz")
        assert ready.status_code == 200 and ready.json()["data"]["degraded"] == ["redis"]

        private_redis.start()  # step 2: bring Redis back (same address, nothing restored)
        assert redis_up("cache") == 1 and redis_up("broker") == 1
        ready = Client().get("/readyz")
        assert ready.status_code == 200 and ready.json()["data"]["degraded"] == []
