"""Announcing a new message to the websocket processes, and queuing a round's draw.

The channel layer carries a reference only, ``{"type": "live.seq", "seq": n}``, to the group
of the event (one member per websocket process that watches it, ``live.hub``); each process
reads the message from the log once and sends it to its own sockets. With Redis
(``REDIS_URL``) every process hears it at once; with the in-memory layer of the embedded
default only the process that wrote it does, and the others find it on their next tick
(LIVE_TICK_SECONDS). A lost announcement is late, never lost: the log is the truth.
"""

import functools
import logging
from datetime import UTC, datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from beacon import drand
from live.models import LiveRound
from lottery_site import redis_breaker

logger = logging.getLogger(__name__)


def group(live_id: int) -> str:
    return f"live.{live_id}"


def announce_on_commit(live_id: int, seq: int) -> None:
    transaction.on_commit(functools.partial(announce, live_id, seq))


def announce(live_id: int, seq: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    def send() -> bool:
        async_to_sync(layer.group_send)(group(live_id), {"type": "live.seq", "seq": seq})
        return True

    try:
        if not redis_breaker.call(send, fallback=False):
            logger.info("live message %d of %d not announced: the ticks will find it", seq, live_id)
    except Exception:  # noqa: BLE001 - an announcement is a hint; the ticks catch up
        logger.warning("live message %d of %d not announced", seq, live_id, exc_info=True)


def draw_when_due(this: LiveRound) -> None:
    """Queue the round's draw for when it is due (after the commit); the sweeper is the net."""
    due = this.reveal_at
    if this.beacon_round is not None and this.beacon_chain:
        round_time = drand.Chain.from_json(this.beacon_chain).round_time(this.beacon_round)
        due = max(due, datetime.fromtimestamp(round_time, tz=UTC))
    transaction.on_commit(functools.partial(_queue, this.pk, due))


def _queue(round_id: int, due) -> None:
    from live import tasks

    countdown = max(0.0, (due - timezone.now()).total_seconds())

    def send() -> bool:
        tasks.draw_round.apply_async(args=[round_id], countdown=countdown, retry=False)
        return True

    if not redis_breaker.call(send, fallback=False):
        logger.warning("live round %d not queued (broker down): the sweeper draws it", round_id)
