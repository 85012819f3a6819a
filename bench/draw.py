#!/usr/bin/env python
"""bench/draw: drawing 1,000,000 entrants for 1,000 prize units, against the bare read floor.

    BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306/lottery_bench_draw \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python bench/draw.py [--entrants 1000000] [--rounds 5]

Set-up (not timed as part of the draw): a fresh MySQL database, N users and N entries loaded
with multi-row INSERTs (no ORM objects), one event with 1 + 9 + 90 + 900 prize units, locked by
``draws.services.event_lock`` (the lock is timed and reported too).

Each round runs two fresh child processes, in alternating order:

- floor: the entry keys of the event streamed with a raw MySQLdb ``SSCursor``,
  ``fetchmany(10000)``: the least any draw that reads the entrant list must spend;
- draw: ``draws.services.event_draw`` exactly as the worker runs it: reads and re-digests the
  frozen list, allocates, writes the 1,000 winners, the prizes' awarded counts and the "draw"
  log row (the notifications outbox), and commits. No beacon configured: the v2 draw mixes in
  32 zero bytes;
- draw_beacon: the same draw with a beacon round already fetched and verified (stored on the
  event, as the worker does before drawing): what mixing the beacon in costs the draw itself.
  Fetching and verifying the round happen before, outside the draw; one BLS verification
  (py_ecc) is timed separately and reported as ``beacon_verify_seconds``.

Each child reports its wall time and its peak RSS (VmHWM: the whole process, Django
included). Between rounds the draw is undone with raw SQL, a reset only a benchmark does. The
last draw is checked with the public verifier. Figures are medians over the rounds.
"""

import argparse
import json
import os
import random
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


def public_ids(count: int) -> list[str]:
    """Random-looking user ids (as lottery_site.ids makes), so key order != insertion order."""
    rng = random.Random(20261125)  # benchmark data only; the draw itself never uses random
    ids: set[str] = set()
    while len(ids) < count:
        ids.add("u_" + "".join(rng.choices(ID_ALPHABET, k=16)))
    return list(ids)


def load(entrants: int) -> int:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from draws import services
    from events.models import Entry, Event
    from events.services import event_create

    started = time.perf_counter()
    keys = public_ids(entrants)
    multi_row_insert(
        User,
        {"password": "!", "is_superuser": False},
        ({"public_id": key, "openid": f"bench-draw-{n}"} for n, key in enumerate(keys)),
    )
    now = timezone.now()
    event = event_create(
        creator=User.objects.get(openid="bench-draw-0"),
        title="百万人抽奖",
        draw_at=now + timedelta(hours=1),
        prizes=[{"name": name, "quantity": quantity} for name, quantity in PRIZES],
        now=now,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # One server-side multi-row INSERT: every bench user enters, keyed by public id.
        cursor.execute(
            f"INSERT INTO {Entry._meta.db_table} (event_id, user_id, user_key, created_at) "  # noqa: S608
            f"SELECT %s, id, public_id, %s FROM {User._meta.db_table} "
            "WHERE openid LIKE 'bench-draw-%%'",
            [event.pk, now],
        )
        Event.objects.filter(pk=event.pk).update(participant_count=entrants)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {Entry._meta.db_table}")  # noqa: S608
    print(f"loaded {entrants:,} users and entries in {time.perf_counter() - started:.1f} s")

    event.refresh_from_db()
    started = time.perf_counter()
    assert services.event_lock(event_id=event.pk, now=event.lock_at)
    print(f"lock (freeze list, digest it): {time.perf_counter() - started:.3f} s")
    return event.pk


def reuse(entrants: int) -> int | None:
    """The locked event of a previous run of the same size, reset to before its draw."""
    os.environ.update(BENCH_ENV)
    import django

    django.setup()
    from events.models import Event

    event = Event.objects.filter(title="百万人抽奖", entrant_count=entrants).first()
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
            "UPDATE events_event SET status = 1, drawn_at = NULL, beacon = NULL, "
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
        if kind == "draw_beacon":
            Event.objects.filter(pk=event_id).update(beacon=BEACON_ROUND)
        from draws import services

        started = time.perf_counter()
        assert services.event_draw(event_id=event_id, now=event.draw_at)
        seconds, rows = time.perf_counter() - started, event.entrant_count
    return {"seconds": seconds, "rows": rows, "rss_before_mb": rss_before, "peak_mb": peak_rss_mb()}


# A round as the worker stores it once verified (its signature is not re-checked by the draw).
_SIGNATURE = bytes(range(96))
BEACON_ROUND = {
    "round": 1,
    "randomness": __import__("hashlib").sha256(_SIGNATURE).hexdigest(),
    "signature": _SIGNATURE.hex(),
    "previous_signature": None,
}


def beacon_verify_seconds() -> float:
    """One drand round's BLS check (pedersen-bls-chained, py_ecc), as the worker pays it."""
    import hashlib

    from py_ecc.bls import G2Basic

    from lottery_site import drand

    secret = 0x1234567
    previous = bytes(96)
    message = hashlib.sha256(previous + (7).to_bytes(8, "big")).digest()
    signature = G2Basic.Sign(secret, message)
    chain = drand.Chain(
        hash="00" * 32,
        scheme=drand.CHAINED,
        public_key=G2Basic.SkToPk(secret).hex(),
        period=30,
        genesis_time=0,
    )
    beacon = {
        "round": 7,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
        "previous_signature": previous.hex(),
    }
    started = time.perf_counter()
    drand.verify_signature(chain=chain, round_number=7, beacon=beacon)
    return time.perf_counter() - started


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
    parser.add_argument("--child", choices=["floor", "draw", "draw_beacon"])
    parser.add_argument("--event-id", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.event_id)))
        return

    RESULTS.mkdir(parents=True, exist_ok=True)
    event_id = reuse(args.entrants) if args.reuse else None
    if event_id is None:
        setup_django()
        event_id = load(args.entrants)
    rounds = []
    for number in range(1, args.rounds + 1):
        order = ["floor", "draw", "draw_beacon"] if number % 2 else ["draw_beacon", "draw", "floor"]
        result = {}
        for kind in order:
            result[kind] = run_child(kind, event_id)
            if kind != "floor":
                reset_draw(event_id)
        if number == args.rounds:
            assert run_child("draw", event_id)
            verify(event_id)
        result["ratio"] = result["draw"]["seconds"] / result["floor"]["seconds"]
        result["beacon_ratio"] = result["draw_beacon"]["seconds"] / result["draw"]["seconds"]
        rounds.append(result)
        print(
            f"round {number}: floor {result['floor']['seconds']:.3f} s "
            f"(peak {result['floor']['peak_mb']:.0f} MB), draw {result['draw']['seconds']:.3f} s "
            f"(peak {result['draw']['peak_mb']:.0f} MB, {result['draw']['rss_before_mb']:.0f} MB "
            f"before), draw/floor {result['ratio']:.2f}, "
            f"draw with beacon {result['draw_beacon']['seconds']:.3f} s "
            f"(x{result['beacon_ratio']:.3f} the draw without)",
            flush=True,
        )
    summary = {
        "entrants": args.entrants,
        "prize_units": sum(quantity for _, quantity in PRIZES),
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
        "draw_beacon_seconds": median(r["draw_beacon"]["seconds"] for r in rounds),
        "draw_beacon_over_draw": median(r["beacon_ratio"] for r in rounds),
        # Paid once per draw before it, outside the draw's transaction (not in the ratios).
        "beacon_verify_seconds": beacon_verify_seconds(),
    }
    print(json.dumps(summary, indent=2))
    (RESULTS / "draw.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
