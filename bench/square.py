#!/usr/bin/env python
"""bench/square: the public square against the floor and a bare Django view, same rounds.

    BENCH_DATABASE_URL=... BENCH_REDIS_URL=... .venv/bin/python bench/square.py \\
        [--rounds 3] [--seconds 10] [--events 2000] [--port 8766]

gunicorn (bin/serve-web) on MySQL + Redis with N public events (and some unlisted ones) holding
entries spread over the last 30 hours, so ``hot`` has a real window to count. Each round
measures, alternating: the floor (bench/plain_wsgi.py under the same bin/serve-web, on
``--port`` + 10: the reference outside our code), /healthz (the bare view), /api/v1/square?sort=hot, ?sort=soon, the
second page of ``hot`` (through its cursor), /bench/square-checked?sort=hot (the first page
checked in the database on every request, as without Redis: what the generation check saves)
and /bench/drf (DRF alone, the floor of any DRF endpoint). Ratios are medians of the per-round
ratios: ``*_over_floor`` to the floor, ``*_over_bare`` to /healthz (which moves with our own
middleware).

Correctness, during every measurement: a checker thread in this process (not the server's)
takes the first event of the first page, cancels or hides it through the services, joins a few
other events, and reads the first page of every sort at once: an event canceled or hidden is
never listed, though the server's processes were told nothing (their snapshots are re-sorted
only every SQUARE_REFRESH_SECONDS). At the end every sort is read to its last page: exactly the
events the database lists, each once.
"""

import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS,
    Server,
    floor_server,
    median,
    setup_django,
    spread,
    wrk,
)

SORTS = ("hot", "soon", "new")


def make_events(count: int, *, users: int = 3000) -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from events.models import Entry, Event
    from events.services.events import event_create

    User.objects.bulk_create(
        [User(openid=f"sq-{n:06d}", nickname=f"用户{n}") for n in range(users)], batch_size=5000
    )
    people = list(User.objects.filter(openid__startswith="sq-").values_list("pk", "public_id"))
    now = timezone.now()
    rng = random.Random(14)
    for n in range(count + count // 4):  # a fifth of them unlisted: the square must skip them
        creator_pk = people[n % len(people)][0]
        event_create(
            creator=User.objects.get(pk=creator_pk),
            title=f"广场活动 {n}",
            draw_at=now + timedelta(days=1, minutes=rng.randrange(0, 20 * 24 * 60)),
            prizes=[{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 10}],
            visibility="public" if n < count else "unlisted",
            now=now - timedelta(hours=rng.randrange(0, 30)),
        )
    entries = []
    for rank, event_pk in enumerate(Event.objects.values_list("pk", flat=True)):
        joined = min(len(people), int(300 / (1 + rank % 97)) + rng.randrange(0, 5))
        for user_pk, public_id in rng.sample(people, joined):
            at = now - timedelta(seconds=rng.randrange(0, 30 * 3600))
            entries.append(
                Entry(event_id=event_pk, user_id=user_pk, user_key=public_id, created_at=at)
            )
    Entry.objects.bulk_create(entries, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_event e SET participant_count = "
            "(SELECT COUNT(*) FROM events_entry n WHERE n.event_id = e.id)"
        )
    print(f"{count} public events, {count // 4} unlisted, {len(entries)} entries", flush=True)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())["data"]


def first_page(base: str, sort: str) -> list[str]:
    return [item["id"] for item in get(f"{base}/api/v1/square?sort={sort}")["results"]]


def all_pages(base: str, sort: str) -> list[str]:
    seen, cursor = [], None
    while True:
        query = f"sort={sort}&page_size=100" + (f"&cursor={cursor}" if cursor else "")
        data = get(f"{base}/api/v1/square?{query}")
        seen += [item["id"] for item in data["results"]]
        cursor = data["next"]
        if cursor is None:
            return seen


