"""The public square: public events still open for joining, by ``hot``, ``soon`` or ``new``.

It is the most read page of the app, so a request does as little as possible:

- **The order** comes from a snapshot each process keeps in memory: the listed events' ids,
  times and recent joins, sorted three ways. It is rebuilt at most every
  SQUARE_REFRESH_SECONDS (one indexed query, one Redis round trip), and at once in a process
  that changed what the square lists (``listing_changed``, from the read model's change hook).
  A newly public event appears within that bound.
- **``hot``** counts joins in the last SQUARE_HOT_WINDOW_HOURS, in Redis sorted sets, one per
  hour (``square:joins:<hour>``: event id -> joins that hour). Each process counts its joins in
  memory and pushes them at most every SQUARE_REFRESH_SECONDS (the write-behind counter of
  ``lottery_site.write_behind``, as the throttle counts do), so a join costs no Redis round
  trip of its own. Redis is an accelerator: while it is down the
  counts come from the entries table; a process whose push failed rebuilds the hour sets from
  the entries table once Redis answers again, and so does the first process to find them gone
  (a restarted Redis) or older than SQUARE_REBUILD_SECONDS.
- **Whether an event is listed** is decided by the database: a page's candidate ids are checked
  in one primary-key query (public, ``ok``, text checked, INIT, lock time still ahead, creator
  not banned), which also reads the card's live fields and revision. The checked page is then served
  again, without a query, while the square's generation in Redis has not moved (one GET per
  request), this process has not re-sorted, and none of its events reached its lock time. Every
  change of what the square lists (``listing_changed``: cancel, hide, review, visibility, lock)
  moves the generation on commit, so a canceled, hidden, locked or drawn event leaves at once, in
  every process. Without Redis every page is checked. Should a generation write fail while
  readers still reach Redis, a page checked before is served at most until its process
  re-sorts (SQUARE_REFRESH_SECONDS); so is a change written around the services (a shell).
- **The card** is made by the read model (``events.read_model.cards``): the event's public
  part, rendered once per process and revision for the detail and the cards alike, with the
  live fields this check read.

Only the read model calls this module; the caches here are in the register
(``lottery_site.caches``, docs/architecture.md), each with its benchmark (bench/square: the
first page 0.52 of the bare view, 0.40 when every page is checked; docs/benchmarks.md,
"Square").
"""

import bisect
import functools
import hashlib
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import User
from events.models import Entry, Event, aware_utc
from lottery_site import caches, redis_breaker
from lottery_site.write_behind import WriteBehindCounter

logger = logging.getLogger(__name__)

SORTS = ("hot", "soon", "new")
# What each sort's key holds (the cursor carries the last key of a page).
KEY_FIELDS = {
    "hot": ("-recent_joins", "draw_at_us", "id"),
    "soon": ("draw_at_us", "id"),
    "new": ("-created_at_us", "-id"),
}
# Candidates checked beyond the page size in the same query, so an event that left since the
# snapshot rarely costs a second query.
_SLACK = 5
_MAX_CHECKS = 4  # queries per request at most; a page then ends early, with a cursor


def listed() -> QuerySet[Event]:
    """Events the square may list, but for the lock time (compare ``lock_at`` with now).

    Not a banned creator's: they leave with the ban and come back with an unban (the ban moves
    the generation through ``accounts.signals.ban_changed``, see events.receivers).
    """
    return Event.objects.filter(
        status=Event.Status.INIT,
        visibility=Event.Visibility.PUBLIC,
        moderation=Event.Moderation.OK,
        text_unchecked=False,
        creator__is_active=True,
    )


# --- the snapshot: this process's ordering of the listed events --------------------------------


@dataclass
class Snapshot:
    built_at: datetime
    keys: dict[str, list[tuple]]  # sort -> sort keys, ascending
    pks: dict[str, list[int]]  # sort -> event ids, in the same order
    lock_at: dict[int, datetime]
    recent_joins: dict[int, int]


def _sort_keys(pk: int, draw_at: datetime, created_at: datetime, hot: int) -> dict[str, tuple]:
    """Each sort's key (ascending), unique thanks to the id: the cursor is the last key."""
    draw, created = _micros(draw_at), _micros(created_at)
    return {"hot": (-hot, draw, pk), "soon": (draw, pk), "new": (-created, -pk)}


def _micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


_lock = threading.Lock()
_snapshot: Snapshot | None = None


