#!/usr/bin/env python
"""bench/join: the join and the event detail against the floor and a bare Django view, same rounds.

    .venv/bin/python bench/join.py [--rounds 3] [--seconds 10] [--users 60000]
                                   [--conditions password,group]

gunicorn (bin/serve-web) on MySQL + Redis; wrk on loopback with a Lua script that gives every
request a different user's token, so every join inserts. Each round measures, alternating: the
floor (bench/plain_wsgi.py, a plain WSGI app under the same bin/serve-web, on ``--port`` + 10:
the reference outside our code), /healthz (the bare view), a join on a fresh hot event, that
event's detail, and /me (the simplest authenticated read through the ORM), then the reference
endpoints of bench/urls.py (DRF alone; DRF with our authentication and nothing else; the
detail without its query). Then p99 at half of each saturation rate. Ratios are medians over
the rounds: ``*_over_floor`` to the floor, ``*_over_bare`` to /healthz (ours: it moves with our
middleware, so only the first are evidence of a speed); ``per_round`` and ``spread`` give each
round's req/s and the min-max.

``--conditions password,group`` also joins, in each round, a fresh event with a password (口令)
and one bound to a WeChat group, every request carrying the right answer (the group's data
encrypted with the users' session key, as wx.getGroupEnterInfo gives it): the summary's
``join_password_over_join_rps`` and ``join_group_over_join_rps`` compare them with the plain
event's join of the same round (issue 24: at least 0.8).
"""

import argparse
import contextlib
import json
import sys
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

# bench/urls.py: what the stack costs before the detail's own work, measured in the same rounds.
REFERENCES = {
    "drf_only": "/bench/drf",
    "authenticated_only": "/bench/authenticated",
    "detail_without_query": "/bench/detail-without-query/{event_id}",
}


# Every bench user's WeChat session key (a group event's data is encrypted with it), and the
# group they all are in.
SESSION_KEY = "YmVuY2gtc2Vzc2lvbi0xNg=="  # base64 of 16 bytes, as WeChat's are
GROUP = "bench-group-opengid"
CONDITION_KINDS = ("password", "group")


def make_users(count: int) -> Path:
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import PUBLIC_ID_CLAIM
    from accounts.models import User

    User.objects.bulk_create(
        [
            User(openid=f"bench-{n:07d}", nickname=f"用户{n}", session_key=SESSION_KEY)
            for n in range(count)
        ],
        batch_size=5000,
    )
    users = User.objects.filter(openid__startswith="bench-")
    path = RESULTS / "tokens.txt"
    path.write_text(
        "".join(f"{access_token(user, AccessToken, PUBLIC_ID_CLAIM)}\n" for user in users)
    )
    return path


def access_token(user, token_class, public_id_claim: str) -> str:
    """An access token with the claims of one made at login (accounts.services.tokens_for)."""
    token = token_class.for_user(user)
    token[public_id_claim] = user.public_id
    return str(token)


def make_event(creator_openid: str = "bench-0000000", conditions: dict | None = None) -> str:
    from django.utils import timezone

    from accounts.models import User
    from events.services.events import event_create

    now = timezone.now()
    event = event_create(
        creator=User.objects.get(openid=creator_openid),
        title="压测热门活动",
        draw_at=now + timedelta(days=2),
        prizes=[{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 100}],
        now=now,
        conditions=conditions,
    )
    return event.public_id


