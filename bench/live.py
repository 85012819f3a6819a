"""Live draws: the push of a round's result to many sockets, against a plain Channels broadcast.

    .venv/bin/python bench/live.py                      # 5,000 sockets, 10 rounds each way
    .venv/bin/python bench/live.py --sockets 200 --rounds 3

One live process (uvicorn, one worker, as bin/serve-live runs it: uvloop, httptools, the
sans-I/O websockets) on loopback, MariaDB and Redis as configured (bench/common.py: its own
throw-away database). Client processes open the sockets (``--clients``, each its own event
loop) and note when each frame arrives.

- **live**: N sockets on one live event's ``/ws/live/<id>/``; the host draws a round
  (``live.services.round_lock`` then ``round_draw``, in this process); measured from just before
  ``round_draw`` (its own transaction included) to each socket's receipt of ``round_drawn``.
- **plain**: N sockets in one Channels group (bench/live_routes.py); the same frame's text sent
  with ``group_send`` through the same Redis channel layer; measured from just before the
  ``group_send``.

Reported per way: the time to the *last* socket of each round (p50, p99 over rounds) and every
socket's latency (p50, p99 over rounds x sockets), the ratio live/plain (goal: <= 1.5), and the
server's memory per connected live socket (its RSS with N sockets minus before, / N). Bounded:
every wait has a timeout; everything stops by itself. Results: bench/results/live.json.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_ENV, REPO, RESULTS, setup_django  # noqa: E402

CONNECT_TIMEOUT = 120
ROUND_TIMEOUT = 60


# --- client processes -------------------------------------------------------------------------


def client_main(conn, url: str, count: int, first_frame: bool) -> None:
    """Open ``count`` sockets to ``url``; on "collect", hand over (round, receipt time) pairs.

    ``first_frame``: a socket counts as connected only once its first frame has come. The live
    socket is in the event's fan-out only after its hub has sent it the state it starts from
    (live.hub, ``attach``); a round drawn before that reaches it inside that snapshot, not as
    a ``round_drawn`` frame. A plain group socket is a member before the handshake ends."""
    _raise_fd_limit()
    asyncio.run(_client(conn, url, count, first_frame))


async def _client(conn, url: str, count: int, first_frame: bool) -> None:
    import websockets

    received: list[tuple[int, float]] = []

    async def one(index: int, ready: asyncio.Event, sockets: list):
        async with websockets.connect(url, max_size=None, open_timeout=CONNECT_TIMEOUT) as ws:
            waiting = first_frame
            if not waiting:
                joined(ws)
            async for text in ws:
                if waiting:
                    waiting = False
                    joined(ws)
                if '"round_drawn"' in text:
                    received.append((json.loads(text)["data"]["round"], time.time()))

    ready = asyncio.Event()
    sockets: list = []

    def joined(ws) -> None:
        sockets.append(ws)
        if len(sockets) == count:
            ready.set()

    tasks = []
    for index in range(count):
        tasks.append(asyncio.create_task(one(index, ready, sockets)))
        if index % 100 == 99:
            await asyncio.sleep(0.05)  # a crowd arriving, not a SYN flood
    await asyncio.wait_for(ready.wait(), CONNECT_TIMEOUT)
    loop = asyncio.get_running_loop()
    conn.send(("ready", len(sockets)))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "collect":
            conn.send(list(received))
            received.clear()
        elif command == "close":
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            conn.send("closed")
            return


class Clients:
    def __init__(self, url: str, sockets: int, processes: int, *, first_frame: bool):
        self.pipes, self.procs = [], []
        shares = [sockets // processes + (i < sockets % processes) for i in range(processes)]
        for share in shares:
            parent, child = mp.Pipe()
            proc = mp.Process(
                target=client_main, args=(child, url, share, first_frame), daemon=True
            )
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for pipe in self.pipes:
            if not pipe.poll(CONNECT_TIMEOUT + 10):
                raise SystemExit("clients did not connect in time")
            assert pipe.recv()[0] == "ready"

    def collect(self) -> list[tuple[int, float]]:
        received = []
        for pipe in self.pipes:
            pipe.send("collect")
            received += pipe.recv()
        return received

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send("close")
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            pipe.poll(30)
            proc.join(timeout=30)


def wait_for_receipts(clients: Clients, number: int, expected: int) -> list[float]:
    deadline = time.monotonic() + ROUND_TIMEOUT
    times: list[float] = []
    while time.monotonic() < deadline:
        times += [at for n, at in clients.collect() if n == number]
        if len(times) >= expected:
            return times
        time.sleep(0.05)
    raise SystemExit(f"round {number}: {len(times)} of {expected} sockets got it in time")


# --- the server -------------------------------------------------------------------------------


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, **BENCH_ENV, "DJANGO_SETTINGS_MODULE": "bench.live_settings"}
    command = [
        str(REPO / ".venv/bin/uvicorn"), "lottery_site.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--lifespan", "off", "--no-access-log",
        "--log-level", "warning", "--ws-ping-interval", "60", "--timeout-graceful-shutdown", "3",
    ]  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = (RESULTS / "live-server.log").open("w")
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=_raise_fd_limit,  # noqa: PLW1509 - before exec, in the child
    )  # fmt: skip
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the live server did not start: bench/results/live-server.log")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the party --------------------------------------------------------------------------------


def make_party(rounds: int, entrants: int):
    from datetime import timedelta

    from django.utils import timezone

    from events.services.entries import entry_join
    from live import services
    from tests.factories import EventFactory, UserFactory

    now = timezone.now()
    creator = UserFactory(nickname="主持人")
    event = EventFactory(
        creator=creator,
        now=now,
        draw_mode="manual",
        draw_at=now + timedelta(hours=3),
        prizes=[{"name": f"奖品{n}", "quantity": 1} for n in range(rounds)],
    )
    services.live_start(event=event, actor=creator, rounds=None, now=now)
    for n in range(entrants):
        entry_join(event=event, user=UserFactory(nickname=f"来宾{n}"), now=now)
    services.live_lock(event=event, actor=creator, now=timezone.now())
    return event, creator


def summary(lasts: list[float], each: list[float]) -> dict:
    def pct(values, q):
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "last_socket_p50_ms": round(1000 * statistics.median(lasts), 2),
        "last_socket_p99_ms": round(1000 * pct(lasts, 0.99), 2),
        "each_socket_p50_ms": round(1000 * statistics.median(each), 2),
        "each_socket_p99_ms": round(1000 * pct(each, 0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    args = parser.parse_args()

    os.environ.setdefault("LIVE_TICK_SECONDS", "0.5")
    # The host draws here, at once: no reveal gap, and the draw task a round queues goes nowhere.
    os.environ["LOTTERY_REVEAL_GAP_SECONDS"] = "0"
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    setup_django()
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.utils import timezone

    from bench.live_routes import PLAIN_GROUP
    from live import selectors, services
    from live.models import LiveMessage

    event, creator = make_party(args.rounds, entrants=max(50, args.rounds))
    from tests.live import free_port

    port = free_port()
    server = start_server(port)
    results: dict = {"sockets": args.sockets, "rounds": args.rounds, "clients": args.clients}
    try:
        base = rss_bytes(server.pid)
        live = Clients(f"ws://127.0.0.1:{port}/ws/live/{event.public_id}/", args.sockets,
                       args.clients, first_frame=True)  # fmt: skip
        time.sleep(1)
        results["server_rss_mb_before"] = round(base / 2**20, 1)
        results["server_rss_mb_with_sockets"] = round(rss_bytes(server.pid) / 2**20, 1)
        results["memory_per_socket_kb"] = round(
            (rss_bytes(server.pid) - base) / args.sockets / 1024, 1
        )
        live.collect()
        live_lasts, live_each, payloads = [], [], []
        for _ in range(args.rounds):
            this = services.round_lock(event=event, actor=creator, now=timezone.now())
            started = time.time()
            assert services.round_draw(round_id=this.pk, now=timezone.now())
            times = wait_for_receipts(live, this.number, args.sockets)
            live_lasts.append(max(times) - started)
            live_each += [at - started for at in times]
            message = LiveMessage.objects.get(live_id=event.pk, kind="round_drawn",
                                              payload__round=this.number)  # fmt: skip
            payloads.append(json.dumps(selectors.frame(message), ensure_ascii=False))
        live.close()
        results["live"] = summary(live_lasts, live_each)

        plain = Clients(
            f"ws://127.0.0.1:{port}/ws/bench/plain/", args.sockets, args.clients, first_frame=False
        )
        time.sleep(1)
        plain.collect()
        layer = get_channel_layer()
        plain_lasts, plain_each = [], []
        for number, text in enumerate(payloads, start=1):
            started = time.time()
            async_to_sync(layer.group_send)(PLAIN_GROUP, {"type": "bench.message", "text": text})
            times = wait_for_receipts(plain, number, args.sockets)
            plain_lasts.append(max(times) - started)
            plain_each += [at - started for at in times]
        plain.close()
        results["plain"] = summary(plain_lasts, plain_each)
        results["ratio_last_socket_p50"] = round(
            results["live"]["last_socket_p50_ms"] / results["plain"]["last_socket_p50_ms"], 2
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
    (RESULTS / "live.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