def listing_changed() -> None:
    """What the square lists changed (made public, hidden, canceled, locked...): committed.

    This process re-sorts on its next request; every process drops the pages it checked (the
    generation in Redis moves). Should that write fail, a page checked before stays served at
    most until its process re-sorts (SQUARE_REFRESH_SECONDS). Called by the read model's
    change hook (``events.read_model.event_changed``) after the commit.
    """
    _drop_order()
    client = redis_breaker.client()
    if client is not None and not redis_breaker.call(
        lambda: client.incr(_generation_key()) is not None, fallback=False
    ):
        logger.warning("square: generation not moved (redis down)")


def _drop_order() -> None:
    global _snapshot
    _snapshot = None
    _pages.clear()


def _generation_key() -> str:
    return cache.make_key("square:generation")


def generation() -> bytes | None:
    """The square's generation (one Redis GET); None without Redis: check every page."""
    client = redis_breaker.client()
    if client is None:
        return None
    return redis_breaker.call(lambda: client.get(_generation_key()) or b"0", fallback=None)


def snapshot(*, now: datetime) -> Snapshot:
    global _snapshot
    current = _snapshot
    refresh = timedelta(seconds=settings.SQUARE_REFRESH_SECONDS)
    if current is not None and current.built_at <= now < current.built_at + refresh:
        return current
    with _lock:
        current = _snapshot
        if current is None or not current.built_at <= now < current.built_at + refresh:
            current = _snapshot = _build(now=now)
            _pages.clear()
    return current


caches.register(
    name="square.order",
    holds="the listed events' ids, times and recent joins, sorted three ways (hot, soon, new)",
    where=caches.PROCESS,
    freshness="rebuilt every SQUARE_REFRESH_SECONDS; at once in the process that changed what "
    "the square lists",
    invalidated_by="event_changed (edited, live, listing, created_public): dropped in this "
    "process on commit; other processes at their next rebuild (pages are re-checked at once)",
    benchmark="bench/square: first page hot 0.52, soon 0.51 of the bare view "
    '(docs/benchmarks.md, "Square"); the snapshot is what lets a page skip sorting',
    reset=_drop_order,
)


def _build(*, now: datetime) -> Snapshot:
    rows = list(
        listed().filter(lock_at__gt=now).values_list("pk", "draw_at", "lock_at", "created_at")
    )
    joins = recent_joins(pks=[row[0] for row in rows], now=now)
    keyed = []
    for pk, draw_at, _lock_at, created_at in rows:
        keyed.append((_sort_keys(pk, draw_at, created_at, joins.get(pk, 0)), pk))
    keys, pks = {}, {}
    for sort in SORTS:
        ordered = sorted(keyed, key=lambda item, sort=sort: item[0][sort])
        keys[sort] = [item[0][sort] for item in ordered]
        pks[sort] = [item[1] for item in ordered]
    return Snapshot(
        built_at=now,
        keys=keys,
        pks=pks,
        lock_at={row[0]: row[2] for row in rows},
        recent_joins={pk: joins.get(pk, 0) for pk, *_ in rows},
    )


# --- a page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[dict]  # (event id, live entrant count, revision, recent joins)
    next_key: list | None


# (sort, after, size, host) -> (generation, snapshot, valid until, body, ETag)
_pages = caches.Memo(
    "square.pages",
    size=2000,
    holds="(sort, cursor, page size, host) -> a checked page: its body, ETag, and the "
    "generation and snapshot it was checked under",
    freshness="served while the square's generation in Redis has not moved (one GET per "
    "request), this process has not re-sorted and none of its events reached its lock time; "
    "without Redis, never served",
    invalidated_by="event_changed (edited, live, listing, created_public): the generation moves "
    "on commit, in every process",
    benchmark="bench/square: the first page 0.52 of the bare view, against 0.40 checked in "
    'MariaDB every time (docs/benchmarks.md, "Square")',
)


def listing(
    *, sort: str, after: list | None, size: int, now: datetime, host: str, render, finish
) -> tuple[bytes, str]:
    """A page of the square as the response body ``finish(cards, next key)`` makes, and its ETag.

    A page once checked in the database is served again, body and all, without checking while
    nothing left the square (the generation in Redis has not moved: one GET), this process has
    not re-sorted (at most SQUARE_REFRESH_SECONDS) and none of its events reached its lock
    time. Without Redis every page is checked. ``render(items)`` makes the page's cards
    (``events.read_model.cards``).
    """
    snap = snapshot(now=now)
    current = generation()
    key = (sort, tuple(after) if after else None, size, host)
    memo = _pages.get(key)
    if current is not None and memo is not None:
        memo_generation, memo_snapshot, until, body, etag = memo
        if memo_generation == current and memo_snapshot is snap and now < until:
            return body, etag
    found = page(sort=sort, after=after, size=size, now=now, snap=snap)
    body = finish(render(found.items), found.next_key)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if current is not None:
        until = min((snap.lock_at[item["pk"]] for item in found.items), default=_FAR)
        _pages.put(key, (current, snap, until, body, etag))
    return body, etag


