#!/usr/bin/env python
"""bench/draw: drawing N entrants (1,000,000 by default; built for 10,000,000) for 1,000 prize
units with a drand beacon round, against the bare read floor measured in the same run.

    BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306/lottery_bench_draw \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \
    .venv/bin/python bench/draw.py [--entrants 10000000] [--rounds 5] [--reuse]

Set-up (not timed as part of the draw): a fresh MySQL database, N users and N entries loaded
with multi-row INSERTs streamed from a generator (no ORM objects, no list of N ids: the loader's
memory is flat too), one event with 1 + 9 + 90 + 900 prize units created with a beacon
configured (a local drand relay, tests/fake_drand.py, on loopback), locked by
``draws.services.event_lock`` (timed: it freezes and digests the list and names the round).
The named round is then fetched from the relay and verified exactly as the worker does
(``draws.services.fetch_round``; timed and reported as ``beacon_fetch_verify_seconds``, paid
once per draw before it, outside its transaction) and stored on the event, as the worker
stores it.

Each round runs two fresh child processes, in alternating order:

- floor: the entry keys of the event streamed with a raw MySQLdb ``SSCursor``,
  ``fetchmany(10000)``: the least any draw that reads the entrant list must spend;
- draw: ``draws.services.event_draw`` exactly as the worker runs it, with the verified round:
  reads and re-digests the frozen list, allocates (v3: the beacon's randomness mixed in),
  writes the 1,000 winners, the prizes' awarded counts and the "draw" log row (the
  notifications outbox), and commits.

Each child reports its wall time and its peak RSS (VmHWM: the whole process, Django
included): the draw streams the list in batches and keeps nothing per entrant, so its memory
is flat in N. Between rounds the draw is undone with raw SQL, a reset only a benchmark does
(the beacon round stays). Up to 2,000,000 entrants the last draw is checked with ``manage.py
verify_draw`` (which holds the sorted list in memory; skipped above that). Figures are
medians over the rounds; the goal is draw <= 1.2 x floor and peak RSS <= 128 MB.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_ENV, REPO, RESULTS, median, setup_django  # noqa: E402

PRIZES = [("一等奖", 1), ("二等奖", 9), ("三等奖", 90), ("参与奖", 900)]
INSERT_BATCH = 10_000
ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


# --- loading ----------------------------------------------------------------------------------


def multi_row_insert(model, columns: dict, rows) -> None:
    """INSERT rows of ``model``: ``columns`` fixed for every row, ``rows`` yields the rest.

    Every other non-null column gets its model default, so the loader keeps working when
    someone adds a column with a default.
    """
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    fixed = dict(columns)
    varying = None
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in fixed or field.null:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fixed[field.column] = now
        elif field.has_default():
            fixed[field.column] = field.get_default()
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            if varying is None:
                varying = list(row)
                for column in varying:
                    fixed.pop(column, None)
                names = ", ".join(varying + list(fixed))
                marks = ", ".join(["%s"] * (len(varying) + len(fixed)))
                sql = f"INSERT INTO {model._meta.db_table} ({names}) VALUES ({marks})"  # noqa: S608
                tail = list(fixed.values())
            batch.append([*row.values(), *tail])
            if len(batch) == INSERT_BATCH:
                cursor.executemany(sql, batch)  # mysqlclient sends one multi-row INSERT
                batch = []
        if batch:
            cursor.executemany(sql, batch)


# A bijection of [0, 36^16): n -> (n * MULTIPLIER + OFFSET) mod 36^16 (the multiplier is prime
# to 36). Distinct, random-looking ids (so key order != insertion order) without holding them.
ID_SPACE = 36**16
MULTIPLIER = 0x9E3779B97F4A7C15F39CC0605CEDC835
OFFSET = 20261125


def public_ids(count: int):
    """``count`` distinct user ids as lottery_site.ids makes them, generated one at a time."""
    for n in range(count):
        value = (n * MULTIPLIER + OFFSET) % ID_SPACE
        digits = []
        for _ in range(16):
            value, digit = divmod(value, 36)
            digits.append(ID_ALPHABET[digit])
        yield "u_" + "".join(digits)


def load(entrants: int) -> int:
    from django.db import connection, transaction
    from django.db.models import Max, Min
    from django.utils import timezone

    from accounts.models import User
    from draws import services
    from events.models import Entry, Event
    from events.services.events import event_create

    started = time.perf_counter()
    multi_row_insert(
        User,
        {"password": "!", "is_superuser": False},
        (
            {"public_id": key, "openid": f"bench-draw-{n}"}
            for n, key in enumerate(public_ids(entrants))
        ),
    )
    now = timezone.now()
    event = event_create(
        creator=User.objects.get(openid="bench-draw-0"),
        title="百万人抽奖",
        draw_at=now + timedelta(hours=1),
        prizes=[{"name": name, "quantity": quantity} for name, quantity in PRIZES],
        now=now,
    )
    assert not event.without_beacon, "the bench draws with a beacon"
    first, last = (
        User.objects.filter(openid__startswith="bench-draw-")
        .aggregate(first=Min("id"), last=Max("id"))
        .values()
    )
    # Every bench user enters, keyed by public id: server-side INSERT ... SELECT, in slices
    # of the users' ids so no single transaction holds millions of rows.
    for start in range(first, last + 1, ENTRY_SLICE):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Entry._meta.db_table} (event_id, user_id, user_key, created_at) "  # noqa: S608
                f"SELECT %s, id, public_id, %s FROM {User._meta.db_table} "
                "WHERE id >= %s AND id < %s AND openid LIKE 'bench-draw-%%'",
                [event.pk, now, start, start + ENTRY_SLICE],
            )
    Event.objects.filter(pk=event.pk).update(participant_count=entrants)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {Entry._meta.db_table}")  # noqa: S608
    print(f"loaded {entrants:,} users and entries in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    # Locked now (as a manual draw or a reached target would), so its round is seconds away.
    assert services.event_lock(event_id=event.pk, now=timezone.now(), early=True)
    print(f"lock (freeze list, digest it, name the round): {time.perf_counter() - started:.3f} s")
    return event.pk


ENTRY_SLICE = 500_000


def fetch_beacon(event_id: int) -> float:
    """The named round fetched from the local relay and verified, as the worker does; stored.

    Returns the seconds the fetch and the BLS verification took.
    """
    from django.utils import timezone

    from beacon import drand
    from draws import services
    from events.models import Event

    event = Event.objects.get(pk=event_id)
    chain = drand.Chain.from_json(event.beacon_chain)
    RELAY.state.publish(event.beacon_round)
    out_at = chain.round_time(event.beacon_round)
    wait = out_at - time.time()
    assert wait < 60, f"round {event.beacon_round} is {wait:.0f} s away"
    time.sleep(max(0.0, wait))  # a round is fetched once it is out
    started = time.perf_counter()
    beacon = services.fetch_round(chain=chain, round_number=event.beacon_round, now=timezone.now())
    seconds = time.perf_counter() - started
    assert beacon is not None, "the local relay did not serve a valid round"
    Event.objects.filter(pk=event_id).update(beacon=beacon)
    return seconds


RELAY = None  # the local drand relay of this run (tests/fake_drand.py), started by main()


def start_relay() -> None:
    """A drand relay on loopback, and the beacon settings that point event creation at it."""
    global RELAY
    from tests.fake_drand import FakeDrandRelay

    period = 3
    RELAY = FakeDrandRelay(period=period, genesis_time=int(time.time()) - 1000 * period)
    RELAY.__enter__()
    os.environ.update(
        DRAND_URLS=RELAY.url,
        DRAND_CHAINS=json.dumps([RELAY.state.info()]),
        DRAND_CHAIN_HASH=RELAY.state.chain_hash,
        LOTTERY_REVEAL_GAP_SECONDS="0",
    )


def reuse(entrants: int) -> int | None:
    """The locked event of a previous run of the same size, reset to before its draw."""
    os.environ.update(BENCH_ENV)
    import django

    django.setup()
    from events.models import Event

    event = Event.objects.filter(
        title="百万人抽奖", entrant_count=entrants, beacon__isnull=False
    ).first()
    if event is None:
        return None
    reset_draw(event.pk)
    print(f"reusing event {event.public_id} with {entrants:,} entrants")
    return event.pk


def reset_draw(event_id: int) -> None:
    """Undo a draw so the next round draws again. Only a benchmark ever does this."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_entry SET prize_id = NULL, prize_rank = NULL "
            "WHERE event_id = %s AND prize_id IS NOT NULL",
            [event_id],
        )
        cursor.execute("UPDATE events_prize SET awarded = 0 WHERE event_id = %s", [event_id])
        cursor.execute(
            "DELETE FROM events_eventlog WHERE event_id = %s AND action = 'draw'", [event_id]
        )
        cursor.execute(
            "UPDATE events_event SET status = 1, drawn_at = NULL, "
            "beacon_missing_reason = '' WHERE id = %s",
            [event_id],
        )


