"""Shared set-up for benchmarks: a throw-away MySQL database, Redis, a gunicorn, wrk runs.

Benchmarks run against loopback only, with bounded durations, and report each figure in
requests/s and as a ratio to the floor (bench/plain_wsgi.py: a plain WSGI application under the
same gunicorn and settings, outside our code) measured in the same rounds.
"""

import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"

BENCH_ENV = {
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/lottery_bench"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "lottery_site.settings",
}


def setup_django() -> None:
    os.environ.update(BENCH_ENV)
    sys.path.insert(0, str(REPO))
    _recreate_database()
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cache.clear()


def _recreate_database() -> None:
    name = BENCH_ENV["DATABASE_URL"].rsplit("/", 1)[1]
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


class Server:
    """bin/serve-web (gunicorn) on loopback with the bench environment."""

    def __init__(
        self,
        port: int = 8765,
        workers: int | None = None,
        threads: int = 1,
        settings: str = "lottery_site.settings",
        env: dict[str, str] | None = None,
        log: str = "server.log",
        repo: Path = REPO,
        app: str | None = None,
    ):
        """``repo``: the checkout whose bin/serve-web and code run (bench/compare runs an older
        one beside this); ``app``: another WSGI application under the same settings."""
        self.port = port
        self.repo = repo
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            **BENCH_ENV,
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_ACCESS_LOG": "0",
            "WEB_THREADS": str(threads),
            "DJANGO_SETTINGS_MODULE": settings,
            # bin/serve-web runs gunicorn from the virtualenv this script was started with.
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            **({"WEB_APP": app} if app else {}),
            **(env or {}),
        }
        self.log = log
        if workers:
            self.env["WEB_WORKERS"] = str(workers)

    def __enter__(self) -> "Server":
        # The server's own log (warnings: Redis unreachable, say) for the reader.
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = (RESULTS / self.log).open("w")
        self.process = subprocess.Popen(
            [str(self.repo / "bin" / "serve-web")],
            cwd=self.repo,
            env=self.env,
            start_new_session=True,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()  # noqa: S310
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        os.killpg(self.process.pid, 15)
        raise RuntimeError(f"gunicorn did not come up: see {RESULTS / self.log}")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


# The floor every figure is read against: a plain WSGI application (bench/plain_wsgi.py) under
# the same bin/serve-web, hence the same gunicorn, workers, threads and config as the service.
FLOOR_APP = "bench.plain_wsgi"


def floor_server(port: int, **kwargs) -> Server:
    return Server(port=port, app=FLOOR_APP, log=f"server-floor-{port}.log", **kwargs)


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx plus socket errors

    def __str__(self) -> str:
        return f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:7.1f} ms  errors {self.errors}"


def wrk(
    url: str, *, seconds: int = 10, connections: int = 32, threads: int = 2, **env
) -> WrkResult:
    lua_env = {f"BENCH_{k.upper()}": str(v) for k, v in env.items()}
    lua_env["BENCH_THREADS"] = str(threads)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(REPO / "bench" / "rotating.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **lua_env},
    ).stdout
    return WrkResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_latency(out, "50%"),
        p99_ms=_latency(out, "99%"),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        errors=_errors(out),
    )


def _latency(out: str, label: str) -> float:
    value, unit = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _errors(out: str) -> int:
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(map(int, socket.groups())) if socket else 0
    )


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    """The round-to-round spread: "min–max"."""
    values = list(values)
    return f"{_figure(min(values))}–{_figure(max(values))}"


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3f}"
