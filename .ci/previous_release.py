#!/usr/bin/env python3
"""The previous release's code on the schema this commit migrates to: no 5xx, over HTTP.

What it proves: this commit can be deployed machine by machine while the previous release runs,
and rolled back (docs/operations.md, "Deploy and migrate" and "Rolling back"). The previous
release is the one in .ci/previous-release (its tag when this clone has it, else the commit
written there). With a database and a Redis db of its own, and one LOTTERY_VAR_DIR as on a
machine:

1. The previous release's code (`git archive`) in a temporary directory with its own virtualenv
   from its own requirements.txt (pip's cache makes that quick); it migrates its schema and runs
   gunicorn, a Celery worker and beat. An event is created and joined.
2. The deploy: THIS commit's code (`.venv`, as `make setup` builds it) migrates the database and
   collects static files while the previous release runs, then its gunicorn starts beside the
   old one (a rolling deploy, half way). Users log in through (fake) WeChat, create manual-mode
   events, join and ask for draws through both webs; the old worker draws; all read the winners.
3. The rollback: this commit's web stops, the previous release's static files are collected
   again and its web restarts; alone, it finishes an event the new web created, runs a new one
   end to end and serves the admin login page.
Any 5xx (or other unexpected status) fails it, with the logs of every process.

Standard library only, so it runs on the machine's own python3:
    python3 .ci/previous_release.py [--previous COMMIT] [--venv DIR] [--keep]
DATABASE_URL's server and REDIS_URL's server are used, with database lottery_upgradecheck and
Redis db 12. `--previous` names another commit to play the previous release, e.g. the code just
before a migration, to see what this check says about that migration.
"""

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
from production_install import Client, Service, free_port, reset_stores, wait_for  # noqa: E402

from tests.fake_wechat import FakeWeChat  # noqa: E402  (standard library only)

DB_NAME = "lottery_upgradecheck"
REDIS_DB = 12
DRAW_TIMEOUT = 60  # seconds for a manual draw: the reveal gap (1 s here) and the worker


def say(message: str) -> None:
    print(f"[previous-release] {message}", flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    say("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def previous_release(override: str | None) -> tuple[str, str]:
    """(name, commit) of the release to run: the tag when present, else the recorded commit."""
    if override:
        commit = git("rev-parse", "--verify", "-q", f"{override}^{{commit}}")
        if not commit:
            raise SystemExit(f"FAIL: {override} is not a commit of this clone")
        return override, commit
    lines = (HERE / "previous-release").read_text().splitlines()
    tag, recorded = next(line.split() for line in lines if line.strip() and line[0] != "#")
    tagged = git("rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}")
    if tagged:
        if tagged != recorded:
            say(f"tag {tag} is {tagged[:12]}, .ci/previous-release says {recorded[:12]}: the tag")
        return tag, tagged
    if not commit_exists(recorded):
        raise SystemExit(
            f"FAIL: neither tag {tag} nor commit {recorded} is in this clone; fetch them "
            f"(git fetch origin tag {tag}, or clone with --no-single-branch and full history)"
        )
    return tag, recorded


def commit_exists(commit: str) -> bool:
    check = ["git", "cat-file", "-e", f"{commit}^{{commit}}"]
    return subprocess.run(check, cwd=ROOT, capture_output=True).returncode == 0


def install(venv: Path, requirements: Path) -> None:
    """A virtualenv from the release's own requirements.txt (hashed pins; pip's cache helps)."""
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "-q", "--upgrade", "pip"])
    run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(requirements)])


