"""A Redis mirror of each open event's live state, so that its detail is read without a query.

The event detail is the most read endpoint, and its one database read (status, times, count,
the caller's own entry) cost as much as everything else it does. For an event still open for
joining (INIT), a hash in Redis holds the same: ``_live`` (status, times, revision),
``_n`` (the entrant count) and one field per user who joined or withdrew
(``u<user pk>`` -> ``<seq>:<joined at, µs>``, empty after a withdrawal). The detail reads it
with one HMGET; the database stays the truth, and the mirror is only ever used as a whole:

- **Every join and withdrawal** bumps ``Event.entry_seq`` under the event row's lock, so the
  sequence numbers are the database's own order of those changes, without gaps (a rolled back
  change rolls back its number). After the commit the change is recorded in the mirror
  (``record``, one script call) with its number: a user's field only moves forward, so two
  changes of one user arriving out of order leave the later one.
- **A change the mirror missed** (Redis down or paused, a process killed between its commit
  and the record) is found by numbers: each record also sets bit ``seq`` of a bitmap, and
  every process, at most every EVENT_MIRROR_CHECK_SECONDS per event it serves, reads the event
  row (one primary-key query) and asks the mirror for the first number up to the row's that is
  not there (past the bitmap's end too: every number there is missing). While a number found
  missing has not arrived, that process reads the database; a number still missing at the next
  check was lost, not late: the mirror is dropped and built again. A ``_live`` that differs
  from the row is dropped at once. So a missed change shows within one check period in every
  process, whatever wrote it, and the mirror is whole again within two.
- **Everything else the detail shows** changes through a service that calls the read model's
  change hook (``events.read_model.event_changed``: edits, pictures, cancel, lock, draw, a
  count target reached); those drop the mirror on commit (``forget``), so the next read is the
  database's, at once.
- **Building** (``build``, by the first reader that finds no mirror, one at a time per event):
  the hash is created empty first, so changes recorded while the entries are read land in it;
  the entrant list is then loaded under the row's number at the time, and numbers at or below it
  are the list's (a later record wins, an earlier one is dropped). Until ``_live`` is set,
  readers use the database.

Without Redis (the embedded default, or an outage: ``redis_breaker``) nothing here is used, and
the detail reads the database as before.

What it buys, and costs (bench/join, docs/benchmarks.md, "The detail of an open event from a
Redis mirror"): the detail 0.452 -> 0.493 of the bare view (single rounds 0.36-0.57), the join
0.317 -> 0.282. Whether it stays is decided on ``bench/join.py --mirror alternate`` (issue 22).
Only the read model (``events.read_model``) calls this module.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from events.models import Entry, Event, aware_utc
from lottery_site import caches, redis_breaker
from lottery_site.redis_scripts import Script, command

logger = logging.getLogger(__name__)

MIRROR_TTL_SECONDS = 7 * 24 * 3600  # a mirror not rebuilt for a week is dropped by Redis
BUILD_LOCK_SECONDS = 30
LOAD_CHUNK = 500

# KEYS: hash, bitmap. ARGV: user field, seq, joined-at µs ("" for a withdrawal).
_RECORD = Script("""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = tonumber(ARGV[2])
redis.call('SETBIT', KEYS[2], seq, 1)
local base = tonumber(redis.call('HGET', KEYS[1], '_base') or '-1')
if seq <= base then return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local was = 0
if old then
  local oldseq, oldjoined = string.match(old, '^(%d+):(%d*)$')
  if tonumber(oldseq) >= seq then return 0 end
  if oldjoined ~= '' then was = 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
local now = 0
if ARGV[3] ~= '' then now = 1 end
if base >= 0 and now ~= was then redis.call('HINCRBY', KEYS[1], '_n', now - was) end
return 1
""")

# KEYS: hash. ARGV: build token, base seq, then (user field, joined-at µs) pairs.
_LOAD = Script("""
if redis.call('HGET', KEYS[1], '_building') ~= ARGV[1] then return 0 end
local base = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if (not old) or tonumber(string.match(old, '^(%d+):')) <= base then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[2] .. ':' .. ARGV[i + 1])
  end
