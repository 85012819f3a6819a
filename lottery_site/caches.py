"""The cache register: every cache of ours, what it holds and why it may be trusted.

A cache is a promise that an answer kept is still the answer. Each one is registered here with
that promise in words (what it holds, where, its freshness rule, what invalidates it, the
benchmark that pays for it), docs/architecture.md lists the register (a test compares the
two), and the tests reset every cache of the process through ``reset_all`` between tests, so a
new cache cannot leak from one test into the next by being forgotten in a list.

``Memo`` is the one bounded per-process memo: a dict emptied when full (cheaper than an LRU on
a hot path, and a memo that overflows is refilled by the next requests) that registers itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Where a cache lives: a process's memory (each process its own copy), Redis (one copy for all
# processes), or both.
PROCESS, REDIS, BOTH = "process", "redis", "process+redis"


@dataclass(frozen=True)
class Cache:
    name: str
    holds: str
    where: str
    freshness: str
    invalidated_by: str
    benchmark: str  # "bench/<script>: <figure> (docs/benchmarks.md, <section>)", or "unmeasured"


_register: dict[str, Cache] = {}
_resets: dict[str, list[Callable[[], None]]] = {}


def register(
    *,
    name: str,
    holds: str,
    where: str,
    freshness: str,
    invalidated_by: str,
    benchmark: str,
    reset: Callable[[], None] | None = None,
) -> Cache:
    """Register a cache; ``reset`` forgets what this process holds of it (tests)."""
    if name in _register:
        raise ValueError(f"cache {name!r} registered twice")
    if where not in (PROCESS, REDIS, BOTH):
        raise ValueError(f"cache {name!r}: where is one of {PROCESS}, {REDIS}, {BOTH}")
    cache = _register[name] = Cache(name, holds, where, freshness, invalidated_by, benchmark)
    _resets.setdefault(name, [])
    if reset is not None:
        _resets[name].append(reset)
    return cache


def registered() -> list[Cache]:
    """Every registered cache, by name."""
    return sorted(_register.values(), key=lambda cache: cache.name)


def reset_all() -> None:
    """Forget what this process holds of every cache (tests, between tests)."""
    for resets in _resets.values():
        for reset in resets:
            reset()


class Memo(dict):
    """A per-process memo of at most ``size`` entries, emptied when full; registered.

    Reads are plain dict reads (``memo.get(key)``, at C speed on the hot paths); writes go
    through ``put``, which keeps the bound.
    """

    def __init__(self, name: str, *, size: int, **info: str) -> None:
        super().__init__()
        self.name, self.size = name, size
        register(name=name, where=PROCESS, reset=self.clear, **info)

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