def export_tree(commit: str, dest: Path) -> None:
    """The release's files as `git archive` gives them (no .git, no local files)."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


class TreeService(Service):
    """The processes of one tree (a release's code) with its own virtualenv."""

    def __init__(self, tree: Path, venv: Path, env: dict, logs: Path, prefix: str):
        super().__init__(venv, env, logs)
        self.tree, self.prefix = tree, prefix

    def start(self, name: str, args: list[str]) -> None:
        name = f"{self.prefix}-{name}"
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        say(f"start {name}: {' '.join(args)}")
        self.procs[name] = subprocess.Popen(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.tree,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def restart(self, name: str, args: list[str]) -> None:
        """As systemctl restart: the process stops (gracefully), a new one starts."""
        proc = self.procs.pop(f"{self.prefix}-{name}")
        proc.terminate()
        proc.wait(timeout=30)
        self.start(name, args)


def service_env(fake_wechat_url: str, var_dir: Path, secret_key: str) -> dict:
    """What a release reads: the check's database and Redis db, the fake WeChat, short gaps."""
    db_url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    redis_url = urllib.parse.urlparse(os.environ["REDIS_URL"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    for name in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "DJANGO_STATIC_ROOT"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=db_url._replace(path=f"/{DB_NAME}").geturl(),
        REDIS_URL=redis_url._replace(path=f"/{REDIS_DB}").geturl(),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        WECHAT_APP_ID="wx-previous-release",
        WECHAT_APP_SECRET=secrets.token_hex(16),
        WECHAT_API_BASE=fake_wechat_url,
        # A manual draw waits this long after the lock before the seed is revealed.
        LOTTERY_REVEAL_GAP_SECONDS="1",
        LOTTERY_SWEEP_INTERVAL_SECONDS="1",
        NOTIFY_SWEEP_INTERVAL_SECONDS="1",
        LOTTERY_VAR_DIR=str(var_dir),
    )
    return env


def login(client: Client, code: str) -> Client:
    body = {"code": code, "nickname": code}
    answer = client.call("POST", "/api/v1/auth/login", body, expect=(200, 201))
    client.token = answer["data"]["access"]
    return client


def as_user(base: str, other: Client, service) -> Client:
    """The same user (the same token) through another web."""
    client = Client(base, service)
    client.token = other.token
    return client


def create_manual_event(client: Client, title: str) -> str:
    body = {
        "title": title,
        "draw_mode": "manual",
        "draw_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "prizes": [{"name": "first", "quantity": 1}, {"name": "second", "quantity": 1}],
    }
    return client.call("POST", "/api/v1/events", body, expect=(201,))["data"]["id"]


def join(event_id: str, *clients: Client) -> None:
    for client in clients:
        client.call("POST", f"/api/v1/events/{event_id}/entry", expect=(201,))


def draw_and_read_winners(creator: Client, readers: list[Client], event_id: str, service) -> None:
    """The creator draws (202, queued); the worker draws after the reveal gap; all read."""
    path = f"/api/v1/events/{event_id}"
    creator.call("POST", f"{path}/draw", expect=(202,))
    wait_for(
        f"the draw of {event_id}",
        lambda: creator.call("GET", path)["data"]["status"] == "opened",
        DRAW_TIMEOUT,
        service,
    )
    for reader in [creator, *readers]:
        winners = reader.call("GET", f"{path}/winners")["data"]["winners"]
        if len(winners) != 2:
            raise SystemExit(f"FAIL: {event_id}: expected 2 winners, got {winners}")
        reader.call("GET", f"{path}/proof")
        reader.call("GET", "/api/v1/me/events")
        reader.call("GET", "/api/v1/me/notifications")


def admin_login_page(client: Client) -> None:
    html = client.call("GET", "/admin/login/")
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', html)
    if "csrfmiddlewaretoken" not in html or not stylesheet:
        raise SystemExit("FAIL: the admin login page is not the login form")
    client.call("GET", stylesheet.group(1))


def before_upgrade(old: str, service) -> str:
    """The previous release alone on its own schema: an event open when the upgrade begins."""
    alice = login(Client(old, service), "alice")
    event_id = create_manual_event(alice, "open across the upgrade")
    join(event_id, login(Client(old, service), "bob"))
    say(f"before the upgrade: {event_id} created and joined by the previous release")
    return event_id


def rolling_deploy(old: str, new: str, service, open_before: str) -> str:
    """Old and new web side by side on the new schema; the old worker draws what either web
    queues. Returns an event the new web created, for the rollback to finish."""
    alice, bob = login(Client(old, service), "alice"), login(Client(new, service), "bob")
    carol = login(Client(old, service), "carol")
    alice_new, carol_new = as_user(new, alice, service), as_user(new, carol, service)

    join(open_before, carol_new)
    draw_and_read_winners(alice_new, [bob, carol], open_before, service)
    say(f"rolling deploy: {open_before} joined through the new web, its draw queued by it: OK")

    event_id = create_manual_event(alice, "created by the previous release")
    join(event_id, bob, carol)
    alice_new.call("GET", f"/api/v1/events/{event_id}")
    draw_and_read_winners(alice, [bob, carol_new], event_id, service)
    say(f"rolling deploy: {event_id} created by the old web, joined through both, drawn: OK")

    left_open = create_manual_event(alice_new, "created by this commit")
    join(left_open, bob)
    carol.call("GET", f"/api/v1/events/{left_open}")
    say(f"rolling deploy: {left_open} created by the new web, joined, left open for the rollback")
    return left_open


def draw_module(tree: Path) -> Path:
    """The release's module naming the proof versions it draws: draws/allocator.py, or
    draws/fairness.py in releases before the draw and its proof checks were split apart."""
    allocator = tree / "draws" / "allocator.py"
    return allocator if allocator.exists() else tree / "draws" / "fairness.py"


def rollback(old: str, left_open: str, service, tree: Path) -> None:
    """Only the previous release runs now, on the new schema and on what the new code wrote."""
    alice, bob = login(Client(old, service), "alice"), login(Client(old, service), "bob")
    carol = login(Client(old, service), "carol")
    join(left_open, carol)
    path = f"/api/v1/events/{left_open}"
    algorithm = alice.call("GET", f"{path}/proof")["data"]["algorithm"]
    if algorithm in draw_module(tree).read_text():
        draw_and_read_winners(alice, [bob, carol], left_open, service)
        say(f"rollback: {left_open}, written by the new code, joined and drawn by the old: OK")
    else:
        # A proof version the previous release does not know (docs/operations.md, "Rolling
        # back"): it must serve the event and refuse to draw it, writing nothing; the event waits
        # for this release to come back.
        alice.call("POST", f"{path}/draw", expect=(202,))
        time.sleep(8)  # the reveal gap (1 s here) and several sweeps of the old worker
        for reader in (alice, bob, carol):
            if reader.call("GET", path)["data"]["status"] != "opening":
                raise SystemExit(f"FAIL: {left_open} ({algorithm}) left opening under {old}")
            reader.call("GET", f"{path}/proof")
        say(f"rollback: {left_open} ({algorithm}) served by the old code and left to this one")

    event_id = create_manual_event(carol, "after the rollback")
    join(event_id, alice, bob)
    draw_and_read_winners(carol, [alice, bob], event_id, service)
    admin_login_page(alice)
    say(f"rollback: {event_id} created, joined, drawn by the old code alone; admin page: OK")


def wait_ready(base: str, service) -> None:
    probe = Client(base, service)

    def ready():
        try:
            return probe.call("GET", "/readyz", expect=(200, 503)).get("code") == 0
        except OSError:  # not listening yet
            return False

    wait_for(f"{base}/readyz 200", ready, 60, service)


class Both:
    """Both releases' processes, watched as one (a Client's `service`)."""

    def __init__(self, services):
        self.services = services

    def check_alive(self) -> None:
        for service in self.services:
            service.check_alive()


def prepare(commit: str, work: Path, venv: Path) -> Path:
    """The previous release's tree and virtualenv; empty stores for this check."""
    tree = work / "previous"
    tree.mkdir()
    export_tree(commit, tree)
    if not (venv / "bin" / "python").exists():
        started = time.monotonic()
        install(venv, tree / "requirements.txt")
        say(f"the previous release's virtualenv in {time.monotonic() - started:.0f} s")
    reset_stores(
        urllib.parse.urlparse(os.environ["DATABASE_URL"]),
        urllib.parse.urlparse(os.environ["REDIS_URL"]),
        db_name=DB_NAME,
        redis_db=REDIS_DB,
    )
    return tree


def exercise(tree: Path, venv: Path, work: Path) -> None:
    """The deploy of docs/operations.md with the previous release running, then the rollback."""
    current_venv, logs = ROOT / ".venv", work / "logs"
    logs.mkdir()
    secret_key = secrets.token_urlsafe(50)  # one key: tokens pass between the two releases
    with FakeWeChat() as wechat:
        # One LOTTERY_VAR_DIR, as /var/lib/lottery on a machine: static files and media shared.
        new_env = service_env(wechat.url, work / "var", secret_key)
        old_env = service_env(wechat.url, work / "var", secret_key)
        manage_new = [str(current_venv / "bin" / "python"), "manage.py"]
        manage_old = [str(venv / "bin" / "python"), "manage.py"]
        old = TreeService(tree, venv, old_env, logs, "previous")
        new = TreeService(ROOT, current_venv, new_env, logs, "current")
        both = Both((old, new))
        old_addr, new_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        old_base, new_base = f"http://{old_addr}", f"http://{new_addr}"
        old_web = ["gunicorn", "lottery_site.wsgi", "--bind", old_addr]
        try:
            say("the previous release as it runs before the upgrade: its schema, its processes")
            run([*manage_old, "migrate", "--noinput", "-v", "0"], cwd=tree, env=old_env)
            run([*manage_old, "collectstatic", "--noinput", "-v", "0"], cwd=tree, env=old_env)
            old.start("web", old_web)
            old.start("worker", ["celery", "-A", "lottery_site", "worker", "--concurrency=1"])
            old.start("beat", ["celery", "-A", "lottery_site", "beat"])
            wait_ready(old_base, both)
            open_before = before_upgrade(old_base, both)

            say("deploy step 2: this commit migrates while the previous release runs")
            run([*manage_new, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=new_env)
            run([*manage_new, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=new_env)
            say("deploy step 3, half way: this commit's web beside the previous release's")
            new.start("web", ["gunicorn", "lottery_site.wsgi", "--bind", new_addr])
            wait_ready(new_base, both)
            left_open = rolling_deploy(old_base, new_base, both, open_before)

            say("rollback: this commit's web stops; the previous release's static files, restart")
            new.stop()
            new.procs.clear()
            run([*manage_old, "collectstatic", "--noinput", "-v", "0"], cwd=tree, env=old_env)
            old.restart("web", old_web)
            wait_ready(old_base, both)
            rollback(old_base, left_open, both, tree)
            both.check_alive()
        except (SystemExit, Exception) as failure:  # noqa: BLE001 - report any failure with the logs
            for service in both.services:
                for proc_name in service.procs:
                    print(service.tail(proc_name), file=sys.stderr)
            print(failure, file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            for service in both.services:
                service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", help="a commit to run instead of .ci/previous-release's")
    parser.add_argument("--venv", help="the previous release's virtualenv (made when missing)")
    parser.add_argument("--keep", action="store_true", help="keep the trees, virtualenv and logs")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} must point at the MariaDB / Redis server to use")
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        raise SystemExit("this commit's .venv is missing: run `make setup` first")

    name, commit = previous_release(args.previous)
    say(f"previous release: {name} ({commit[:12]}); this commit: {git('rev-parse', 'HEAD')[:12]}")
    work = Path(tempfile.mkdtemp(prefix="lottery-upgradecheck-"))
    try:
        venv = Path(args.venv) if args.venv else work / "venv"
        exercise(prepare(commit, work, venv), venv, work)
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"OK: {name} runs on this commit's schema, beside this commit and after a rollback")


if __name__ == "__main__":
    main()
