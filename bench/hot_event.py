#!/usr/bin/env python
"""bench/hot_event: joins to ONE event against joins spread over 100, and the database's ceiling.

    .venv/bin/python bench/hot_event.py [--rounds 3] [--seconds 10] [--clients 8,32]
                                        [--parts server,raw] [--users 60000]

Every join to an event updates that event's row (the gate and the count, events/join_sql.py),
and the row stays locked until the commit has been flushed: joins to one event queue on that
lock, joins to different events do not. Issue 22 asks what that costs and what the ceiling is.
Each round, at each client count (``--clients``), hot and spread alternating:

- ``server``: gunicorn (bin/serve-web, as in production) on MySQL + Redis, wrk on loopback, every
  request another user's token: POST .../entry to ONE fresh event (``hot``), then to 100 fresh
  events in turn (``spread``). Joins/s, p50/p99, and InnoDB's row-lock waits during the
  measurement (``SHOW GLOBAL STATUS LIKE 'Innodb_row_lock%'``: how many joins waited for a row
  lock and for how long on average; global counters: run on a quiet machine).
- ``raw``: MariaDB without us, through mysqlclient, one process and one connection per client,
  on the same tables (fresh events made by the service, ``events_event``/``events_entry``):
  ``raw`` is the issue's baseline, UPDATE of the event row + INSERT of the entry + COMMIT, three
  round trips; ``join-sql`` is our join's own batch (events.join_sql: START TRANSACTION, the
  gate UPDATE, the INSERT, COMMIT in one round trip), with the server's clock read inside it.

The row-lock hold time, measured two ways for each join of ``raw`` and ``join-sql``:

- *lock to commit answer*: from the moment the gate UPDATE has the row to the COMMIT's end
  (``join-sql``: the server's clock, ``SYSDATE(6)`` inside the batch; ``raw``: the client's,
  from the UPDATE's answer to the COMMIT's). It includes the commit's log flush.
- *handover* (hot only): the joins to the one row, in the order they got its lock; when the next
  one was already waiting, the time between the two grants is how long the first really held
  the lock (plus the hand-over). This tells whether the lock is held through the flush: InnoDB
  (MariaDB 10.x, ``trx_t::commit_in_memory``) releases a transaction's locks before it writes
  and flushes the log, so the handover can be much shorter than lock-to-commit-answer; the
  committer still waits for the flush, and so does its client.

1 / handover is the ceiling of one event: joins to one row cannot commit faster, whatever the
clients, the servers or the machine's other cores do. Results:
bench/results/hot_event.json and hot_event.md. Own database as bench/join (BENCH_DATABASE_URL,
dropped and re-created), Redis db 14.
"""

import argparse
import contextlib
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, Server, median, setup_django, spread, wrk  # noqa: E402
from bench.join import make_event, make_users  # noqa: E402

SPREAD_EVENTS = 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--parts", default="server,raw")
    parser.add_argument("--users", type=int, default=60000)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    parts = args.parts.split(",")

    RESULTS.mkdir(parents=True, exist_ok=True)
    setup_django()
    tokens = make_users(args.users)
    rows: list[dict] = []
    with contextlib.ExitStack() as stack:
        server = None
        if "server" in parts:
            server = stack.enter_context(Server(port=args.port, log="server-hot-event.log"))
            wrk(f"{server.url}/healthz", seconds=3)  # warm up every worker
        for round_number in range(1, args.rounds + 1):
            targets = ["hot", "spread"] if round_number % 2 else ["spread", "hot"]
            for count in clients:
                for target in targets:
                    if server:
                        rows.append(
                            server_measurement(server, tokens, target, count, args.seconds)
                            | {"round": round_number}
                        )
                        print(line(rows[-1]), flush=True)
                    if "raw" in parts:
                        for protocol in ("raw", "join-sql"):
                            rows.append(
                                raw_measurement(protocol, target, count, args.seconds)
                                | {"round": round_number}
                            )
                            print(line(rows[-1]), flush=True)
                (RESULTS / "hot_event.json").write_text(json.dumps(rows, indent=1))
    text = report(rows)
    (RESULTS / "hot_event.md").write_text(text)
    print(text)
    from bench.join import verify_entries

    verify_entries()


