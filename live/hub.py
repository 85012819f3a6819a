"""One hub per watched event per websocket process: the event's log, read once, sent to many.

A hub is this process's one member of the event's channel group (``live.push.group``). An
announcement (``live.seq``) or its tick (LIVE_TICK_SECONDS) makes it read the new messages of
the log, one query for the whole process, and send each, encoded once, to every socket of
its own in order. A socket that (re)connects is first brought up to date, under the same
lock: from ``?after=<seq>`` by replaying the log, else (or when it missed too much) with a
snapshot of the state as of a message number; then it gets every later message exactly once.

While the event is open, the tick also asks ``live.services.joins_announce`` to turn the
joins since the last tick into one "joins" message (one process wins each batch).
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from live import push, selectors, services
from live.models import LiveEvent, LiveMessage
from lottery_site import caches, metrics

logger = logging.getLogger(__name__)

# Recent frames each hub keeps encoded; a socket further behind is served from the database.
CACHE_FRAMES = 256
_hubs: dict[int, "Hub"] = {}


def _forget_frames() -> None:
    for hub in _hubs.values():
        hub.frames.clear()
        hub._snapshot = None


caches.register(
    name="live.frames",
    holds="each watched live event's last CACHE_FRAMES (256) log messages, encoded once, and "
    "its latest snapshot frame",
    where=caches.PROCESS,
    freshness="never stale: the log is append-only and a message is never edited; the snapshot "
    "is kept only for the message number it was read at",
    invalidated_by="nothing (older frames drop out; a hub's frames go when its last socket does)",
    benchmark="bench/live: one frame encoded per process, sent to N sockets: 5,000 sockets "
    "reached in 575 ms (p50), 0.19 x a plain Channels broadcast's time "
    '(docs/benchmarks.md, "Live push")',
    reset=_forget_frames,
)


async def hub_for(live_id: int) -> "Hub":
    hub = _hubs.get(live_id)
    if hub is None:
        hub = _hubs[live_id] = Hub(live_id)
        await hub.start()
    return hub


def hubs() -> dict[int, "Hub"]:
    return _hubs


class Hub:
    def __init__(self, live_id: int):
        self.live_id = live_id
        self.sockets: set = set()
        self.frames: OrderedDict[int, str] = OrderedDict()
        self.seq = 0
        self.open = False  # the event takes joins: the tick announces them
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self._snapshot: tuple[int, str] | None = None
        self.stopped = False

    async def start(self) -> None:
        self.seq, phase = await _head(self.live_id)
        self.open = phase == LiveEvent.Phase.OPEN
        layer = get_channel_layer()
        if layer is not None:
            self.channel = await layer.new_channel()
            await layer.group_add(push.group(self.live_id), self.channel)
            self.tasks.append(asyncio.ensure_future(self._listen(layer)))
        self.tasks.append(asyncio.ensure_future(self._tick()))

    async def stop(self) -> None:
        self.stopped = True
        for task in self.tasks:
            task.cancel()
        layer = get_channel_layer()
        if layer is not None and self.channel is not None:
            with contextlib.suppress(Exception):
                await layer.group_discard(push.group(self.live_id), self.channel)

    # --- sockets ---------------------------------------------------------------------------

    async def attach(self, socket, after: int | None) -> None:
        """Bring ``socket`` up to date, then include it in every later fan-out."""
        async with self.lock:
            if after is None or after > self.seq or self.seq - after > settings.LIVE_REPLAY_MAX:
                seq, text = await self._snapshot_frame()
                if not await _send(socket, text):
                    return
                socket.last_seq = seq
            else:
                socket.last_seq = after
            if await self._catch_up(socket):
                self.sockets.add(socket)

    async def detach(self, socket) -> None:
        self.sockets.discard(socket)
        await self._stop_if_unwatched()

    async def _stop_if_unwatched(self) -> None:
        if not self.sockets and _hubs.get(self.live_id) is self:
            del _hubs[self.live_id]
            await self.stop()

    # --- the log -----------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read what the log gained and send it to every socket; announce joins when open."""
        if self.open:
            await sync_to_async(services.joins_announce)(live_id=self.live_id, now=timezone.now())
        async with self.lock:
            messages = await sync_to_async(selectors.messages_after)(
                live_id=self.live_id, after=self.seq
            )
            if not messages:
                return
            for message in messages:
                self._keep(message)
            for socket in list(self.sockets):
                if not await self._catch_up(socket):
                    self.sockets.discard(socket)
            sent = time.time()
            for message in messages:
                metrics.LIVE_PUSH_LATENCY.observe(max(0.0, sent - message.created_at.timestamp()))
            for message in messages:
                if message.kind == LiveMessage.Kind.SCREEN_REVOKED:
                    await self._close_screen(message.payload.get("screen"))

    def _keep(self, message: LiveMessage) -> None:
        self.frames[message.seq] = json.dumps(selectors.frame(message), ensure_ascii=False)
        while len(self.frames) > CACHE_FRAMES:
            self.frames.popitem(last=False)
        self.seq = max(self.seq, message.seq)
        if message.kind in (LiveMessage.Kind.LOCKED, LiveMessage.Kind.ENDED):
            self.open = False

    async def _catch_up(self, socket) -> bool:
        """Send ``socket`` every frame after its last one, in order; False if it is gone."""
        oldest = next(iter(self.frames), self.seq + 1)
        if socket.last_seq + 1 < oldest:  # behind the cache: read the gap from the log
            gap = await sync_to_async(selectors.messages_after)(
                live_id=self.live_id, after=socket.last_seq, limit=oldest - socket.last_seq - 1
            )
            for message in gap:
                text = json.dumps(selectors.frame(message), ensure_ascii=False)
                if not await _send(socket, text):
                    return False
                socket.last_seq = message.seq
        for seq, text in self.frames.items():
            if seq > socket.last_seq:
                if not await _send(socket, text):
                    return False
                socket.last_seq = seq
        return True

    async def _snapshot_frame(self) -> tuple[int, str]:
        """The state as one frame, shared by every socket that connects at the same number."""
        if self._snapshot is None or self._snapshot[0] != self.seq:
            state = await sync_to_async(_state)(self.live_id)
            text = json.dumps({"seq": state["seq"], "type": "snapshot", "data": state},
                              ensure_ascii=False)  # fmt: skip
            self._snapshot = (state["seq"], text)
        return self._snapshot

    async def _close_screen(self, screen_id: str | None) -> None:
        for socket in list(self.sockets):
            if screen_id is not None and getattr(socket, "screen_id", None) == screen_id:
                self.sockets.discard(socket)
                with contextlib.suppress(Exception):
                    await socket.close(code=4403)
        # Not from inside the tick: stopping cancels it.
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self._stop_if_unwatched())
        )

    # --- wake-ups ----------------------------------------------------------------------------

    async def _listen(self, layer) -> None:
        while not self.stopped:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis gone: the tick carries on meanwhile
                logger.warning("live hub %d: channel layer receive failed", self.live_id)
                await asyncio.sleep(settings.LIVE_TICK_SECONDS)
                continue
            if message.get("type") == "live.seq" and message.get("seq", 0) > self.seq:
                self.wake.set()

    async def _tick(self) -> None:
        while not self.stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=settings.LIVE_TICK_SECONDS)
            self.wake.clear()
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database blinked: the next tick retries
                logger.exception("live hub %d: refresh failed", self.live_id)
                await asyncio.sleep(settings.LIVE_TICK_SECONDS)


async def _send(socket, text: str) -> bool:
    try:
        await socket.send(text_data=text)
    except Exception:  # noqa: BLE001 - the client went away between two frames
        return False
    return True


@sync_to_async
def _head(live_id: int) -> tuple[int, int]:
    return tuple(LiveEvent.objects.filter(pk=live_id).values_list("seq", "phase")[0])


def _state(live_id: int) -> dict:
    live = LiveEvent.objects.select_related("event").get(pk=live_id)
    return selectors.state(live)
