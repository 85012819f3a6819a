"""Throttles, counted in the shared cache (Redis in production).

Login is limited per client IP, everything else per user. Rates come from the environment
(THROTTLE_LOGIN_RATE, THROTTLE_USER_RATE); the defaults allow for carrier NAT, where many real
users share one address.

DRF's own throttles keep a list of request timestamps per client and read and rewrite it on
every request: with 600 requests a minute allowed that is a pickled list of up to 600 floats,
twice per call, on the hottest paths. We count in fixed windows instead: one atomic INCR per
request (with its expiry in the same round trip on Redis). A fixed window lets a client spend
up to twice its rate across a window boundary, which is fine for abuse protection.
"""

from django.core.cache import cache
from rest_framework import throttling


def _count(key: str, window_seconds: int) -> int:
    """Add one to ``key`` (created with a ``window_seconds`` lifetime) and return the count."""
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):  # django-redis
        redis = cache.client.get_client(write=True)
        pipe = redis.pipeline(transaction=False)
        full_key = cache.make_key(key)
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        return pipe.execute()[0]
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window_seconds)
        return 1


class CounterRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = self.duration - (now % self.duration)
        return _count(f"{key}:{window}", self.duration + 1) <= self.num_requests

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
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class PublicRateThrottle(LoginRateThrottle):
    """Public, unauthenticated reads (draw proofs, entrant lists): per client IP."""

    scope = "public"