# --- through the server -----------------------------------------------------------------------


def server_measurement(server: Server, tokens: Path, target: str, clients: int, seconds: int):
    events = [make_event() for _ in range(1 if target == "hot" else SPREAD_EVENTS)]
    token = tokens.read_text().split("\n", 1)[0]
    for event_id in events:  # each read once before the crowd joins, as in life
        url = f"{server.url}/api/v1/events/{event_id}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310 - loopback
    with tempfile.NamedTemporaryFile("w", suffix=".paths", dir=RESULTS, delete=False) as paths:
        paths.write("".join(f"/api/v1/events/{event_id}/entry\n" for event_id in events))
    before = row_locks()
    result = wrk(
        server.url,
        method="POST",
        paths=paths.name,
        tokens=tokens,
        seconds=seconds,
        connections=clients,
        threads=min(2, clients),
    )
    locks = lock_delta(before, row_locks())
    Path(paths.name).unlink()
    return {
        "part": "server",
        "protocol": "join (HTTP)",
        "target": target,
        "clients": clients,
        "per_second": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "errors": result.errors,
        **locks,
    }


def row_locks() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock%%'")
        return {name: int(value) for name, value in cursor.fetchall()}


def lock_delta(before: dict, after: dict) -> dict:
    waits = after["Innodb_row_lock_waits"] - before["Innodb_row_lock_waits"]
    waited_ms = after["Innodb_row_lock_time"] - before["Innodb_row_lock_time"]
    return {"lock_waits": waits, "lock_wait_avg_ms": waited_ms / waits if waits else 0.0}


# --- MariaDB alone ----------------------------------------------------------------------------

_job: dict = {}  # what the forked clients read: connection, events, users, SQL


def raw_measurement(protocol: str, target: str, clients: int, seconds: int) -> dict:
    from django.db import connections
    from django.utils import timezone

    from accounts.models import User
    from events.models import Event

    public_ids = [make_event() for _ in range(1 if target == "hot" else SPREAD_EVENTS)]
    # (pk, rules_version): the join's gate admits only at the conditions' version it checked.
    events = list(Event.objects.filter(public_id__in=public_ids).values_list("pk", "rules_version"))
    users = list(User.objects.filter(openid__startswith="bench-").values_list("pk", "public_id"))
    _job.update(
        connect=connect_arguments(),
        protocol=protocol,
        events=events,
        users=users,
        clients=clients,
        seconds=seconds,
        start=time.time() + 1.0 + clients * 0.02,  # every client connected by then
        at=timezone.now().replace(tzinfo=None),
        sql=join_sql_with_timestamps(),
    )
    connections.close_all()  # not shared with the forked clients
    before = row_locks()
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        done = pool.map(raw_client, range(clients), chunksize=1)
    locks = lock_delta(before, row_locks())
    samples = [sample for d in done for sample in d["samples"]]
    commits = sum(d["commits"] for d in done)
    return {
        "part": "raw",
        "protocol": protocol,
        "target": target,
        "clients": clients,
        "per_second": commits / seconds,
        "errors": sum(d["errors"] for d in done),
        # Every user joined before the time was up: the rate is a floor, not the ceiling.
        "users_ran_out": any(d["ran_out"] for d in done),
        **hold_times(samples, hot=target == "hot"),
        **locks,
    }


def hold_times(samples: list[tuple[float, float, float]], *, hot: bool) -> dict:
    """Medians, in ms, from each join's (asked, locked, committed) on one clock: the wait for
    the lock, lock to commit answer, and (one row only) the handover: between the grants of two
    joins in a row, the second already waiting when the first got the lock."""
    if not samples:
        return {}
    samples = sorted(samples, key=lambda s: s[1])
    waits = [locked - asked for asked, locked, _ in samples]
    to_commit = [committed - locked for _, locked, committed in samples]
    out = {
        "wait_median_ms": statistics.median(waits) * 1000,
        "lock_to_commit_median_ms": statistics.median(to_commit) * 1000,
        "lock_to_commit_p90_ms": quantile(to_commit, 0.9) * 1000,
    }
    if hot:
        handovers = [
            following[1] - current[1]
            for current, following in zip(samples, samples[1:], strict=False)
            if following[0] <= current[1]
        ]
        if handovers:
            out["handover_median_ms"] = statistics.median(handovers) * 1000
            # The mean bounds the rate: one row's joins commit at most 1 / mean a second.
            out["handover_mean_ms"] = statistics.fmean(handovers) * 1000
            out["handover_p90_ms"] = quantile(handovers, 0.9) * 1000
            out["handovers"] = len(handovers)
    return out


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def connect_arguments() -> dict:
    from django.db import connection

    settings = connection.settings_dict
    return {
        "host": settings["HOST"] or "127.0.0.1",
        "port": int(settings["PORT"] or 3306),
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "database": settings["NAME"],
        "charset": "utf8mb4",
    }


