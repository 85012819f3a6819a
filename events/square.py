"""The public square: public events still open for joining, by ``hot``, ``soon`` or ``new``.

It is the most read page of the app, so a request does as little as possible:

- **The order** comes from a snapshot each process keeps in memory: the listed events' ids,
  times and recent joins, sorted three ways. It is rebuilt at most every
  SQUARE_REFRESH_SECONDS (one indexed query, one Redis round trip), and at once in a process
  that changed what the square lists (``changed``). A newly public event appears within that
  bound.
- **``hot``** counts joins in the last SQUARE_HOT_WINDOW_HOURS, in Redis sorted sets, one per
  hour (``square:joins:<hour>``: event id -> joins that hour). Each process counts its joins in
  memory and pushes them at most every SQUARE_REFRESH_SECONDS (as the throttle counts do), so a
  join costs no Redis round trip of its own. Redis is an accelerator: while it is down the
  counts come from the entries table; a process whose push failed rebuilds the hour sets from
  the entries table once Redis answers again, and so does the first process to find them gone
  (a restarted Redis) or older than SQUARE_REBUILD_SECONDS.
- **Whether an event is listed** is decided by the database: a page's candidate ids are checked
  in one primary-key query (public, ``ok``, text checked, INIT, lock time still ahead, creator
  not banned), which
  also reads the live entrant count and the card's revision. The checked page is then served
  again, without a query, while the square's generation in Redis has not moved (one GET per
  request), this process has not re-sorted, and none of its events reached its lock time. Every
  change of what the square lists (``changed``: cancel, hide, review, visibility, lock) moves
  the generation on commit, so a canceled, hidden, locked or drawn event leaves at once, in
  every process. Without Redis every page is checked. Should a generation write fail while
  readers still reach Redis, a page checked before is served at most until its process
  re-sorts (SQUARE_REFRESH_SECONDS); so is a change written around the services (a shell).
- **The card** (title, cover, creator, prizes) is rendered once per process and revision, as
  the event detail's public part is (events.views).
"""

import bisect
import functools
import hashlib
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from events.models import Entry, Event
from lottery_site import redis_breaker

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
_CARD_TTL_SECONDS = 60  # a creator's new nickname or avatar shows within this
_CARD_MEMO_SIZE = 5000


def listed() -> QuerySet[Event]:
    """Events the square may list, but for the lock time (compare ``lock_at`` with now).

    Not a banned creator's: they leave with the ban and come back with an unban (the ban moves
    the generation through ``accounts.services.ban_changed``, see events.apps).
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


def changed() -> None:
    """What the square lists changed (made public, hidden, canceled, locked...), once committed.

    This process re-sorts on its next request; every process drops the pages it checked (the
    generation in Redis moves). Should that write fail, a page checked before stays served at
    most until its process re-sorts (SQUARE_REFRESH_SECONDS).
    """
    transaction.on_commit(_changed)


def _changed() -> None:
    global _snapshot
    _snapshot = None
    _pages.clear()
    client = redis_breaker.client()
    if client is not None and not redis_breaker.call(
        lambda: client.incr(_generation_key()) is not None, fallback=False
    ):
        logger.warning("square: generation not moved (redis down)")


def _generation_key() -> str:
    return cache.make_key("square:generation")


def generation() -> bytes | None:
    """The square's generation (one Redis GET); None without Redis: check every page."""
    backend = caches["default"]
    if _generation_reader[0] is not backend:  # the first call, or the cache was replaced
        client = redis_breaker.client()
        reader = None
        if client is not None:
            key = _generation_key()
            reader = functools.partial(_read_generation, client.get, key)
        _generation_reader[:] = [backend, reader]
    reader = _generation_reader[1]
    return None if reader is None else redis_breaker.call(reader, fallback=None)


def _read_generation(get, key: str) -> bytes:
    return get(key) or b"0"


# [the cache backend it was made for, a callable reading the generation (None: no Redis)]:
# the most read page asks on every request, so the client and key are looked up once.
_generation_reader: list = [None, None]


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


def reset() -> None:
    """Forget this process's snapshot, cards and unpushed joins (tests)."""
    global _snapshot, _dirty
    _snapshot = None
    _cards.clear()
    _pages.clear()
    with _pending_lock:
        _pending.clear()
    _dirty = False


# --- a page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[dict]  # (event id, live entrant count, revision, recent joins)
    next_key: list | None


# (sort, after, size, host) -> (generation, snapshot, valid until, body, ETag)
_pages: dict[tuple, tuple] = {}
_PAGE_MEMO_SIZE = 2000


def listing(
    *, sort: str, after: list | None, size: int, now: datetime, host: str, render, finish
) -> tuple[bytes, str]:
    """A page of the square as the response body ``finish(cards, next key)`` makes, and its ETag.

    A page once checked in the database is served again, body and all, without checking while
    nothing left the square (the generation in Redis has not moved: one GET), this process has
    not re-sorted (at most SQUARE_REFRESH_SECONDS) and none of its events reached its lock
    time. Without Redis every page is checked.
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
    body = finish(cards(found.items, render=render, host=host), found.next_key)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if current is not None:
        until = min((snap.lock_at[item["pk"]] for item in found.items), default=_FAR)
        if len(_pages) >= _PAGE_MEMO_SIZE:
            _pages.clear()
        _pages[key] = (current, snap, until, body, etag)
    return body, etag


_FAR = datetime.max.replace(tzinfo=UTC)


def page(
    *, sort: str, after: list | None, size: int, now: datetime, snap: Snapshot | None = None
) -> Page:
    """Up to ``size`` listed events after the sort key ``after``, each checked in the database."""
    snap = snap or snapshot(now=now)
    keys, pks = snap.keys[sort], snap.pks[sort]
    index = bisect.bisect_right(keys, tuple(after)) if after else 0
    found: list[tuple[int, int, int]] = []  # (position, participant_count, revision)
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
            "recent_joins": snap.recent_joins[pks[position]],
        }
        for position, count, revision in found
    ]
    if more:
        next_key = list(keys[found[-1][0]])
    elif len(found) < size and index < len(keys):
        # Too many candidates had left since the snapshot: go on from the last one checked.
        next_key = list(keys[index - 1])
    else:
        next_key = None
    return Page(items=items, next_key=next_key)


def still_listed(pks: list[int], *, now: datetime) -> dict[int, tuple[int, int]]:
    """Which of ``pks`` the square may list now: id -> (participant_count, revision).

    Plain SQL on the primary key: it runs on every request of the most read page.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _still_listed_sql(len(pks)), [*pks, connection.ops.adapt_datetimefield_value(now)]
        )
        return {pk: (count, revision) for pk, count, revision in cursor.fetchall()}


