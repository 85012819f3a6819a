"""Health checks and the JSON fallback for unknown API paths."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from lottery_site import metrics as lottery_metrics
from lottery_site import redis_breaker
from lottery_site.api import error_json_response

logger = logging.getLogger(__name__)


def healthz(request):
    """The process is up. Touches nothing, so a load balancer can call it as often as it likes."""
    return JsonResponse({"code": 0, "msg": "ok", "data": {"status": "ok"}})


def readyz(request):
    """Ready to serve: the database answers. Redis (cache and broker) down is ``degraded``.

    Answers 503 only when the database is down: that is what takes this instance out of the
    load balancer. Redis is shared by every instance, so a 503 for it would take them all out
    at once, while the API serves without it (slower to ban, rate limits per process, tasks
    swept late). A 200 with ``degraded: ["redis"]`` tells monitoring the truth instead.
    """
    results = {}
    for name, check in (
        ("database", _check_database),
        ("cache", _check_cache),
        ("broker", _check_broker),
    ):
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "down"
    redis_up = results["cache"] == results["broker"] == "ok"
    if redis_up:
        redis_breaker.reset()
    else:
        redis_breaker.trip(RuntimeError("readyz: redis down"))
    results["degraded"] = [] if redis_up else ["redis"]
    if results["database"] != "ok":
        return JsonResponse(
            {"code": 50301, "msg": "服务暂时不可用：database", "data": results},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    msg = "ok" if redis_up else "降级运行：redis"
    return JsonResponse(
        {"code": 0, "msg": msg, "data": results}, json_dumps_params={"ensure_ascii": False}
    )


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    # Asked even while the breaker is open: this is how the truth (and recovery) is seen.
    cache.set("readyz", "1", 10)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_broker() -> None:
    from lottery_site.celery import app

    with app.connection_for_write() as conn:
        # One retry, at once: kombu's default waits 2 s before it, which every probe and
        # scrape paid while Redis was down.
        conn.ensure_connection(
            max_retries=1, interval_start=0, timeout=settings.REDIS_CONNECT_TIMEOUT * 2
        )


def _redis_checks() -> dict:
    """The checks of what this machine keeps in Redis, by role; none on the embedded default."""
    from lottery_site.celery import app

    checks = {}
    if redis_breaker.client() is not None:
        checks["cache"] = _check_cache
    if str(app.conf.broker_url).startswith(("redis://", "rediss://")):
        checks["broker"] = _check_broker
    return checks


def _record_redis_reachability() -> None:
    """lottery_redis_up: asked at each scrape, whatever this process's breaker says, so the
    alert sees an outage (and the end of one) within a scrape. A dead Redis refuses at once or
    fails within its connect timeout; the scrape's own timeout is far longer."""
    for role, check in _redis_checks().items():
        try:
            check()
        except Exception:  # noqa: BLE001 - any failure means "unreachable"; the metric says it
            up = 0
        else:
            up = 1
        lottery_metrics.REDIS_UP.labels(role).set(up)


def metrics(request):
    """Prometheus text format, summed over every process of this machine (lottery_site/metrics.py).

    Not public: 404 unless METRICS_TOKEN is set (as if there were no such page), then 401 unless
    the request bears it (``Authorization: Bearer <token>``). Compared through SHA-256 digests
    in constant time, so neither the token's bytes nor its length leak through timing.
    Each scrape also checks Redis (``lottery_redis_up``).
    """
    if not settings.METRICS_TOKEN:
        return HttpResponseNotFound()
    presented = request.META.get("HTTP_AUTHORIZATION", "").encode("utf-8", "surrogateescape")
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    if not hmac.compare_digest(
        hashlib.sha256(presented).digest(), hashlib.sha256(expected).digest()
    ):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    _record_redis_reachability()
    body, content_type = lottery_metrics.exposition()
    return HttpResponse(body, content_type=content_type)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    # Exempt like every DRF view: the API authenticates by bearer token, never by cookie, and
    # without this a POST/PATCH/DELETE to an unknown path met Django's HTML CSRF 403 first.
    return error_json_response("not_found")