def join_sql_with_timestamps() -> str:
    """Our join's batch (events.join_sql), with the server's clock read before the gate UPDATE,
    right after it (it has the row then) and right after the COMMIT. The gate's row count goes
    through a variable, since the INSERT can no longer read ROW_COUNT() of the UPDATE right
    before it."""
    from events import join_sql

    admit, insert = join_sql._join_sql("mysql")  # noqa: SLF001 - the join's own SQL
    assert insert.endswith("ROW_COUNT() = 1"), insert
    insert = insert.removesuffix("ROW_COUNT() = 1") + "@admitted = 1"
    now = "UNIX_TIMESTAMP(SYSDATE(6))"
    return ";\n".join(
        [
            "START TRANSACTION",
            f"SET @asked = {now}",
            admit,
            f"SET @admitted = ROW_COUNT(), @locked = {now}",
            insert,
            "COMMIT",
            f"SELECT @admitted, @asked, @locked, {now}",
        ]
    )


def raw_client(number: int) -> dict:
    """One client: its own connection, joins until the deadline, distinct users."""
    import MySQLdb
    from MySQLdb.constants import CLIENT

    job = _job
    batch = job["protocol"] == "join-sql"
    flags = CLIENT.MULTI_STATEMENTS if batch else 0
    db = MySQLdb.connect(**job["connect"], client_flag=flags, autocommit=batch)
    cursor = db.cursor()
    events, users, at = job["events"], job["users"], job["at"]
    commits = errors = 0
    samples = []
    user_index = number
    time.sleep(max(0.0, job["start"] - time.time()))
    deadline = job["start"] + job["seconds"]
    while time.time() < deadline and user_index < len(users):
        event, rules_version = events[user_index % len(events)]
        user_pk, user_key = users[user_index]
        user_index += job["clients"]
        try:
            if batch:
                sample = _join_batch(
                    cursor, job["sql"], event, rules_version, user_pk, user_key, at
                )
            else:
                sample = _three_round_trips(db, cursor, event, user_pk, user_key, at)
        except MySQLdb.Error:
            errors += 1
            db.rollback()
            continue
        if time.time() <= deadline:
            commits += 1
            samples.append(sample)
    db.close()
    ran_out = user_index >= len(users) and time.time() < deadline
    return {"commits": commits, "errors": errors, "samples": samples, "ran_out": ran_out}


def _three_round_trips(db, cursor, event: int, user_pk: int, user_key: str, at) -> tuple:
    """(asked, locked, committed) on the machine's monotonic clock, shared by the processes."""
    asked = time.monotonic()
    cursor.execute(
        "UPDATE events_event SET participant_count = participant_count + 1 WHERE id = %s",
        [event],
    )
    locked = time.monotonic()
    cursor.execute(
        "INSERT INTO events_entry (event_id, user_id, user_key, created_at) "
        "VALUES (%s, %s, %s, %s)",
        [event, user_pk, user_key, at],
    )
    db.commit()
    return asked, locked, time.monotonic()


def _join_batch(
    cursor, sql: str, event: int, rules_version: int, user_pk: int, user_key: str, at
) -> tuple:
    """(asked, locked, committed) on the server's clock; the parameters as
    events.join_sql.admit_and_insert passes them (no network key, no risk rank)."""
    admit = [at, event, at, rules_version, event, user_key]
    cursor.execute(sql, [*admit, event, user_pk, user_key, at, "", None])
    found = None
    while cursor.nextset():
        if cursor.description:
            found = cursor.fetchone()
    if found is None or found[0] != 1:
        raise RuntimeError("the gate refused a join (event locked?)")
    return tuple(float(moment) for moment in found[1:])