# --- the two measured children ----------------------------------------------------------------


def child(kind: str, event_id: int) -> dict:
    import django

    django.setup()
    from django.db import connection

    from events.models import Event

    event = Event.objects.get(pk=event_id)
    connection.ensure_connection()
    rss_before = peak_rss_mb()
    if kind == "floor":
        seconds, rows = floor(event_id)
    else:
        from draws import services

        assert event.beacon, "the draw is measured with its verified round"
        started = time.perf_counter()
        assert services.event_draw(event_id=event_id, now=event.draw_at)
        seconds, rows = time.perf_counter() - started, event.entrant_count
    return {"seconds": seconds, "rows": rows, "rss_before_mb": rss_before, "peak_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across fork and exec, so a child
    would report its parent's peak (here, the loader's million ids).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(event_id: int) -> tuple[float, int]:
    """The entry keys of the event, canonical order, raw SSCursor: nothing can read them faster."""
    import MySQLdb
    import MySQLdb.cursors
    from django.db import connection

    settings = connection.settings_dict
    raw = MySQLdb.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 3306),
        user=settings["USER"],
        password=settings["PASSWORD"],
        database=settings["NAME"],
        charset="utf8mb4",
    )
    rows = 0
    started = time.perf_counter()
    cursor = raw.cursor(MySQLdb.cursors.SSCursor)
    cursor.execute(
        "SELECT user_key FROM events_entry WHERE event_id = %s ORDER BY user_key", [event_id]
    )
    while batch := cursor.fetchmany(10_000):
        rows += len(batch)
    cursor.close()
    seconds = time.perf_counter() - started
    raw.close()
    return seconds, rows


