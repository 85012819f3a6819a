"""The live websocket (Channels consumer, ``channels.testing.WebsocketCommunicator``).

A screen or a phone gets a snapshot, then every message of the event's log once and in order;
reconnecting with ``?after=`` replays exactly what it missed; a revoked screen link is closed
at once; an outsider's socket carries nothing private.
"""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from events.services.entries import entry_join
from live import hub, services
from lottery_site.asgi import application
from tests.factories import EventFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 5


@pytest.fixture(autouse=True)
def fast_ticks(settings):
    settings.LIVE_TICK_SECONDS = 0.05
    yield
    for watching in list(hub.hubs().values()):  # a test that failed half-way
        for task in watching.tasks:
            task.cancel()
    hub.hubs().clear()


@pytest.fixture
def party(creator):
    now = timezone.now()
    event = EventFactory(
        creator=creator,
        now=now,
        prizes=[{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 2}],
    )
    services.live_start(event=event, actor=creator, rounds=None, now=now)
    for n in range(8):
        entry_join(event=event, user=UserFactory(nickname=f"王小明{n}"), now=now)
    event.refresh_from_db()
    return event


def socket(event, query="", headers=None):
    path = f"/ws/live/{event.public_id}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers or [])


async def frames_until(communicator, kind, frames=None):
    frames = [] if frames is None else frames
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


def test_a_socket_gets_a_snapshot_then_each_message_once_in_order(party, creator):
    async def scenario():
        communicator = socket(party)
        assert (await communicator.connect())[0]
        snapshot = await communicator.receive_json_from(timeout=TIMEOUT)
        await sync_to_async(services.live_lock)(event=party, actor=creator, now=timezone.now())
        this = await sync_to_async(services.round_lock)(
            event=party, actor=creator, now=timezone.now()
        )
        await sync_to_async(services.round_draw)(round_id=this.pk, now=timezone.now())
        frames = await frames_until(communicator, "round_drawn")
        await communicator.disconnect()
        return snapshot, frames

    snapshot, frames = run(scenario)

    assert snapshot["type"] == "snapshot" and snapshot["data"]["count"] == 8
    assert [f["seq"] for f in frames] == list(range(snapshot["seq"] + 1, frames[-1]["seq"] + 1))
    assert [f["type"] for f in frames][-3:] == ["locked", "round_locked", "round_drawn"]
    drawn = frames[-1]["data"]
    assert drawn["round"] == 1 and len(drawn["winners"]) == 2  # the lowest tier first


def test_a_socket_that_reconnects_after_a_message_gets_exactly_what_it_missed(party, creator):
    async def scenario():
        first = socket(party)
        await first.connect()
        snapshot = await first.receive_json_from(timeout=TIMEOUT)
        await first.disconnect()
        await sync_to_async(services.live_lock)(event=party, actor=creator, now=timezone.now())
        for _ in range(2):
            this = await sync_to_async(services.round_lock)(
                event=party, actor=creator, now=timezone.now()
            )
            await sync_to_async(services.round_draw)(round_id=this.pk, now=timezone.now())
        again = socket(party, f"after={snapshot['seq']}")
        await again.connect()
        frames = await frames_until(again, "round_drawn")
        frames = await frames_until(again, "round_drawn", frames)
        assert await again.receive_nothing(timeout=0.3)
        await again.disconnect()
        return snapshot, frames

    snapshot, frames = run(scenario)

    assert frames[0]["type"] != "snapshot"
    assert [f["seq"] for f in frames] == list(range(snapshot["seq"] + 1, frames[-1]["seq"] + 1))
    assert [f["data"]["round"] for f in frames if f["type"] == "round_drawn"] == [1, 2]


