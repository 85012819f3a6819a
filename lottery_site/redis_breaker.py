"""Redis is an accelerator: when it stops answering, stop asking it for a while.

Requests use Redis only for what can be done without it (the shared part of the rate limits,
queuing a task the sweepers would find anyway). When a call fails, the breaker opens for
REDIS_BREAKER_SECONDS: until then every caller skips Redis at once and takes its fallback, so
no request waits on a dead Redis more than once per process and period; the first call after
the period tries again (and closes the breaker when it works), so a Redis that comes back is
used again without a restart. One breaker per process, shared by the cache and the broker
(both are the same Redis in our deployment).
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What "Redis did not answer" looks like from redis-py, django-redis and kombu.
REDIS_ERRORS = (RedisError, ConnectionInterrupted, OperationalError, OSError)

T = TypeVar("T")

_open_until = 0.0
_down = False  # Redis failed and has not answered since


def available() -> bool:
    """False while the breaker is open (Redis failed less than REDIS_BREAKER_SECONDS ago)."""
    return time.monotonic() >= _open_until


def trip(exc: BaseException) -> None:
    global _open_until, _down
    if not _down:  # log the transition, not every failed call
        logger.warning(
            "redis unreachable, skipping it for %ss: %r", settings.REDIS_BREAKER_SECONDS, exc
        )
    _open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS
    _down = True


def reset() -> None:
    """Redis answered: use it again."""
    global _open_until, _down
    if _down:
        logger.warning("redis answers again")
    _open_until, _down = 0.0, False


def call(fn: Callable[[], T], *, fallback: T) -> T:
    """``fn()``, or ``fallback`` when the breaker is open or ``fn`` fails on Redis."""
    if not available():
        return fallback
    try:
        result = fn()
    except REDIS_ERRORS as exc:
        trip(exc)
        return fallback
    if _down:
        reset()
    return result


def client():
    """The Redis client behind the cache, or None (the embedded default has no Redis).

    The one place that looks it up. The square asks on every request, so the answer is kept
    for the cache backend it came from (a test that points the cache elsewhere gets another
    backend, and so another client).
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if _client[0] is not backend:
        found = None
        if hasattr(backend, "client") and hasattr(backend.client, "get_client"):
            found = backend.client.get_client(write=True)
        _client[:] = [backend, found]
    return _client[1]


_client: list = [None, None]  # [the cache backend, its Redis client or None]