class Checker(threading.Thread):
    """Removes the top event of the square, joins others, and checks what the square lists."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.removed: set[str] = set()
        self.violations: list[str] = []
        self.checks = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc

    def _run(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from accounts.models import User
        from events import moderation
        from events.models import Event
        from events.services.entries import entry_join
        from events.services.events import event_cancel

        staff = User.objects.get(username="bench-staff")
        joiners = iter(User.objects.filter(openid__startswith="sq-").order_by("-pk"))
        rng = random.Random(7)
        step = 0
        while not self.stop.is_set():
            sort = SORTS[step % len(SORTS)]
            top = first_page(self.base, sort)
            if top:
                event = Event.objects.get(public_id=top[0])
                now = timezone.now()
                if step % 2:
                    event_cancel(event=event, actor=staff, now=now, reason="压测", by_staff=True)
                else:
                    moderation.event_moderate(event=event, actor=staff, to="hidden", now=now)
                self.removed.add(event.public_id)
            for public_id in rng.sample(top, min(3, len(top))):  # move the hot order
                if public_id not in self.removed:
                    target = Event.objects.get(public_id=public_id)
                    entry_join(event=target, user=next(joiners), now=timezone.now())
            for check_sort in SORTS:
                shown = set(first_page(self.base, check_sort))
                self.checks += 1
                if shown & self.removed:
                    self.violations.append(f"{check_sort}: {sorted(shown & self.removed)}")
            step += 1
            self.stop.wait(0.5)
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    # The square's per-address throttle would refuse a benchmark from one address in a second:
    # it still counts every request, at a rate that never refuses.
    os.environ["THROTTLE_PUBLIC_RATE"] = "100000000/min"
    RESULTS.mkdir(parents=True, exist_ok=True)
    setup_django()
    from accounts.models import User

    make_events(args.events)
    User.objects.create(username="bench-staff", is_staff=True)
    rows = []
    with (
        floor_server(args.port + 10) as floor,
        Server(port=args.port, settings="bench.settings") as server,
    ):
        base = server.url
        wrk(f"{floor.url}/", seconds=3)
        wrk(f"{base}/healthz", seconds=3)  # warm up every worker
        wrk(f"{base}/api/v1/square", seconds=3, path="/api/v1/square")
        checker = Checker(base)
        checker.start()
        for round_number in range(1, args.rounds + 1):
            common = {"seconds": args.seconds, "connections": args.connections}
            second = get(f"{base}/api/v1/square?sort=hot")["next"]
            row = {"floor": wrk(f"{floor.url}/", **common)}
            row["bare"] = wrk(f"{base}/healthz", **common)
            for sort in ("hot", "soon"):
                path = f"/api/v1/square?sort={sort}"
                row[sort] = wrk(f"{base}{path}", path=path, **common)
            path = f"/api/v1/square?sort=hot&cursor={second}"
            row["hot_page_2"] = wrk(f"{base}{path}", path=path, **common)
            path = "/bench/square-checked?sort=hot"
            row["hot_checked"] = wrk(f"{base}{path}", path=path, **common)
            row["drf_only"] = wrk(f"{base}/bench/drf", path="/bench/drf", **common)
            rows.append(row)
            print(f"round {round_number}", flush=True)
            for name, result in row.items():
                print(f"  {name:<12} {result}", flush=True)
        checker.stop.set()
        checker.join(timeout=30)
        if checker.error is not None:
            raise checker.error
        # The hot order moves with every join, and each server process re-sorts on its own
        # clock: a cursor walk is exact once the order holds still (docs/api.md, "The square").
        from django.conf import settings

        from events import square

        square.push()
        time.sleep(settings.SQUARE_REFRESH_SECONDS + 1)
        final = verify_complete(base)

    summary = {
        **{
            f"{name}_over_floor_rps": median(r[name].rps / r["floor"].rps for r in rows)
            for name in ("bare", "hot", "soon", "hot_page_2", "hot_checked", "drf_only")
        },
        "spread": {name: spread(r[name].rps for r in rows) for name in rows[0]},
        **{
            f"{name}_over_bare_rps": median(r[name].rps / r["bare"].rps for r in rows)
            for name in ("hot", "soon", "hot_page_2", "hot_checked", "drf_only")
        },
        **{f"{name}_rps": median(r[name].rps for r in rows) for name in rows[0]},
        "hot_p99_ms_saturated": median(r["hot"].p99_ms for r in rows),
        "bare_p99_ms_saturated": median(r["bare"].p99_ms for r in rows),
        "errors": sum(r[k].errors for r in rows for k in r),
        "removed_during_run": len(checker.removed),
        "first_page_checks": checker.checks,
        "violations": checker.violations,
        **final,
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    (RESULTS / "square.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    assert not checker.violations, checker.violations
    assert summary["errors"] == 0, summary["errors"]


def verify_complete(base: str) -> dict:
    """Every sort, read to its last page, lists exactly what the database lists, each once."""
    from django.utils import timezone

    from events import square
    from events.models import Event

    expected = set(
        square.listed().filter(lock_at__gt=timezone.now()).values_list("public_id", flat=True)
    )
    canceled = set(
        Event.objects.filter(status=Event.Status.CANCELED).values_list("public_id", flat=True)
    )
    hidden = set(Event.objects.filter(moderation="hidden").values_list("public_id", flat=True))
    for sort in SORTS:
        seen = all_pages(base, sort)
        assert len(seen) == len(set(seen)), f"{sort}: an event listed twice"
        assert set(seen) == expected, (sort, len(seen), len(expected))
        assert not set(seen) & (canceled | hidden)
    soon = all_pages(base, "soon")
    by_draw = list(
        square.listed()
        .filter(lock_at__gt=timezone.now())
        .order_by("draw_at", "pk")
        .values_list("public_id", flat=True)
    )
    assert soon == by_draw, "soon is not in draw order"
    print(
        f"every sort lists exactly the {len(expected)} listed events, each once; "
        f"{len(canceled)} canceled and {len(hidden)} hidden never listed",
        flush=True,
    )
    return {"listed_at_end": len(expected), "canceled": len(canceled), "hidden": len(hidden)}


if __name__ == "__main__":
    main()
