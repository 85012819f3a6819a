"""For tests that start live processes (servers, workers): a free port, the environment they
run in, one HTTP call, and waiting for them."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port nothing listens on now, on loopback (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def call(method: str, url: str, *, token: str | None = None, body: dict | None = None):
    """(status, envelope or None, seconds taken) of one HTTP call; never raises on a status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        envelope = json.loads(raw)
    except ValueError:
        envelope = None
    return status, envelope, time.monotonic() - started


def service_env(*, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a process of ours on this test's database and ``redis_url``."""
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lottery_site.test_settings",
        "DATABASE_URL": (
            f"mysql://{database['USER']}:{database['PASSWORD']}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 3306}/{database['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        **settings,
    }


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A process of its own session (so it can be stopped with its children), output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def serve_web(*, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """bin/serve-web (gunicorn) on a free loopback port; (process, base URL) once it answers."""
    port = free_port()
    process = spawn(
        [str(REPO / "bin" / "serve-web")], env={**env, "WEB_BIND": f"127.0.0.1:{port}"}, log=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if call("GET", f"{url}/healthz")[0] == 200:
                return process, url
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"gunicorn did not come up (see {log})")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
    process.wait(timeout=30)