def run_child(kind: str, event_id: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--event-id", str(event_id)],
        cwd=REPO,
        env={**os.environ, **BENCH_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- main -------------------------------------------------------------------------------------


VERIFY_UP_TO = 2_000_000  # manage.py verify_draw sorts the whole list in memory


def verify(event_id: int) -> None:
    from django.core.management import call_command

    from events.models import Event

    call_command("verify_draw", Event.objects.get(pk=event_id).public_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entrants", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of the previous run (same size)"
    )
    parser.add_argument("--child", choices=["floor", "draw"])
    parser.add_argument("--event-id", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.event_id)))
        return

    RESULTS.mkdir(parents=True, exist_ok=True)
    start_relay()
    try:
        event_id = reuse(args.entrants) if args.reuse else None
        if event_id is None:
            setup_django()
            event_id = load(args.entrants)
            beacon_seconds = fetch_beacon(event_id)
        else:
            beacon_seconds = None
        summary = measure(args, event_id)
    finally:
        RELAY.__exit__(None, None, None)
    summary["beacon_fetch_verify_seconds"] = beacon_seconds
    print(json.dumps(summary, indent=2))
    (RESULTS / "draw.json").write_text(json.dumps(summary, indent=2))


def measure(args, event_id: int) -> dict:
    rounds = []
    for number in range(1, args.rounds + 1):
        order = ["floor", "draw"] if number % 2 else ["draw", "floor"]
        result = {}
        for kind in order:
            result[kind] = run_child(kind, event_id)
            if kind == "draw":
                reset_draw(event_id)
        result["ratio"] = result["draw"]["seconds"] / result["floor"]["seconds"]
        rounds.append(result)
        print(
            f"round {number}: floor {result['floor']['seconds']:.3f} s "
            f"(peak {result['floor']['peak_mb']:.0f} MB), draw {result['draw']['seconds']:.3f} s "
            f"(peak {result['draw']['peak_mb']:.0f} MB, {result['draw']['rss_before_mb']:.0f} MB "
            f"before), draw/floor {result['ratio']:.2f}",
            flush=True,
        )
    assert run_child("draw", event_id)  # left drawn, and checked
    if args.entrants <= VERIFY_UP_TO:
        verify(event_id)
    else:
        print(f"verify_draw skipped above {VERIFY_UP_TO:,} entrants (it sorts the list in memory)")
    return {
        "entrants": args.entrants,
        "prize_units": sum(quantity for _, quantity in PRIZES),
        "with_beacon": True,
        "rounds": args.rounds,
        "floor_seconds": median(r["floor"]["seconds"] for r in rounds),
        "draw_seconds": median(r["draw"]["seconds"] for r in rounds),
        "draw_over_floor": median(r["ratio"] for r in rounds),
        # The fastest run of each is the least disturbed by the other tenants of the machine.
        "floor_seconds_min": min(r["floor"]["seconds"] for r in rounds),
        "draw_seconds_min": min(r["draw"]["seconds"] for r in rounds),
        "draw_min_over_floor_min": min(r["draw"]["seconds"] for r in rounds)
        / min(r["floor"]["seconds"] for r in rounds),
        "draw_peak_rss_mb": max(r["draw"]["peak_mb"] for r in rounds),
        "draw_rss_before_draw_mb": median(r["draw"]["rss_before_mb"] for r in rounds),
        "floor_peak_rss_mb": max(r["floor"]["peak_mb"] for r in rounds),
        "goals": {"draw_over_floor_max": 1.2, "draw_peak_rss_mb_max": 128},
    }


if __name__ == "__main__":
    main()
