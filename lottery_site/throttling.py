"""Throttles, counted in the shared cache (Redis in production).

Login is limited per client IP, everything else per user. Rates come from the environment
(THROTTLE_LOGIN_RATE, THROTTLE_USER_RATE); the defaults allow for carrier NAT, where many real
users share one address.

DRF's own throttles keep a list of request timestamps per client and read and rewrite it on
every request: with 600 requests a minute allowed that is a pickled list of up to 600 floats,
twice per call, on the hottest paths. We count in fixed windows instead: one atomic INCR per
request (with its expiry in the same round trip on Redis). A fixed window lets a client spend
up to twice its rate across a window boundary, which is fine for abuse protection.

Authentication reads the caller's cached snapshot from the same Redis; ``get_and_count`` lets it
count the caller's request in the same round trip, and the per-user throttle then uses that
count instead of asking again (one round trip per request instead of two).
"""

from typing import Any

from django.core.cache import cache
from rest_framework import throttling

# Where authentication leaves counts it took for the throttles, on the DRF request.
PREFETCHED_COUNTS = "_prefetched_throttle_counts"


def _count(key: str, window_seconds: int) -> int:
    """Add one to ``key`` (created with a ``window_seconds`` lifetime) and return the count."""
    return get_and_count(None, key, window_seconds)[1]


def get_and_count(get_key: str | None, count_key: str, window_seconds: int) -> tuple[Any, int]:
    """``cache.get(get_key)`` (None: no read) and ``_count(count_key)``, in one Redis round trip."""
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):  # django-redis
        pipe = cache.client.get_client(write=True).pipeline(transaction=False)
        if get_key is not None:
            pipe.get(cache.make_key(get_key))
        full_key = cache.make_key(count_key)
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        *value, count, _ = pipe.execute()
        if not value or value[0] is None:
            return None, count
        return cache.client.decode(value[0]), count
    value = cache.get(get_key) if get_key is not None else None
    cache.add(count_key, 0, window_seconds)
    try:
        return value, cache.incr(count_key)
    except ValueError:  # expired between add and incr
        cache.add(count_key, 1, window_seconds)
        return value, 1


class CounterRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        window_key = self.window_key(key)
        count = getattr(request, PREFETCHED_COUNTS, {}).pop(window_key, None)
        if count is None:
            count = _count(window_key, self.duration + 1)
        return count <= self.num_requests

    def window_key(self, key: str) -> str:
        """The counter of the current window for ``key`` (and when that window ends)."""
        now = self.timer()
        self.wait_seconds = self.duration - (now % self.duration)
        return f"{key}:{int(now // self.duration)}"

    def wait(self) -> float:
        return self.wait_seconds


class LoginRateThrottle(CounterRateThrottle):
    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(CounterRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return None  # unauthenticated calls are refused anyway, or limited per IP
        return self.key_for(user.pk)

    def key_for(self, user_id: int) -> str:
        return self.cache_format % {"scope": self.scope, "ident": user_id}

    @classmethod
    def get_with_count(cls, request, *, user_id: int, get_key: str) -> Any:
        """``cache.get(get_key)``, counting this request of ``user_id`` in the same round trip.

        The count is left on ``request`` for this throttle's ``allow_request``, which then needs
        no round trip of its own. Without a user rate, a plain get.
        """
        throttle = cls()
        if throttle.rate is None:
            return cache.get(get_key)
        window_key = throttle.window_key(throttle.key_for(user_id))
        value, count = get_and_count(get_key, window_key, throttle.duration + 1)
        setattr(request, PREFETCHED_COUNTS, {window_key: count})  # authentication runs once
        return value


class PublicRateThrottle(LoginRateThrottle):
    """Public, unauthenticated reads (draw proofs, entrant lists): per client IP."""

    scope = "public"


class UploadRateThrottle(UserRateThrottle):
    """Uploads, per user (THROTTLE_UPLOAD_RATE): each one is a decode and a re-encode."""

    scope = "upload"
