"""Celery tasks of notifications: thin, id-only, harmless when run twice."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from notifications import selectors, services

# How many deliveries one sweep queues at most: the rest waits for the next tick.
SWEEP_LIMIT = 20_000


@shared_task(ignore_result=True)
def sweep() -> None:
    """Every few seconds (beat): fan out new draw/cancel log rows, queue due deliveries, and
    close claims whose worker died. Whatever a crash interrupted is picked up here."""
    now = timezone.now()
    services.deliveries_expire_claims(now=now)
    for log_id in selectors.outbox_pending():
        # A big fan-out takes a few seconds: do not queue it again on every tick meanwhile.
        if cache.add(f"notify:fan-out:{log_id}", 1, timeout=settings.NOTIFY_REQUEUE_SECONDS):
            fan_out.delay(log_id)
    for batch in services.claims_fan_out(now=now):
        send_batch.delay(batch)
    for batch in services.substitutions_fan_out(now=now):
        send_batch.delay(batch)
    for batch in services.deliveries_take_due(now=now, limit=SWEEP_LIMIT):
        send_batch.delay(batch)


@shared_task(ignore_result=True)
def fan_out(log_id: int) -> None:
    for batch in services.outbox_fan_out(log_id=log_id, now=timezone.now()):
        send_batch.delay(batch)


@shared_task(ignore_result=True)
def send_batch(delivery_ids: list[int]) -> None:
    services.deliveries_send(delivery_ids=delivery_ids, now=timezone.now())
