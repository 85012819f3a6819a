#!/usr/bin/env python3
"""Install and run the service as a deployer would, then use it over HTTP only.

What it proves: `pip install -r requirements.txt` alone (none of the dev tools, which can pull in a
package the runtime forgot to declare) gives a service whose three processes start and work. It
follows README.md's "Deploying" section: a fresh virtualenv, migrate, collectstatic, then
`gunicorn lottery_site.wsgi`, `celery -A lottery_site --quiet worker` and `... --quiet beat` (at INFO)
on MariaDB + Redis with DJANGO_DEBUG=0. WeChat is faked over HTTP (tests/fake_wechat.py, standard
library only). Over HTTP it logs two users in, creates an event with short leads, joins both, sees
the event locked and drawn, reads the winners and an inbox item, and loads the admin login page
with its stylesheet. It fails if any of the three processes exits.

Standard library only, so it runs on the machine's own python3:
    python3 .ci/production_install.py [--requirements FILE] [--keep]
DATABASE_URL's server and REDIS_URL's server are used, with a database and a Redis db of its own.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fake_wechat import FakeWeChat  # noqa: E402  (standard library only)

DB_NAME = "lottery_prodcheck"
REDIS_DB = 13
FLOW_TIMEOUT = 120  # seconds for the event to be locked and drawn by the real beat and worker


def say(message: str) -> None:
    print(f"[production-install] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], **kwargs) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


class Service:
    """The three processes, started from the fresh virtualenv's own scripts."""

    def __init__(self, venv: Path, env: dict, logs: Path):
        self.venv, self.env, self.logs = venv, env, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        cmd = [str(self.venv / "bin" / args[0]), *args[1:]]
        say(f"start {name}: {' '.join(args)}")
        self.procs[name] = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"FAIL: {name} exited with {proc.returncode}\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        text = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(f"    {name}| {line}" for line in text[-lines:])

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


class Client:
    """Speaks to the API as the mini-program does; the proxy's X-Forwarded-Proto is set."""

    def __init__(self, base: str, service: Service):
        self.base, self.service, self.token = base, service, None

    def call(self, method: str, path: str, body=None, expect=(200,)) -> dict | str:
        self.service.check_alive()
        headers = {"X-Forwarded-Proto": "https", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                status, raw, ctype = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, ctype = error.code, error.read(), error.headers
        if status not in expect:
            raise SystemExit(f"FAIL: {method} {path} answered {status}: {raw[:500]!r}")
        if "json" in (ctype.get("Content-Type") or ""):
            return json.loads(raw)
        return raw.decode()


def wait_for(what: str, probe, timeout: float, service: Service):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_alive()
        result = probe()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"FAIL: {what} did not happen within {timeout:.0f} s")


def reset_stores(
    db_url: urllib.parse.ParseResult,
    redis_url: urllib.parse.ParseResult,
    *,
    db_name: str = DB_NAME,
    redis_db: int = REDIS_DB,
) -> None:
    """An empty database ``db_name`` and Redis database ``redis_db`` (previous_release.py
    passes its own)."""
    mysql = ["mysql", "-h", db_url.hostname or "127.0.0.1", "-P", str(db_url.port or 3306)]
    mysql += ["-u", db_url.username or "root"]
    if db_url.password:
        mysql.append(f"-p{urllib.parse.unquote(db_url.password)}")
    sql = (
        f"DROP DATABASE IF EXISTS `{db_name}`; CREATE DATABASE `{db_name}` "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    run([*mysql, "-e", sql])
    redis = ["redis-cli", "-h", redis_url.hostname or "127.0.0.1"]
    redis += ["-p", str(redis_url.port or 6379), "-n", str(redis_db), "flushdb"]
    run(redis, stdout=subprocess.DEVNULL)


def install(venv: Path, requirements: Path) -> None:
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "-q", "--upgrade", "pip"])
    # requirements.txt carries hashes, so pip refuses anything not pinned in it.
    run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)])