def make_condition_event(kind: str) -> tuple[str, str]:
    """A fresh event with one entry condition, and the JSON body every join sends to meet it."""
    from django.conf import settings

    from tests.fake_wechat import group_data

    if kind == "password":
        return make_event(conditions={"password": "芝麻开门"}), json.dumps({"password": "芝麻开门"})
    # The same for every bench user; the watermark names the app the server is configured as.
    proof = group_data(GROUP, session_key=SESSION_KEY, appid=settings.WECHAT_APP_ID or None)
    return make_event(conditions={"group": proof}), json.dumps({"group": proof})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=60000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765, help="the server's (+10: the floor's)")
    parser.add_argument(
        "--conditions",
        default="",
        help="comma-separated kinds of entry condition whose join to measure too: "
        + ",".join(CONDITION_KINDS),
    )
    args = parser.parse_args()
    args.conditions = [kind for kind in args.conditions.split(",") if kind]
    if set(args.conditions) - set(CONDITION_KINDS):
        parser.error(f"--conditions takes {', '.join(CONDITION_KINDS)}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    setup_django()
    tokens = make_users(args.users)
    rows: list[dict] = []
    half: list[dict] = []
    with contextlib.ExitStack() as stack:
        floor = stack.enter_context(
            floor_server(args.port + 10, workers=args.workers, threads=args.threads)
        )
        server = stack.enter_context(
            Server(
                port=args.port,
                workers=args.workers,
                threads=args.threads,
                settings="bench.settings",
            )
        )
        wrk(f"{floor.url}/", seconds=3)
        wrk(f"{server.url}/healthz", seconds=3)  # warm up every worker
        for round_number in range(1, args.rounds + 1):
            rows.append(saturation_round(server, floor, tokens, args))
            print(f"round {round_number}", flush=True)
            for name, result in rows[-1].items():
                print(f"  {name:<24} {result}", flush=True)
        for round_number in range(1, args.rounds + 1):
            half.append(half_rate_round(server, tokens, rows, args))
            result = half[-1]
            print(
                f"half-rate round {round_number}\n"
                f"  bare   {result['bare']}\n  join   {result['join']}",
                flush=True,
            )

    summary = summarize(rows, half)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    (RESULTS / "join.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    verify_entries()


def saturation_round(server: Server, floor: Server, tokens: Path, args) -> dict:
    """The floor, /healthz, joins on a fresh event, its detail, /me, the reference endpoints."""
    event_id = make_event()
    base = f"{server.url}/api/v1/events/{event_id}"
    common = {"seconds": args.seconds, "connections": args.connections}
    floor_result = wrk(f"{floor.url}/", **common)
    bare = wrk(f"{server.url}/healthz", **common)
    # The event is read before the crowd joins, as it is in life.
    wrk(base, path=f"/api/v1/events/{event_id}", tokens=tokens, seconds=1, connections=4)
    join = wrk(
        f"{base}/entry",
        method="POST",
        path=f"/api/v1/events/{event_id}/entry",
        tokens=tokens,
        **common,
    )
    detail = wrk(base, path=f"/api/v1/events/{event_id}", tokens=tokens, **common)
    # For comparison: /me, the simplest authenticated read through the ORM (one
    # User.objects.get), where the detail's one query is plain SQL.
    me = wrk(f"{server.url}/api/v1/me", path="/api/v1/me", tokens=tokens, **common)
    row = {"floor": floor_result, "bare": bare, "join": join, "detail": detail, "me": me}
    for kind in args.conditions:
        conditioned, body = make_condition_event(kind)
        row[f"join_{kind}"] = wrk(
            f"{server.url}/api/v1/events/{conditioned}/entry",
            method="POST",
            path=f"/api/v1/events/{conditioned}/entry",
            tokens=tokens,
            body=body,
            **common,
        )
    for name, reference in REFERENCES.items():
        reference = reference.format(event_id=event_id)
        row[name] = wrk(f"{server.url}{reference}", path=reference, tokens=tokens, **common)
    return row


def half_rate_round(server: Server, tokens: Path, rows: list[dict], args) -> dict:
    """p99 of /healthz and of joins, each paced at half its median saturation rate."""
    event_id = make_event()
    bare_rate = median(r["bare"].rps for r in rows) / 2
    join_rate = median(r["join"].rps for r in rows) / 2
    connections = 8
    bare = wrk(
        f"{server.url}/healthz",
        seconds=args.seconds,
        connections=connections,
        delay_ms=int(1000 * connections / bare_rate),
    )
    join = wrk(
        f"{server.url}/",
        seconds=args.seconds,
        connections=connections,
        method="POST",
        path=f"/api/v1/events/{event_id}/entry",
        tokens=tokens,
        delay_ms=int(1000 * connections / join_rate),
    )
    return {"bare": bare, "join": join}


def summarize(rows: list[dict], half: list[dict]) -> dict:
    conditioned = sorted(name for name in rows[0] if name.startswith("join_"))
    measured = [name for name in rows[0] if name != "floor"]
    return {
        **{
            f"{name}_over_floor_rps": median(r[name].rps / r["floor"].rps for r in rows)
            for name in measured
        },
        "per_round": {name: [round(r[name].rps) for r in rows] for name in rows[0]},
        "spread": {name: spread(r[name].rps for r in rows) for name in rows[0]},
        "join_over_bare_rps": median(r["join"].rps / r["bare"].rps for r in rows),
        # An event with entry conditions against the plain event's join of the same round.
        **{
            f"{name}_over_join_rps": median(r[name].rps / r["join"].rps for r in rows)
            for name in conditioned
        },
        "detail_over_bare_rps": median(r["detail"].rps / r["bare"].rps for r in rows),
        "me_over_bare_rps": median(r["me"].rps / r["bare"].rps for r in rows),
        **{
            f"{name}_over_bare_rps": median(r[name].rps / r["bare"].rps for r in rows)
            for name in REFERENCES
        },
        "floor_rps": median(r["floor"].rps for r in rows),
        "bare_rps": median(r["bare"].rps for r in rows),
        "join_rps": median(r["join"].rps for r in rows),
        "detail_rps": median(r["detail"].rps for r in rows),
        "me_rps": median(r["me"].rps for r in rows),
        "bare_p99_ms_saturated": median(r["bare"].p99_ms for r in rows),
        "join_p99_ms_saturated": median(r["join"].p99_ms for r in rows),
        "detail_p99_ms_saturated": median(r["detail"].p99_ms for r in rows),
        "half_rate_bare_rps": median(h["bare"].rps for h in half),
        "half_rate_join_rps": median(h["join"].rps for h in half),
        "half_rate_bare_p99_ms": median(h["bare"].p99_ms for h in half),
        "half_rate_join_p99_ms": median(h["join"].p99_ms for h in half),
        "half_rate_join_p99_over_bare_p99": median(
            h["join"].p99_ms / h["bare"].p99_ms for h in half
        ),
        "errors": sum(r[k].errors for r in rows for k in r)
        + sum(h[k].errors for h in half for k in h),
    }


def verify_entries() -> None:
    """Every acknowledged join is in the database, and the counters agree with the rows."""
    from django.db.models import Count

    from events.models import Event

    for event in Event.objects.annotate(rows=Count("entries")):
        assert event.participant_count == event.rows, (event.public_id, event.participant_count)
    print("participant_count == entry rows for every event")


if __name__ == "__main__":
    main()