def test_joins_reach_the_screen_in_one_batch_with_masked_names(party, creator):
    _, token = services.screen_create(event=party, actor=creator, now=timezone.now())

    async def scenario():
        communicator = socket(party, f"screen={token}")
        await communicator.connect()
        await communicator.receive_json_from(timeout=TIMEOUT)  # the snapshot
        for name in ("欧阳娜娜", "李雷"):
            await sync_to_async(entry_join)(
                event=party, user=await sync_to_async(UserFactory)(nickname=name),
                now=timezone.now(),
            )  # fmt: skip
        frames = await frames_until(communicator, "joins")
        while frames[-1]["data"]["count"] < 10:
            frames = await frames_until(communicator, "joins", frames)
        await communicator.disconnect()
        return [f for f in frames if f["type"] == "joins"]

    batches = run(scenario)

    # The 8 who joined before anyone watched, then the 2 newcomers: each shown once, masked.
    shown = [e["name"] for batch in batches for e in batch["data"]["entrants"]]
    assert len(shown) == 10 and shown[:2] == ["李*", "欧**娜"] or shown[-2:] == ["李*", "欧**娜"]
    assert sorted(shown) == sorted(["李*", "欧**娜"] + [f"王**{n}" for n in range(8)])
    assert len(batches) <= 2


def test_a_revoked_screen_link_is_closed_at_once(party, creator):
    link, token = services.screen_create(event=party, actor=creator, now=timezone.now())

    async def scenario():
        communicator = socket(party, f"screen={token}")
        await communicator.connect()
        await communicator.receive_json_from(timeout=TIMEOUT)
        await sync_to_async(services.screen_revoke)(
            event=party, actor=creator, screen_id=link.public_id, now=timezone.now()
        )
        while True:
            output = await communicator.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                break
        for _ in range(100):  # the hub, watched by nobody now, stops
            if not hub.hubs():
                break
            await asyncio.sleep(0.02)
        return output["code"], dict(hub.hubs())

    assert run(scenario) == (4403, {})

    async def reopen():
        communicator = socket(party, f"screen={token}")
        await communicator.connect()
        return (await communicator.receive_output(timeout=TIMEOUT))["code"]

    assert run(reopen) == 4403


@pytest.mark.parametrize(
    ("query", "headers", "code"),
    [
        ("screen=not-a-token", [], 4403),
        ("", [(b"authorization", b"Bearer not-a-jwt")], 4401),
    ],
)
def test_a_bad_credential_is_refused_with_its_reason(party, query, headers, code):
    async def scenario():
        communicator = socket(party, query, headers)
        await communicator.connect()
        return (await communicator.receive_output(timeout=TIMEOUT))["code"]

    assert run(scenario) == code


def test_a_socket_for_an_event_that_is_not_live_is_refused(creator):
    event = EventFactory(creator=creator)

    async def scenario():
        communicator = socket(event)
        await communicator.connect()
        return (await communicator.receive_output(timeout=TIMEOUT))["code"]

    assert run(scenario) == 4404


def test_an_entrant_connects_with_their_access_token(party):
    from accounts.services import tokens_for

    entrant = party.entries.first().user
    bearer = f"Bearer {tokens_for(entrant)['access']}".encode()

    async def scenario():
        communicator = socket(party, headers=[(b"authorization", bearer)])
        await communicator.connect()
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return frame

    assert run(scenario)["type"] == "snapshot"


def test_an_outsiders_socket_receives_nothing_private(party, creator):
    async def scenario():
        communicator = socket(party)
        await communicator.connect()
        texts = [json.dumps(await communicator.receive_json_from(timeout=TIMEOUT))]
        await sync_to_async(services.live_lock)(event=party, actor=creator, now=timezone.now())
        this = await sync_to_async(services.round_lock)(
            event=party, actor=creator, now=timezone.now()
        )
        await sync_to_async(services.round_draw)(round_id=this.pk, now=timezone.now())
        frames = await frames_until(communicator, "round_drawn")
        await communicator.disconnect()
        return "".join(texts + [json.dumps(f, ensure_ascii=False) for f in frames])

    text = run(scenario)

    assert "王小明" not in text and "王**" in text
    assert "openid" not in text and "session" not in text
