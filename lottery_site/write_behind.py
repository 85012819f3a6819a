"""Counts added in the process and written to Redis in batches: the one write-behind counter.

Requests count in memory (a dict under a lock, no round trip). When ``add`` says a push is
due (at most every ``interval()`` seconds), the caller pushes: everything counted since the last
push goes to Redis in one call (``push(client, pending)``, through the breaker), whose result
comes back (the throttle takes back every process's totals). Counts that could not be pushed
(Redis down, no Redis) are dropped here and ``lost(pending)`` is told: each user of the counter
has the truth elsewhere or accepts the loss (docs/architecture.md, the cache register).
"""

import threading
import time
from collections.abc import Callable, Hashable

from lottery_site import redis_breaker

_FAILED = object()


class WriteBehindCounter:
    def __init__(
        self,
        *,
        interval: Callable[[], float],
        push: Callable,
        lost: Callable[[dict], None] | None = None,
    ) -> None:
        self._interval, self._push, self._lost = interval, push, lost
        self._lock = threading.Lock()  # gunicorn may run threads
        self._pending: dict[Hashable, int] = {}
        self._next_push = 0.0

    def add(self, key: Hashable, delta: int = 1) -> bool:
        """Count ``delta`` on ``key``; True when a push is due (the caller then calls ``push``)."""
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + delta
            return time.monotonic() >= self._next_push

    def pending(self, key: Hashable) -> int:
        """What this process counted on ``key`` since its last push."""
        return self._pending.get(key, 0)

    def push(self):
        """Push what is pending now (one call to Redis); its result, or None. Never raises."""
        with self._lock:
            self._next_push = time.monotonic() + self._interval()
            pending, self._pending = self._pending, {}
        pending = {key: delta for key, delta in pending.items() if delta}
        client = redis_breaker.client()
        if not pending or client is None:
            return None
        result = redis_breaker.call(lambda: self._push(client, pending), fallback=_FAILED)
        if result is _FAILED:
            if self._lost is not None:
                self._lost(pending)
            return None
        return result

    def reset(self) -> None:
        """Forget what is pending and push with the next count (tests)."""
        with self._lock:
            self._pending, self._next_push = {}, 0.0