end
return 1
""")

# KEYS: hash. ARGV: build token, base seq, live. Fields below the base that the list did not
# overwrite belong to users who were not entrants at the base: dropped. Then the count.
_FINISH = Script("""
if redis.call('HGET', KEYS[1], '_building') ~= ARGV[1] then return 0 end
local base = tonumber(ARGV[2])
local n = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 1) == 'u' then
    local seq, joined = string.match(all[i + 1], '^(%d+):(%d*)$')
    if tonumber(seq) < base then
      redis.call('HDEL', KEYS[1], all[i])
    elseif joined ~= '' then
      n = n + 1
    end
  end
end
redis.call('HSET', KEYS[1], '_base', base, '_n', n, '_live', ARGV[3])
redis.call('HDEL', KEYS[1], '_building')
return 1
""")

# KEYS: hash, bitmap. ARGV: live as the row has it, the row's seq, the first missing seq the
# previous check found (-1: none). Returns -2 (no mirror), -3 (dropped), -1 (nothing missing)
# or the first missing seq. BITPOS clamps its range to the bitmap's length, so a number past
# the bitmap's last byte (a lost change after which nothing was recorded) is looked for in the
# length instead: every number from the length on is missing.
_CHECK = Script("""
local base = redis.call('HGET', KEYS[1], '_base')
if not base then return -2 end
base = tonumber(base)
local previous = tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], '_live') ~= ARGV[1]
   or (previous > base and redis.call('GETBIT', KEYS[2], previous) == 0) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return -3