def deployer_env(fake_wechat_url: str) -> dict:
    db_url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    redis_url = urllib.parse.urlparse(os.environ["REDIS_URL"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.update(
        DATABASE_URL=db_url._replace(path=f"/{DB_NAME}").geturl(),
        REDIS_URL=redis_url._replace(path=f"/{REDIS_DB}").geturl(),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        WECHAT_APP_ID="wx-production-install",
        WECHAT_APP_SECRET=secrets.token_hex(16),
        WECHAT_API_BASE=fake_wechat_url,
        # Short leads so the whole story fits in a minute; the sweeper looks every second.
        LOTTERY_MIN_DRAW_LEAD_SECONDS="5",
        LOTTERY_LOCK_LEAD_SECONDS="3",
        LOTTERY_SWEEP_INTERVAL_SECONDS="1",
        NOTIFY_SWEEP_INTERVAL_SECONDS="1",
        LOTTERY_VAR_DIR=env.get("PRODCHECK_VAR_DIR", ""),
    )
    return env


def story(client: Client, other: Client, service: Service) -> None:
    for who, code in ((client, "prodcheck-alice"), (other, "prodcheck-bob")):
        login = who.call(
            "POST", "/api/v1/auth/login", {"code": code, "nickname": code}, expect=(200, 201)
        )
        who.token = login["data"]["access"]
    say("two users logged in through the (fake) WeChat")

    draw_at = datetime.now(UTC) + timedelta(seconds=12)
    event = client.call(
        "POST",
        "/api/v1/events",
        {
            "title": "production install check",
            "draw_at": draw_at.isoformat(),
            "prizes": [{"name": "first", "quantity": 1}, {"name": "second", "quantity": 1}],
        },
        expect=(201,),
    )["data"]
    path = f"/api/v1/events/{event['id']}"
    for who in (client, other):
        who.call("POST", f"{path}/entry", expect=(201,))
    say(f"event {event['id']} created and joined by both, draw at {event['draw_at']}")

    wait_for(
        "the lock",
        lambda: client.call("GET", path)["data"]["status"] in {"opening", "opened"},
        FLOW_TIMEOUT,
        service,
    )
    say("locked by the beat's sweeper")
    wait_for(
        "the draw",
        lambda: client.call("GET", path)["data"]["status"] == "opened",
        FLOW_TIMEOUT,
        service,
    )
    winners = client.call("GET", f"{path}/winners")["data"]["winners"]
    if len(winners) != 2:
        raise SystemExit(f"FAIL: expected 2 winners, got {winners}")
    say(f"drawn by the worker; winners: {[w['user']['id'] for w in winners]}")

    def inbox_result():
        items = other.call("GET", "/api/v1/me/notifications")["data"]["results"]
        return [i for i in items if i["kind"] == "result" and i["event"]["id"] == event["id"]]

    wait_for("the inbox item", inbox_result, 30, service)
    say("the entrant's inbox holds the result")


def admin_page(client: Client) -> None:
    html = client.call("GET", "/admin/login/")
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', html)
    if "csrfmiddlewaretoken" not in html or not stylesheet:
        raise SystemExit("FAIL: the admin login page is not the login form")
    client.call("GET", stylesheet.group(1))
    say(f"admin login page and its stylesheet {stylesheet.group(1)} load with DJANGO_DEBUG=0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", default=str(ROOT / "requirements.txt"))
    parser.add_argument("--keep", action="store_true", help="keep the virtualenv and logs")
    parser.add_argument("--venv", help="reuse this virtualenv (made and filled when missing)")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} must point at the MariaDB / Redis server to use")

    work = Path(tempfile.mkdtemp(prefix="lottery-prodcheck-"))
    venv, logs = Path(args.venv) if args.venv else work / "venv", work / "logs"
    logs.mkdir()
    os.environ["PRODCHECK_VAR_DIR"] = str(work / "var")
    say(f"working in {work}")
    if not (venv / "bin" / "python").exists():
        install(venv, Path(args.requirements))
    reset_stores(
        urllib.parse.urlparse(os.environ["DATABASE_URL"]),
        urllib.parse.urlparse(os.environ["REDIS_URL"]),
    )
    with FakeWeChat() as wechat:
        env = deployer_env(wechat.url)
        python = str(venv / "bin" / "python")
        run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env)
        run([python, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env)
        port = free_port()
        service = Service(venv, env, logs)
        try:
            service.start("web", ["gunicorn", "lottery_site.wsgi", "--bind", f"127.0.0.1:{port}"])
            service.start(
                "worker",
                ["celery", "-A", "lottery_site", "--quiet", "worker", "--loglevel=INFO"]
                + ["--concurrency=2"],
            )
            service.start(
                "beat", ["celery", "-A", "lottery_site", "--quiet", "beat", "--loglevel=INFO"]
            )
            base = f"http://127.0.0.1:{port}"
            alice, bob = Client(base, service), Client(base, service)

            def ready():
                try:
                    return alice.call("GET", "/readyz", expect=(200, 503)).get("code") == 0
                except OSError:  # not listening yet, or still starting
                    return False

            wait_for("/readyz 200", ready, 60, service)
            time.sleep(3)  # worker and beat have had time to import everything and connect
            service.check_alive()
            story(alice, bob, service)
            admin_page(alice)
            service.check_alive()
        except (SystemExit, Exception) as failure:  # noqa: BLE001 - report any failure with the logs
            for name in service.procs:
                print(service.tail(name), file=sys.stderr)
            print(failure, file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            service.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    say("OK: a requirements.txt-only install runs web, worker and beat, and the story works")


if __name__ == "__main__":
    main()
