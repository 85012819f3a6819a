#!/usr/bin/env python
"""bench/seed: the same data in the database of any checkout of this service, by its own code.

    DATABASE_URL=... REDIS_URL=... DJANGO_SECRET_KEY=... \\
    .venv/bin/python bench/seed.py --tree DIR --out FILE [--users 60000] [--join-events 40]
                                   [--entrants 1000] [--square-events 300]
    .venv/bin/python bench/seed.py --tree DIR --verify     # (same variables)

bench/compare.py runs it once per checkout (the code before and after a change), each on its own
database, so that both servers serve the same data, made the same way: the database dropped and
re-created, the checkout's own migrations, then through that checkout's own services (users in
bulk, ``event_create``, ``entry_join``, present in every version since 02ed12a):

- ``--users`` users and an access token for each (a line of ``tokens``), as login makes them;
- ``--join-events`` fresh open events, one for each join measurement (every join inserts);
- one open event with ``--entrants`` entrants, the one whose detail is read;
- ``--square-events`` public events with a few entrants each, for the square's first page
  (skipped when the checkout has no square).

It imports nothing of this bench/ (DIR's bench/ may be another version of it), only DIR's
apps. ``--verify``: every event's ``participant_count`` equals its entry rows. Writes FILE
(JSON): the tokens' file, the events' public ids, whether the square is there.
"""

import argparse
import inspect
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

PRIZES = [{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 100}]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", required=True, help="the checkout whose code makes the data")
    parser.add_argument("--out", help="the JSON file this writes")
    parser.add_argument("--tokens", help="the tokens' file (default: next to --out)")
    parser.add_argument("--users", type=int, default=60000)
    parser.add_argument("--join-events", type=int, default=40)
    parser.add_argument("--entrants", type=int, default=1000)
    parser.add_argument("--square-events", type=int, default=300)
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args()

    tree = Path(args.tree).resolve()
    out = Path(args.out).resolve() if args.out else None
    tokens = Path(args.tokens).resolve() if args.tokens else None
    sys.path[0] = str(tree)  # that checkout's packages, not this script's directory
    os.chdir(tree)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")
    if args.verify:
        _django()
        verify()
        return
    _recreate_database(os.environ["DATABASE_URL"].rsplit("/", 1)[1])
    _django()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cache.clear()
    tokens = tokens or out.with_suffix(".tokens")
    seeded = seed(
        tokens=tokens,
        users=args.users,
        join_events=args.join_events,
        entrants=args.entrants,
        square_events=args.square_events,
    )
    out.write_text(json.dumps(seeded, indent=2))
    print(f"{tree}: {json.dumps({k: v for k, v in seeded.items() if k != 'join_events'})}")


def _django() -> None:
    import django

    django.setup()


def _recreate_database(name: str) -> None:
    subprocess.run(
        [
            "mysql",
            "-uroot",
            "-h127.0.0.1",
            "-e",
            f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4",
        ],
        check=True,
    )


def seed(*, tokens: Path, users: int, join_events: int, entrants: int, square_events: int):
    from django.utils import timezone

    from accounts.models import User

    User.objects.bulk_create(
        [User(openid=f"bench-{n:07d}", nickname=f"用户{n}") for n in range(users)], batch_size=5000
    )
    people = list(User.objects.filter(openid__startswith="bench-").order_by("pk"))
    tokens.write_text("".join(f"{access_token(user)}\n" for user in people))
    now = timezone.now()
    creator = people[0]
    joins = [_event(creator, "压测热门活动", now).public_id for _ in range(join_events)]
    detail = _event(creator, "压测详情活动", now)
    for user in people[1 : entrants + 1]:
        _join(detail, user)
    has_square = "visibility" in inspect.signature(_services().event_create).parameters
    if has_square:
        _square(people, square_events, now)
    return {
        "tokens": str(tokens),
        "users": users,
        "join_events": joins,
        "detail_event": detail.public_id,
        "entrants": entrants,
        "square": has_square,
        "square_events": square_events if has_square else 0,
    }


def access_token(user) -> str:
    """An access token with the claims one made at login has, in this checkout's version."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts import authentication

    token = AccessToken.for_user(user)
    claim = getattr(authentication, "PUBLIC_ID_CLAIM", None)  # since issue 10
    if claim:
        token[claim] = user.public_id
    return str(token)


def _services() -> SimpleNamespace:
    """The checkout's ``event_create`` and ``entry_join``: in ``events.services`` until issue
    22 split it into a package, in its ``events`` and ``entries`` modules since."""
    try:
        from events.services.entries import entry_join
        from events.services.events import event_create
    except ImportError:  # a checkout from before the split: one events/services.py
        from events.services import entry_join, event_create

    return SimpleNamespace(event_create=event_create, entry_join=entry_join)


def _event(creator, title: str, now, *, draw_in: timedelta = timedelta(days=2), **extra):
    return _services().event_create(
        creator=creator, title=title, draw_at=now + draw_in, prizes=PRIZES, now=now, **extra
    )


def _join(event, user) -> None:
    from django.utils import timezone

    _services().entry_join(event=event, user=user, now=timezone.now())


def _square(people: list, count: int, now) -> None:
    """``count`` public events, the n-th with 1 to 12 entrants (the hot order has joins to
    count), and a fifth as many unlisted ones the square must skip."""
    events = [
        _event(
            people[n % len(people)],
            f"广场活动 {n}",
            now,
            draw_in=timedelta(days=1, hours=n % 400),
            visibility="public" if n < count else "unlisted",
        )
        for n in range(count + count // 5)
    ]
    for rank, event in enumerate(events):
        for n in range(1 + (37 * rank) % 12):
            _join(event, people[(7 * rank + n + 1) % len(people)])
    from events import square

    push = getattr(square, "push", None)  # the hot counts kept in this process, to Redis
    if push is not None:
        push()


def verify() -> None:
    from django.db.models import Count

    from events.models import Event

    wrong = [
        (event.public_id, event.participant_count, event.rows)
        for event in Event.objects.annotate(rows=Count("entries"))
        if event.participant_count != event.rows
    ]
    assert not wrong, f"participant_count differs from the entry rows: {wrong[:5]}"
    print(f"{os.getcwd()}: participant_count == entry rows for every event")


if __name__ == "__main__":
    main()
