"""Throttles: counted in each process, shared through Redis in batches.

Login is limited per client IP (the one our own proxies vouch for: lottery_site/client_ip.py),
everything else per user. Rates come from the environment
(THROTTLE_LOGIN_RATE, THROTTLE_USER_RATE); the defaults allow for carrier NAT, where many real
users share one address.

DRF's own throttles keep a list of request timestamps per client in the cache and read and
rewrite it on every request. We count in fixed windows instead (a client may spend up to twice
its rate across a window boundary, which is fine for abuse protection), and we count in the
process: a request adds one to a dict and is allowed while the count is within the rate. At most
every THROTTLE_SYNC_SECONDS a process pushes what it counted to Redis (one script of INCRBY,
whatever the number of clients) and takes back the totals of every process, so most requests make
no Redis round trip at all (see docs/benchmarks.md, "Join and event detail"). The price: a client
spreading its calls over N processes can exceed its rate by what the other N-1 processes let
through in one sync interval. Rare and costly calls (uploads) are counted in Redis at each call
instead (``count_in_redis``): their limit holds across processes and machines to the request.
With Redis unreachable each process keeps counting on its own (a per-process limit) and skips
Redis until the breaker closes (lottery_site.redis_breaker).
"""

import threading

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling

from lottery_site import caches, redis_breaker
from lottery_site.client_ip import client_ip
from lottery_site.redis_scripts import Script
from lottery_site.write_behind import WriteBehindCounter


class WindowCounts:
    """This process's counts of the current windows, reconciled with Redis in batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # gunicorn may run threads
        self._counts: dict[str, list] = {}  # key -> [estimated total, expires at (epoch s)]
        self._shared = WriteBehindCounter(
            interval=lambda: settings.THROTTLE_SYNC_SECONDS, push=self._push
        )
        self._now = 0.0  # the time of the sync under way (the push reads it)

    def add(self, key: str, *, window_seconds: int, now: float) -> int:
        """Count one request on ``key`` and return the estimated total of all processes."""
        with self._lock:
            entry = self._counts.get(key)
            if entry is None:
                entry = self._counts[key] = [0, now + window_seconds]
            entry[0] += 1
        if self._shared.add(key):
            self.sync(now=now)  # may raise the estimate with the other processes' counts
        return entry[0]

    def peek(self, key: str, *, now: float) -> int:
        """The estimated total of ``key`` without counting: this process's count, plus the
        other processes' as of this process's last push of the key (0 if it never counted it).
        """
        with self._lock:
            entry = self._counts.get(key)
            return entry[0] if entry is not None and entry[1] > now else 0

    def sync(self, *, now: float) -> None:
        """Drop finished windows, push the pending counts to Redis, take back the totals."""
        with self._lock:
            self._counts = {key: e for key, e in self._counts.items() if e[1] > now}
            self._now = now
        totals = self._shared.push()
        if not totals:
            return  # nothing to push, or Redis is down: counted in this process only
        with self._lock:
            for key, total in totals.items():
                entry = self._counts.get(key)
                if entry is not None:  # what this process counted since the push, on top
                    entry[0] = max(entry[0], total + self._shared.pending(key))

    def _push(self, client, pending: dict[str, int]) -> dict[str, int]:
        """One round trip: add each key's pending count in Redis; the totals of all processes.

        Finished windows are not worth it: only keys whose window is still counted go.
        """
        with self._lock:
            expiries = {
                key: int(self._counts[key][1] - self._now) + 1
                for key in pending
                if key in self._counts
            }
        if not expiries:
            return {}
        keys = list(expiries)
        args = [pending[key] for key in keys] + [expiries[key] for key in keys]
        totals = _PUSH(client, [cache.make_key(key) for key in keys], args)
        return dict(zip(keys, totals, strict=True))

    def clear(self) -> None:
        with self._lock:
            self._counts = {}
        self._shared.reset()


# Adds each key's pending count and sets the expiry of a new counter; the totals, in key order.
# One command whatever the number of keys: as a pipeline of INCRBY and EXPIRE, packing the
# commands cost the client several times as long (27 ms against 4-8 ms for 2,000 keys: bench
# notes in docs/benchmarks.md, "Issue 10, speed").
_PUSH = Script("""
local n = #KEYS
local totals = {}
for i = 1, n do
  totals[i] = redis.call('INCRBY', KEYS[i], ARGV[i])
  redis.call('EXPIRE', KEYS[i], ARGV[n + i], 'NX')
end
return totals
""")


COUNTS = WindowCounts()
caches.register(
    name="throttle.counts",
    holds="each rate-limit window's request count: this process's own, plus every other "
    "process's as of the last push",
    where=caches.BOTH,
    freshness="other processes' counts at most THROTTLE_SYNC_SECONDS old (write-behind)",
    invalidated_by="the window's end (keys expire); each push takes back the totals",
    benchmark="bench/join: authenticated ÷ DRF 0.58 -> 0.81 with no Redis round trip per "
    'request (docs/benchmarks.md, "Issue 10: authentication without a Redis round trip")',
    reset=COUNTS.clear,
)


def count_in_redis(key: str, *, window_seconds: int, now: float) -> int:
    """Add one to ``key`` in Redis now and return the total of every process and machine.

    While Redis is down (or absent: the embedded default runs one process) this process counts
    on its own, as the batched throttles do; those counts reach Redis at the next sync once it
    answers again, so the window's total stays whole.
    """
    client = redis_breaker.client()
    if client is not None:
        total = redis_breaker.call(
            lambda: _incr(client, cache.make_key(key), window_seconds), fallback=None
        )
        if total is not None:
            return total
    return COUNTS.add(key, window_seconds=window_seconds, now=now)


def _incr(client, key: str, ttl: int) -> int:
    """INCR and a first expiry, in one round trip (MULTI/EXEC)."""
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, ttl, nx=True)
    return pipe.execute()[0]


class CounterRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window_key = self.window_key(key, now)
        count = self.count(window_key, window_seconds=self.duration + 1, now=now)
        return count <= self.num_requests

    def count(self, key: str, *, window_seconds: int, now: float) -> int:
        """Count this request on ``key``; the total so far (batched: see the module)."""
        return COUNTS.add(key, window_seconds=window_seconds, now=now)

    def window_key(self, key: str, now: float) -> str:
        """The counter of the current window for ``key`` (and when that window ends)."""
        self.wait_seconds = self.duration - (now % self.duration)
        return f"{key}:{int(now // self.duration)}"

    def wait(self) -> float:
        return self.wait_seconds


class LoginRateThrottle(CounterRateThrottle):
    scope = "login"

    def get_ident(self, request) -> str:
        # Not DRF's, which believes a client-sent X-Forwarded-For unless told otherwise.
        return client_ip(request)

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


class UploadRateThrottle(UserRateThrottle):
    """Uploads, per user (THROTTLE_UPLOAD_RATE): each one is a decode and a re-encode.

    Counted in Redis at every upload (``count_in_redis``), not in batches: with a rate of 30
    an hour, each of N processes would let a whole rate through before the next sync (45
    uploads in 0.8 s were all accepted), and one Redis round trip is nothing next to a decode.
    """

    scope = "upload"

    def count(self, key: str, *, window_seconds: int, now: float) -> int:
        return count_in_redis(key, window_seconds=window_seconds, now=now)
