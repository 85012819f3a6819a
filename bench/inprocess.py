#!/usr/bin/env python
"""bench/inprocess: what one request costs one process, endpoint by endpoint, against the bare view.

    .venv/bin/python bench/inprocess.py [--rounds 5] [--requests 2000] [--token-uses 1]

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
Own database (BENCH_DATABASE_URL, default lottery_bench_inprocess, dropped and re-created) and
Redis (BENCH_REDIS_URL, default db 13).
"""

import argparse
import io
import json
import os
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


def environ(path: str, token: str | None) -> dict:
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
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    if token is not None:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--token-uses", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    common.BENCH_ENV["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # the reference endpoints
    common.setup_django()
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.authentication import PUBLIC_ID_CLAIM
    from accounts.models import User
    from bench.join import access_token, make_event

    # No token ever seen twice, beyond --token-uses; every join another user's.
    reads = sum(1 for path, needs in ENDPOINTS.values() if needs and " " not in path)
    count = (reads * (args.requests // args.token_uses + 1) + args.requests + 1) * (args.rounds + 1)
    User.objects.bulk_create(
        [User(openid=f"bench-{n:07d}", nickname=f"用户{n}") for n in range(count)], batch_size=5000
    )
    users = iter(User.objects.filter(openid__startswith="bench-").order_by("pk"))
    event_id = make_event()
    app = WSGIHandler()

    def start_response(status, headers, exc_info=None):
        if not status.startswith(("200", "201")):
            raise RuntimeError(f"{status} from the benchmark's request")

    def prepared(path: str, needs_token: bool, requests: int) -> list[dict]:
        """The requests' environs, tokens made beforehand, outside the timing."""
        tokens = [None] * requests
        uses = 1 if path.startswith("POST ") else args.token_uses
        if needs_token:
            own = [
                access_token(next(users), AccessToken, PUBLIC_ID_CLAIM)
                for _ in range(requests // uses + 1)
            ]
            tokens = [own[n // uses] for n in range(requests)]
        return [environ(path, token) for token in tokens]

    def run(envs: list[dict]) -> tuple[float, float]:
        """Wall and CPU seconds for these requests."""
        wall, cpu = time.perf_counter(), time.process_time()
        for env in envs:
            response = app(env, start_response)
            b"".join(response)
            response.close()
        return time.perf_counter() - wall, time.process_time() - cpu

    paths = {
        name: (path.format(event_id=event_id), needs) for name, (path, needs) in ENDPOINTS.items()
    }
    for path, needs in paths.values():  # warm up: imports, connections, memos
        run(prepared(path, needs, 200))
    rows = []
    for round_number in range(1, args.rounds + 1):
        # Interleaved in batches, so that whatever else loads the machine meanwhile falls on
        # every endpoint alike.
        envs = {name: prepared(path, needs, args.requests) for name, (path, needs) in paths.items()}
        wall, cpu = dict.fromkeys(paths, 0.0), dict.fromkeys(paths, 0.0)
        for start in range(0, args.requests, args.batch):
            for name in paths:
                batch_wall, batch_cpu = run(envs[name][start : start + args.batch])
                wall[name] += batch_wall
                cpu[name] += batch_cpu
        row = {name: (wall[name] / args.requests, cpu[name] / args.requests) for name in paths}
        rows.append(row)
        print(
            f"round {round_number}  "
            + "  ".join(
                f"{name} {w * 1e6:.0f} µs (cpu {c * 1e6:.0f})" for name, (w, c) in row.items()
            ),
            flush=True,
        )
    summary = {
        f"{name}_over_bare": median(r["bare"][0] / r[name][0] for r in rows)
        for name in ENDPOINTS
        if name != "bare"
    }
    summary |= {
        f"{name}_over_bare_cpu": median(r["bare"][1] / r[name][1] for r in rows)
        for name in ENDPOINTS
        if name != "bare"
    }
    summary |= {f"{name}_us": median(r[name][0] for r in rows) * 1e6 for name in ENDPOINTS}
    summary["token_uses"] = args.token_uses
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inprocess.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
