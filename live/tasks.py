"""Celery tasks of live draws: thin, id-only, idempotent (a round is drawn once whatever runs)."""

from celery import shared_task
from django.utils import timezone

from live import selectors, services


@shared_task(ignore_result=True)
def draw_round(round_id: int) -> None:
    """Queued for the moment a round is due; a round not out yet is left to the sweeper."""
    services.round_draw(round_id=round_id, now=timezone.now())


@shared_task(bind=True, ignore_result=True)
def sweep(self) -> None:
    """Every LIVE_SWEEP_INTERVAL_SECONDS (beat): draw every locked round that is due.

    The net under ``draw_round``: a task lost with the broker, a beacon round late, a worker
    restarted; each round is looked at until it is drawn, however long that takes.
    """
    for round_id in selectors.rounds_locked(now=timezone.now()):
        draw_round.apply_async(args=[round_id], queue=_own_queue(self.request))


def _own_queue(request) -> str | None:
    delivery_info = getattr(request, "delivery_info", None) or {}
    return delivery_info.get("routing_key") or None