@functools.cache
def _still_listed_sql(count: int) -> str:
    marks = ", ".join(["%s"] * count)
    return (
        f"SELECT id, participant_count, revision FROM {Event._meta.db_table} "  # noqa: S608
        f"WHERE id IN ({marks}) AND status = {Event.Status.INIT} "
        f"AND visibility = '{Event.Visibility.PUBLIC}' AND moderation = '{Event.Moderation.OK}' "
        "AND text_unchecked = 0 AND lock_at > %s "
        f"AND creator_id IN (SELECT id FROM {User._meta.db_table} WHERE is_active = 1)"
    )


# --- cards -------------------------------------------------------------------------------------

# (event id, host) -> (revision, expires at (monotonic), the rendered public part)
_cards: dict[tuple[int, str], tuple[int, float, dict]] = {}


def cards(items: list[dict], *, render, host: str) -> list[dict]:
    """The page's items as cards: the memoized public part and the live fields.

    ``render(events)`` renders Event objects (with PICTURED and prizes) into dicts; it is
    called once per request for the cards missing or out of date, if any.
    """
    clock = time.monotonic()
    missing = []
    for item in items:
        memo = _cards.get((item["pk"], host))
        if memo is None or memo[0] != item["revision"] or memo[1] <= clock:
            missing.append(item["pk"])
    if missing:
        from events.selectors import PICTURED, _prizes_with_pictures

        events = (
            Event.objects.filter(pk__in=missing)
            .select_related(*PICTURED)
            .prefetch_related(Prefetch("prizes", queryset=_prizes_with_pictures()))
        )
        if len(_cards) >= _CARD_MEMO_SIZE:
            _cards.clear()
        for event, rendered in zip(events, render(list(events)), strict=True):
            _cards[(event.pk, host)] = (event.revision, clock + _CARD_TTL_SECONDS, rendered)
    result = []
    for item in items:
        memo = _cards.get((item["pk"], host))
        if memo is None:  # gone meanwhile (cannot happen: events are never deleted)
            continue
        result.append(
            {
                **memo[2],
                "participant_count": item["participant_count"],
                "recent_joins": item["recent_joins"],
            }
        )
    return result


# --- hot: joins per hour, in Redis -------------------------------------------------------------

_pending_lock = threading.Lock()
_pending: dict[tuple[int, int], int] = defaultdict(int)  # (hour, event id) -> joins not pushed
_next_push = 0.0
_dirty = False  # a push failed: rebuild the hour sets from the database when Redis answers


def _hour(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


def _hours(now: datetime) -> list[int]:
    current = _hour(now)
    return list(range(current - settings.SQUARE_HOT_WINDOW_HOURS + 1, current + 1))


def _bucket(hour: int) -> str:
    return cache.make_key(f"square:joins:{hour}")


def _built_key() -> str:
    return cache.make_key("square:built")


def joined(*, event_id: int, at: datetime, delta: int = 1) -> None:
    """Count a join (``delta=-1``: a withdrawal of an entry made ``at``) once committed.

    In memory; pushed to Redis with the next push due (no round trip of its own on most joins).
    """
    transaction.on_commit(functools.partial(_count, event_id, _hour(at), delta))


def _count(event_id: int, hour: int, delta: int) -> None:
    with _pending_lock:
        _pending[(hour, event_id)] += delta
        due = time.monotonic() >= _next_push
    if due:
        push()


def push() -> None:
    """Push this process's pending join counts to Redis (one pipeline); never raises."""
    global _next_push, _dirty
    with _pending_lock:
        _next_push = time.monotonic() + settings.SQUARE_REFRESH_SECONDS
        pending = dict(_pending)
        _pending.clear()
    window = set(_hours(timezone.now()))
    # A withdrawal of an entry older than the window changes nothing there.
    pending = {key: delta for key, delta in pending.items() if key[0] in window and delta}
    client = redis_breaker.client()
    if not pending or client is None:
        return
    ttl = (settings.SQUARE_HOT_WINDOW_HOURS + 1) * 3600

    def send() -> bool:
        pipe = client.pipeline(transaction=False)
        for (hour, event_id), delta in pending.items():
            pipe.zincrby(_bucket(hour), delta, event_id)
            pipe.expire(_bucket(hour), ttl)
        pipe.execute()
        return True

    if not redis_breaker.call(send, fallback=False):
        _dirty = True  # these joins are in the entries table: a rebuild will count them
        logger.warning("square: %d join counts not pushed (redis down)", len(pending))


def recent_joins(*, pks: list[int], now: datetime) -> dict[int, int]:
    """Joins in the hot window per event of ``pks``: from Redis, else from the entries table."""
    global _dirty
    client = redis_breaker.client()
    if client is not None and redis_breaker.available():
        push()
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
