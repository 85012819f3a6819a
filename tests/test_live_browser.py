"""A whole party in a real browser: the big screen (Debian's Chromium, Playwright) on the live
process (uvicorn serving lottery_site.asgi on loopback), 200 entrants joining through the API,
three rounds drawn by the host, the network to the screen cut and restored mid-round.

The winners the screen shows must be the proofs' winners, confirmed by the standalone
verifier. Screenshots at 1920x1080 and 1280x720 are kept in var/artifacts/ (CI keeps them).
"""

import asyncio
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from accounts.services import tokens_for
from live import hub, tasks
from tests.conftest import IN_CI
from tests.factories import EventFactory, UserFactory
from tests.live import free_port, wait_for
from tests.test_admin_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_live import verifier

pytestmark = [
    pytest.mark.browser,
    pytest.mark.mysql,  # the server's threads and the test share the database through commits
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "artifacts"
ENTRANTS = 200
PRIZES = [
    {"name": "特等奖", "quantity": 1},
    {"name": "一等奖", "quantity": 2},
    {"name": "二等奖", "quantity": 3},
]


class LiveServer:
    """uvicorn in a thread, serving the ASGI application (static files from the finders)."""

    def __init__(self):
        import uvicorn
        from channels.routing import ProtocolTypeRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from lottery_site import asgi

        app = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(asgi.django_application),
                "websocket": asgi.application.application_mapping["websocket"],
            }
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, ws="websockets-sansio", lifespan="off",
            log_level="warning", loop="asyncio",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20, what="uvicorn")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def drop_sockets(self, live_id: int, loop) -> None:
        """Close every socket of the event from the server's side (the network went down)."""

        async def close_all():
            watching = hub.hubs().get(live_id)
            for socket in list(watching.sockets if watching else []):
                await socket.close(code=1012)

        asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)


class Beat(threading.Thread):
    """The beat's live sweep, every 0.2 s, as on a real deployment (draws rounds when due)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()

    def run(self):
        from django.db import connection

        while not self.stopping.wait(0.2):
            tasks.sweep.apply()
        connection.close()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def api(server, token, method, path):
    response = requests.request(
        method,
        f"{server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code < 300, response.text
    return response.json()["data"]


def screen_winners(page, number):
    return page.eval_on_selector_all(
        f'#history .past[data-round="{number}"] .past-winner',
        "items => items.map(i => i.dataset.id)",
    )


def test_a_whole_party_on_the_big_screen(browser, settings, creator):
    settings.LOTTERY_REVEAL_GAP_SECONDS = 2
    settings.LIVE_TICK_SECONDS = 0.25
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    event = EventFactory(
        creator=creator, title="年会现场抽奖", prizes=PRIZES, draw_mode="manual", now=now,
        draw_at=now + timedelta(hours=3),
    )  # fmt: skip
    host = tokens_for(creator)["access"]
    people = [UserFactory(nickname=f"同事{n:03d}号") for n in range(ENTRANTS)]
    beat = Beat()

    with LiveServer() as server:
        api(server, host, "POST", f"/events/{event.public_id}/live")
        link = api(server, host, "POST", f"/events/{event.public_id}/live/screens")
        screen_url = link["url"].replace("http://testserver", server.url)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        page.set_default_timeout(30_000)
        network = {"cut": False}

        def route(ws):
            if network["cut"]:
                ws.close()
            else:
                ws.connect_to_server()

        page.route_web_socket(re.compile(r"/ws/live/"), route)
        page.goto(screen_url)
        page.wait_for_function("() => document.getElementById('phase').textContent === '报名中'")

        for person in people:  # through the API, as the mini-program does
            api(server, tokens_for(person)["access"], "POST", f"/events/{event.public_id}/entry")
        page.wait_for_function(
            f"() => document.getElementById('count').textContent === '{ENTRANTS}'"
        )
        page.wait_for_function("() => document.querySelectorAll('#wall .entrant').length === 50")
        assert "同事" not in page.inner_text("#wall")  # masked: 同****号
        page.screenshot(path=str(ARTIFACTS / "live-screen-wall-1920x1080.png"))

        api(server, host, "POST", f"/events/{event.public_id}/live/lock")
        page.wait_for_function(
            "() => document.getElementById('phase').textContent === '已锁定报名'"
        )
        server_loop = _server_loop(server)
        beat.start()
        try:
            # Round 1, watched from start to end.
            api(server, host, "POST", f"/events/{event.public_id}/live/rounds/next")
            page.wait_for_selector("#round-cards .card.drawing")
            page.wait_for_selector('#history .past[data-round="1"]')

            # Round 2: the screen loses the network while the round is drawn, then gets it back.
            api(server, host, "POST", f"/events/{event.public_id}/live/rounds/next")
            page.wait_for_selector("#round-cards .card.drawing")
            network["cut"] = True
            server.drop_sockets(event.pk, server_loop)
            page.wait_for_selector("#link.down")
            wait_for(lambda: _drawn(event) == 2, timeout=30, what="round 2 drawn")
            time.sleep(1)
            assert page.query_selector('#history .past[data-round="2"]') is None  # missed it
            network["cut"] = False
            page.wait_for_selector('#history .past[data-round="2"]')

            # Round 3, the top prize: the drawing animation, then the winner.
            api(server, host, "POST", f"/events/{event.public_id}/live/rounds/next")
            page.wait_for_selector("#round-cards .card.drawing")
            page.screenshot(path=str(ARTIFACTS / "live-screen-drawing-1920x1080.png"))
            page.wait_for_selector('#history .past[data-round="3"]')
        finally:
            beat.stopping.set()
            beat.join(timeout=10)
        api(server, host, "POST", f"/events/{event.public_id}/live/end")
        page.wait_for_function("() => document.getElementById('phase').textContent === '已结束'")
        page.screenshot(path=str(ARTIFACTS / "live-screen-1920x1080.png"))
        page.set_viewport_size({"width": 1280, "height": 720})
        page.screenshot(path=str(ARTIFACTS / "live-screen-1280x720.png"))

        proof = requests.get(f"{server.url}/api/v1/events/{event.public_id}/live/proof", timeout=10)
        proof = proof.json()["data"]
        keys = requests.get(f"{server.url}/api/v1/events/{event.public_id}/entrants", timeout=10)
        shown = {n: screen_winners(page, n) for n in (1, 2, 3)}
        context.close()

    proven = {r["round"]: [w["user"]["id"] for w in r["winners"]] for r in proof["rounds"]}
    assert shown == proven
    assert [len(proven[n]) for n in (1, 2, 3)] == [3, 2, 1]
    problems, _ = verifier().check_live(proof, keys.text.split())
    assert problems == []


def _drawn(event) -> int:
    from live.models import LiveRound

    return LiveRound.objects.filter(live_id=event.pk, status=LiveRound.Status.DRAWN).count()


def _server_loop(server):
    """The event loop uvicorn runs on (its thread's), to act on its sockets from the test."""
    wait_for(lambda: hub.hubs(), timeout=10, what="the screen's socket")
    watching = next(iter(hub.hubs().values()))
    return watching.tasks[0].get_loop()
