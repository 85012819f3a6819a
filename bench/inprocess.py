#!/usr/bin/env python
"""bench/inprocess: what one request costs one process, endpoint by endpoint, against the bare view.

    .venv/bin/python bench/inprocess.py [--rounds 5] [--requests 2000] [--token-uses 1]
                                        [--conditions password,group] [--profile NAME]

The same endpoints as bench/join (the bare view, DRF alone, DRF with our authentication, the
event detail, /me) called in a loop through Django's WSGI handler, one after the other in each
round, interleaved in batches of 100, in this process: no gunicorn, no wrk, no sockets in front. What it reports is the ratio
of the bare view's time per request to each endpoint's, median of the rounds: the figure
bench/join measures as requests/s on a quiet machine, here far less moved by other work on the
machine (it times one process; MySQL and Redis still answer over loopback). It also reports
the ratios of CPU time of this process alone (``_cpu``), which leave out the database's and
Redis's own work and the waits for them.

Every request carries another user's token (``--token-uses 1``, the default): no token is seen
twice, so the per-process memo of verified tokens never hits, the worst case for it. With
``--token-uses N`` each token serves N requests in a row of a measurement (a client's session).
``--conditions password,group`` adds the join of an event with that entry condition (every
request meeting it, as bench/join sends it). Each endpoint's ``_db_cpu`` is the CPU time the
database server (mariadbd, read from /proc) spent per request during its batches: with this
process's own CPU, what a request costs the machine, however busy the rest of it is.
``--profile NAME`` prints cProfile's top functions for that endpoint's requests of the last round.

Own database (BENCH_DATABASE_URL, default lottery_bench_inprocess, dropped and re-created) and
Redis (BENCH_REDIS_URL, default db 13).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/lottery_bench_inprocess")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

from bench import common  # noqa: E402
from bench.common import RESULTS, median  # noqa: E402

ENDPOINTS = {
    "bare": ("/healthz", False),
    "drf_only": ("/bench/drf", False),
    "authenticated_only": ("/bench/authenticated", True),
    "detail": ("/api/v1/events/{event_id}", True),
    "me": ("/api/v1/me", True),
    # Every join is another user's (whatever --token-uses says): each one inserts.
    "join": ("POST /api/v1/events/{event_id}/entry", True),
}


def environ(path: str, token: str | None, body: bytes = b"") -> dict:
    method, _, path = path.rpartition(" ")
    env = {
        "REQUEST_METHOD": method or "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    if token is not None:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


def server_cpu() -> float:
    """CPU seconds the database server has used (utime + stime of mariadbd), 0 if not found."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if "(mariadbd)" in stat or "(mysqld)" in stat:
            fields = stat.rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--token-uses", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--conditions", default="", help="password,group: their joins too")
    parser.add_argument("--profile", default="", help="an endpoint to profile in the last round")
    args = parser.parse_args()
    conditions = [kind for kind in args.conditions.split(",") if kind]

    common.BENCH_ENV["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # the reference endpoints
    common.setup_django()
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import PUBLIC_ID_CLAIM
    from accounts.models import User
    from bench.join import SESSION_KEY, access_token, make_condition_event, make_event

    # No token ever seen twice, beyond --token-uses; every join another user's.
    reads = sum(1 for path, needs in ENDPOINTS.values() if needs and " " not in path)
    joins = 1 + len(conditions)
    count = (reads * (args.requests // args.token_uses + 1) + joins * (args.requests + 1)) * (
        args.rounds + 1
    )
    User.objects.bulk_create(
        [
            User(openid=f"bench-{n:07d}", nickname=f"用户{n}", session_key=SESSION_KEY)
            for n in range(count)
        ],
        batch_size=5000,
    )
    users = iter(User.objects.filter(openid__startswith="bench-").order_by("pk"))
    event_id = make_event()
    endpoints = {name: (path, needs, b"") for name, (path, needs) in ENDPOINTS.items()}
    for kind in conditions:
        conditioned, body = make_condition_event(kind)
        endpoints[f"join_{kind}"] = (
            f"POST /api/v1/events/{conditioned}/entry",
            True,
            body.encode(),
        )
    app = WSGIHandler()

    def start_response(status, headers, exc_info=None):
        if not status.startswith(("200", "201")):
            raise RuntimeError(f"{status} from the benchmark's request")

    def prepared(path: str, needs_token: bool, body: bytes, requests: int) -> list[dict]:
        """The requests' environs, tokens made beforehand, outside the timing."""
        tokens = [None] * requests
        uses = 1 if path.startswith("POST ") else args.token_uses
        if needs_token:
            own = [
                access_token(next(users), AccessToken, PUBLIC_ID_CLAIM)
                for _ in range(requests // uses + 1)
            ]
            tokens = [own[n // uses] for n in range(requests)]
        return [environ(path, token, body) for token in tokens]

    def run(envs: list[dict], profile=None) -> tuple[float, float, float]:
        """Wall, CPU and the database server's CPU seconds for these requests."""
        db = server_cpu()
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        for env in envs:
            response = app(env, start_response)
            b"".join(response)
            response.close()
        if profile is not None:
            profile.disable()
        return time.perf_counter() - wall, time.process_time() - cpu, server_cpu() - db

    paths = {
        name: (path.format(event_id=event_id), needs, body)
        for name, (path, needs, body) in endpoints.items()
    }
    for path, needs, body in paths.values():  # warm up: imports, connections, memos
        run(prepared(path, needs, body, 200))
    profile = cProfile.Profile() if args.profile else None
    rows = []
    for round_number in range(1, args.rounds + 1):
        # Interleaved in batches, so that whatever else loads the machine meanwhile falls on
        # every endpoint alike.
        envs = {
            name: prepared(path, needs, body, args.requests)
            for name, (path, needs, body) in paths.items()
        }
        wall, cpu, db = (dict.fromkeys(paths, 0.0) for _ in range(3))
        last = round_number == args.rounds
        for start in range(0, args.requests, args.batch):
            for name in paths:
                profiled = profile if last and name == args.profile else None
                batch = run(envs[name][start : start + args.batch], profiled)
                wall[name] += batch[0]
                cpu[name] += batch[1]
                db[name] += batch[2]
        row = {
            name: (wall[name] / args.requests, cpu[name] / args.requests, db[name] / args.requests)
            for name in paths
        }
        rows.append(row)
        print(
            f"round {round_number}  "
            + "  ".join(
                f"{name} {w * 1e6:.0f} µs (cpu {c * 1e6:.0f}, db {d * 1e6:.0f})"
                for name, (w, c, d) in row.items()
            ),
            flush=True,
        )
    if profile is not None:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.dump_stats(str(RESULTS / f"inprocess-{args.profile}.prof"))
    summary = {
        f"{name}_over_bare": median(r["bare"][0] / r[name][0] for r in rows)
        for name in paths
        if name != "bare"
    }
    summary |= {
        f"{name}_over_bare_cpu": median(r["bare"][1] / r[name][1] for r in rows)
        for name in paths
        if name != "bare"
    }
    summary |= {f"{name}_us": median(r[name][0] for r in rows) * 1e6 for name in paths}
    summary |= {f"{name}_cpu_us": median(r[name][1] for r in rows) * 1e6 for name in paths}
    summary |= {f"{name}_db_cpu_us": median(r[name][2] for r in rows) * 1e6 for name in paths}
    summary["token_uses"] = args.token_uses
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inprocess.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