_FAR = datetime.max.replace(tzinfo=UTC)


def page(
    *, sort: str, after: list | None, size: int, now: datetime, snap: Snapshot | None = None
) -> Page:
    """Up to ``size`` listed events after the sort key ``after``, each checked in the database."""
    snap = snap or snapshot(now=now)
    keys, pks = snap.keys[sort], snap.pks[sort]
    index = bisect.bisect_right(keys, tuple(after)) if after else 0
    found: list[tuple] = []  # (position, participant_count, revision, draw_at, lock_at)
    checks = 0
    more = False
    while len(found) < size and index < len(keys) and checks < _MAX_CHECKS:
        positions = []
        while index < len(keys) and len(positions) < size - len(found) + _SLACK:
            if snap.lock_at[pks[index]] > now:
                positions.append(index)
            index += 1
        live = still_listed([pks[p] for p in positions], now=now) if positions else {}
        checks += 1
        for position in positions:
            state = live.get(pks[position])
            if state is None:
                continue
            if len(found) == size:
                more = True  # a listed event after the page: there is a next page
                break
            found.append((position, *state))
    if len(found) == size and index < len(keys):
        more = True
    items = [
        {
            "pk": pks[position],
            "participant_count": count,
            "revision": revision,
            "draw_at": draw_at,
            "lock_at": lock_at,
            "recent_joins": snap.recent_joins[pks[position]],
        }
        for position, count, revision, draw_at, lock_at in found
    ]
    if more:
        next_key = list(keys[found[-1][0]])
    elif len(found) < size and index < len(keys):
        # Too many candidates had left since the snapshot: go on from the last one checked.
        next_key = list(keys[index - 1])
    else:
        next_key = None
    return Page(items=items, next_key=next_key)


def still_listed(pks: list[int], *, now: datetime) -> dict[int, tuple]:
    """Which of ``pks`` the square may list now: id -> (participant_count, revision, draw_at,
    lock_at), the card's live fields.

    Plain SQL on the primary key: it runs for every page checked of the most read page
    (unmeasured against the ORM by a benchmark).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _still_listed_sql(len(pks)), [*pks, connection.ops.adapt_datetimefield_value(now)]
        )
        return {
            pk: (count, revision, aware_utc(draw_at), aware_utc(lock_at))
            for pk, count, revision, draw_at, lock_at in cursor.fetchall()
        }


@functools.cache
def _still_listed_sql(count: int) -> str:
    marks = ", ".join(["%s"] * count)
    return (
        "SELECT id, participant_count, revision, draw_at, lock_at "  # noqa: S608
        f"FROM {Event._meta.db_table} "
        f"WHERE id IN ({marks}) AND status = {Event.Status.INIT} "
        f"AND visibility = '{Event.Visibility.PUBLIC}' AND moderation = '{Event.Moderation.OK}' "
        "AND text_unchecked = 0 AND lock_at > %s "
        f"AND creator_id IN (SELECT id FROM {User._meta.db_table} WHERE is_active = 1)"
    )


# --- hot: joins per hour, in Redis -------------------------------------------------------------


def _hour(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


def _hours(now: datetime) -> list[int]:
    current = _hour(now)
    return list(range(current - settings.SQUARE_HOT_WINDOW_HOURS + 1, current + 1))


def _bucket(hour: int) -> str:
    return cache.make_key(f"square:joins:{hour}")


def _built_key() -> str:
    return cache.make_key("square:built")


def count_join(*, event_id: int, at: datetime, delta: int) -> None:
    """Count a committed join (``delta=-1``: the withdrawal of an entry made ``at``).

    In memory; pushed to Redis with the next push due (no round trip of its own on most joins).
    Called by the read model's change hook after the commit.
    """
    if _joins.add((_hour(at), event_id), delta):
        _joins.push()


def push() -> None:
    """Push this process's pending join counts to Redis (one pipeline); never raises."""
    _joins.push()