end
local seq = tonumber(ARGV[2])
if seq <= base then return -1 end
local bits = redis.call('STRLEN', KEYS[2]) * 8
if base + 1 >= bits then return base + 1 end
local found = redis.call('BITPOS', KEYS[2], 0, base + 1, math.min(seq, bits - 1), 'BIT')
if found >= 0 then return found end
if seq >= bits then return bits end
return -1
""")

# Whether the mirror of an event exists: a reader that finds none builds it.
MISSING = object()

# event pk -> (monotonic time of the next check, first missing seq found by the last one)
_checks = caches.Memo("event.mirror.checks", size=100_000, part_of="event.mirror")
# Events this process saw past INIT: never open again, so never mirrored (no Redis read).
_closed = caches.Memo("event.mirror.closed", size=100_000, part_of="event.mirror")

caches.register(
    name="event.mirror",
    holds="each open event's live row (status, times, revision), entrant count and every "
    "entrant's join time, in a Redis hash; a bitmap of the change numbers recorded",
    where=caches.REDIS,
    freshness="the viewer's own join or withdrawal at once; any change the mirror missed "
    "within about two EVENT_MIRROR_CHECK_SECONDS (each process compares the event row's change "
    "number with the bitmap at most that often per event)",
    invalidated_by="event_changed: entry (recorded), edited, picture, live (dropped), on commit",
    benchmark="bench/join: detail 0.452 -> 0.493, join 0.317 -> 0.282 of the bare view "
    '(docs/benchmarks.md, "The detail of an open event from a Redis mirror"); '
    "EVENT_MIRROR=0 turns it off (bench/join.py --mirror alternate)",
)  # its process state: the two memos above


def closed(event_pk: int) -> None:
    """The event is past INIT (statuses only move forward): no mirror for it, ever."""
    _closed.put(event_pk, True)


def record(*, event_pk: int, user_pk: int, seq: int, joined_at: datetime | None) -> None:
    """After the commit of change ``seq`` (a join at ``joined_at``, or a withdrawal: None)."""
    client = _client()
    if client is None:
        return
    keys = [_hash_key(event_pk), _bits_key(event_pk)]
    args = [f"u{user_pk}", seq, "" if joined_at is None else _micros(joined_at)]
    redis_breaker.call(lambda: _RECORD(client, keys, args), fallback=0)


def forget(event_pk: int) -> None:
    """Drop the mirror: what it holds besides the entries changed (or may have)."""
    client = _client()
    if client is not None:
        keys = (_hash_key(event_pk), _bits_key(event_pk))
        redis_breaker.call(lambda: client.delete(*keys), fallback=0)


def read(*, event_pk: int, user_pk: int | None):
    """(live row, entrant count, the user's joined-at or None) from the mirror.

    ``MISSING``: there is no mirror (the caller reads the database and builds one). None: use
    the database this time (no Redis, a closed event, or a change the last check found missing
    and not yet arrived: until it arrives or the next check drops the mirror, the mirror is not
    trusted).
    """
    client = _client()
    if client is None or event_pk in _closed or not redis_breaker.available():
        return None
    check = _checks.get(event_pk)
    if check is None or time.monotonic() >= check[0]:
        check = _check(client, event_pk)
    if check[1] >= 0:
        return None
    key = _hash_key(event_pk)
    field = f"u{user_pk}" if user_pk is not None else "u"
    live, count, entry = redis_breaker.call(
        lambda: command(client, "HMGET", key, "_live", "_n", field), fallback=(None, None, None)
    )
    if live is None:
        return MISSING
    joined = entry.split(b":", 1)[1] if entry is not None else b""
    return _unpack_live(live), int(count), _from_micros(int(joined)) if joined else None


def build(event_pk: int) -> bool:
    """Build the event's mirror from the database, unless another process is building it."""
    client = _client()
    if client is None or not redis_breaker.available():
        return False
    return redis_breaker.call(lambda: _build(client, event_pk), fallback=False)


def _client():
    return redis_breaker.client() if settings.EVENT_MIRROR else None


def _build(client, event_pk: int) -> bool:
    key, bits, lock = _hash_key(event_pk), _bits_key(event_pk), _lock_key(event_pk)
    token = f"{time.time_ns()}"
    if not client.set(lock, token, nx=True, ex=BUILD_LOCK_SECONDS):
        return False
    try:
        pipe = client.pipeline()
        pipe.delete(key, bits)
        pipe.hset(key, "_building", token)
        pipe.setbit(bits, 0, 0)
        pipe.expire(key, MIRROR_TTL_SECONDS)
        pipe.expire(bits, MIRROR_TTL_SECONDS)
        pipe.execute()
        row = _live_row(event_pk)
        if row is None or row[0] != Event.Status.INIT:
            client.delete(key, bits)
            return False
        base = row[-1]
        members = Entry.objects.filter(event_id=event_pk).values_list("user_id", "created_at")
        chunk: list = []
        for user_pk, joined_at in members.iterator(chunk_size=2000):
            chunk += [f"u{user_pk}", _micros(joined_at)]
            if len(chunk) >= 2 * LOAD_CHUNK:
                _LOAD(client, [key], [token, base, *chunk])
                chunk = []
        if chunk:
            _LOAD(client, [key], [token, base, *chunk])
        return bool(_FINISH(client, [key], [token, base, _pack_live(row)]))
    finally:
        if client.get(lock) == token.encode():
            client.delete(lock)


def _check(client, event_pk: int) -> tuple[float, int]:
    """Compare the mirror with the event row; drop it if it missed a change (module docstring).

    Returns what it remembers for the event: (when to check again, the first change number
    found missing, -1 for none).
    """
    previous = _checks.get(event_pk, (0.0, -1))[1]
    check = _checks.put(event_pk, (time.monotonic() + settings.EVENT_MIRROR_CHECK_SECONDS, -1))
    row = _live_row(event_pk)
    if row is None:
        return check
    if row[0] != Event.Status.INIT:
        closed(event_pk)
    keys = [_hash_key(event_pk), _bits_key(event_pk)]
    args = [_pack_live(row), row[-1], previous]
    found = redis_breaker.call(lambda: _CHECK(client, keys, args), fallback=None)
    if found == -3:
        logger.warning("event %s: mirror out of step with the database, dropped", event_pk)
    elif found is not None and found >= 0:
        check = _checks.put(event_pk, (check[0], found))
    return check


def _live_row(event_pk: int) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_SQL, [event_pk])
        return cursor.fetchone()


_LIVE_SQL = (
    "SELECT status, draw_at, lock_at, cancel_reason, revision, entry_seq "  # noqa: S608
    f"FROM {Event._meta.db_table} WHERE id = %s"
)


def _pack_live(row: tuple) -> str:
    status, draw_at, lock_at, reason, revision, _seq = row
    return f"{status}|{_micros(draw_at)}|{_micros(lock_at)}|{revision}|{reason}"


def _unpack_live(packed: bytes) -> tuple:
    status, draw_at, lock_at, revision, reason = packed.decode().split("|", 4)
    return (
        int(status),
        _from_micros(int(draw_at)),
        _from_micros(int(lock_at)),
        reason,
        int(revision),
    )


def _micros(value: datetime | str) -> int:
    return (aware_utc(value) - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _hash_key(event_pk: int) -> str:
    return cache.make_key(f"event:{event_pk}:mirror")


def _bits_key(event_pk: int) -> str:
    return cache.make_key(f"event:{event_pk}:mirror:seqs")


def _lock_key(event_pk: int) -> str:
    return cache.make_key(f"event:{event_pk}:mirror:build")