# --- the report -------------------------------------------------------------------------------


def line(row: dict) -> str:
    held = ""
    if "lock_to_commit_median_ms" in row:
        held = f"  lock->commit {row['lock_to_commit_median_ms']:.3f} ms"
    if "handover_median_ms" in row:
        held += f"  handover {row['handover_median_ms']:.3f} ms"
    if row.get("users_ran_out"):
        held += "  (USERS RAN OUT before the time: raise --users)"
    return (
        f"round {row['round']} {row['part']:<6} {row['protocol']:<12} {row['target']:<6} "
        f"{row['clients']:>3} clients: {row['per_second']:8.0f}/s  errors {row['errors']}  "
        f"lock waits {row['lock_waits']} (avg {row['lock_wait_avg_ms']:.1f} ms){held}"
    )


def report(rows: list[dict]) -> str:
    out = [
        "Joins (commits) per second to one event (hot) and spread over 100 events, same run "
        "(median of the rounds, and their spread):",
        "",
        "| path | clients | hot, per second | spread, per second | hot / spread | "
        "hot: lock to commit answer, ms | hot: handover (the hold), ms | "
        "hot: handover, mean | 1 / mean handover | spread: lock to commit answer, ms | "
        "hot: row-lock waits, avg wait |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(r["part"], r["protocol"], r["clients"]) for r in rows},
        key=lambda k: (k[0] != "server", k[1], k[2]),
    )
    for part, protocol, clients in keys:
        hot, flat = (
            [
                r
                for r in rows
                if (r["part"], r["protocol"], r["clients"], r["target"])
                == (part, protocol, clients, target)
            ]
            for target in ("hot", "spread")
        )
        if not hot or not flat:
            continue
        hot_rate = median(r["per_second"] for r in hot)
        flat_rate = median(r["per_second"] for r in flat)
        handover = _median_of(hot, "handover_mean_ms")
        cells = [
            f"{part}: {protocol}",
            str(clients),
            f"{hot_rate:,.0f} ({spread(r['per_second'] for r in hot)})",
            f"{flat_rate:,.0f} ({spread(r['per_second'] for r in flat)})",
            f"{hot_rate / flat_rate:.2f}",
            _ms(hot, "lock_to_commit_median_ms", "lock_to_commit_p90_ms"),
            _ms(hot, "handover_median_ms", "handover_p90_ms"),
            f"{handover:.3f}" if handover else "n/a",
            f"{1000 / handover:,.0f}/s" if handover else "n/a",
            _ms(flat, "lock_to_commit_median_ms", "lock_to_commit_p90_ms"),
            f"{median(r['lock_waits'] for r in hot):,.0f}, "
            f"{median(r['lock_wait_avg_ms'] for r in hot):.1f} ms",
        ]
        out.append("| " + " | ".join(cells) + " |")
    if any(r.get("users_ran_out") for r in rows):
        out += ["", "**Some clients ran out of users before the time was up: raise --users.**"]
    out += [
        "",
        "`server`: POST .../entry through gunicorn and our join (wrk); `raw`: UPDATE + INSERT + "
        "COMMIT in three round trips; `join-sql`: our join's batch in one (mysqlclient, one "
        "process per client). Times: median (p90) over the joins of a measurement, median of "
        "the rounds; `join-sql` on the server's clock, `raw` on the client's. Handover: the "
        "time between two grants of the one row's lock when the second join was already "
        "waiting, i.e. how long a join really holds it; its mean bounds the rate of one event "
        "(1 / mean), its median is the hold without the hiccups (a holder descheduled, a "
        "flush). Row-lock waits: InnoDB's global "
        "counters over the measurement (`Innodb_row_lock_waits`, `_time`).",
    ]
    return "\n".join(out) + "\n"


def _median_of(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return median(values) if values else None


def _ms(rows: list[dict], key: str, p90_key: str) -> str:
    value = _median_of(rows, key)
    if value is None:
        return "n/a"
    return f"{value:.3f} ({_median_of(rows, p90_key):.3f})"


if __name__ == "__main__":
    main()