def _send(client, pending: dict[tuple[int, int], int]) -> bool:
    # A withdrawal of an entry older than the window changes nothing there.
    window = set(_hours(timezone.now()))
    ttl = (settings.SQUARE_HOT_WINDOW_HOURS + 1) * 3600
    pipe = client.pipeline(transaction=False)
    for (hour, event_id), delta in pending.items():
        if hour in window:
            pipe.zincrby(_bucket(hour), delta, event_id)
            pipe.expire(_bucket(hour), ttl)
    pipe.execute()
    return True


def _lost(pending: dict) -> None:
    global _dirty
    _dirty = True  # these joins are in the entries table: a rebuild will count them
    logger.warning("square: %d join counts not pushed (redis down)", len(pending))


# (hour, event id) -> joins counted here, not pushed yet
_joins = WriteBehindCounter(
    interval=lambda: settings.SQUARE_REFRESH_SECONDS, push=_send, lost=_lost
)
_dirty = False  # a push failed: rebuild the hour sets from the database when Redis answers


def _forget_joins() -> None:
    global _dirty
    _joins.reset()
    _dirty = False


caches.register(
    name="square.hot",
    holds="joins per event and hour over the last SQUARE_HOT_WINDOW_HOURS (Redis sorted sets "
    "square:joins:<hour>), plus each process's joins not pushed yet",
    where=caches.BOTH,
    freshness="a process's joins pushed at most every SQUARE_REFRESH_SECONDS (write-behind, with "
    "its next join or re-sort); rebuilt from the entries table after a failed push, when "
    "Redis lost them, and every SQUARE_REBUILD_SECONDS",
    invalidated_by="event_changed (entry): counted on commit",
    benchmark="unmeasured on its own: the join pays no Redis round trip for it (bench/join)",
    reset=_forget_joins,
)


def recent_joins(*, pks: list[int], now: datetime) -> dict[int, int]:
    """Joins in the hot window per event of ``pks``: from Redis, else from the entries table."""
    global _dirty
    client = redis_breaker.client()
    if client is not None and redis_breaker.available():
        _joins.push()
        if _dirty:
            _dirty = not redis_breaker.call(lambda: _rebuild(client, now=now), fallback=False)
        counts = redis_breaker.call(lambda: _read(client, now=now), fallback=None)
        if counts is not None:
            return {pk: counts[pk] for pk in pks if counts.get(pk, 0) > 0}
    return _counted(pks=pks, since=_window_start(now), now=now)


def _read(client, *, now: datetime) -> dict[int, int] | None:
    pipe = client.pipeline(transaction=False)
    pipe.exists(_built_key())
    pipe.zunion([_bucket(hour) for hour in _hours(now)], withscores=True)
    built, counts = pipe.execute()
    if not built:
        _rebuild(client, now=now)
        counts = client.zunion([_bucket(hour) for hour in _hours(now)], withscores=True)
    return {int(member): int(score) for member, score in counts}


def _window_start(now: datetime) -> datetime:
    return datetime.fromtimestamp(_hours(now)[0] * 3600, tz=UTC)


def _counted(*, pks: list[int], since: datetime, now: datetime) -> dict[int, int]:
    """Joins since ``since`` per event, from the entries table (Redis down or rebuilding)."""
    if not pks:
        return {}
    rows = (
        Entry.objects.filter(event_id__in=pks, created_at__gte=since, created_at__lte=now)
        .values_list("event_id")
        .annotate(joins=Count("pk"))
        .order_by()
    )
    return dict(rows)


def _rebuild(client, *, now: datetime) -> bool:
    """Replace the hour sets with the entries table's counts, for the listed events."""
    since = _window_start(now)
    pks = list(listed().filter(lock_at__gt=now).values_list("pk", flat=True))
    buckets: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    entries = Entry.objects.filter(event_id__in=pks, created_at__gte=since).values_list(
        "event_id", "created_at"
    )
    for event_id, created_at in entries.iterator(chunk_size=5000) if pks else ():
        buckets[_hour(created_at)][event_id] += 1
    ttl = (settings.SQUARE_HOT_WINDOW_HOURS + 1) * 3600
    pipe = client.pipeline(transaction=True)
    for hour in _hours(now):
        pipe.delete(_bucket(hour))
        if buckets.get(hour):
            pipe.zadd(_bucket(hour), dict(buckets[hour]))
            pipe.expire(_bucket(hour), ttl)
    pipe.set(_built_key(), now.isoformat(), ex=max(1, int(settings.SQUARE_REBUILD_SECONDS)))
    pipe.execute()
    logger.info("square: hot counts rebuilt from the entries table (%d events)", len(pks))
    return True
