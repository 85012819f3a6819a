"""Celery tasks of the draw: thin, id-only, idempotent (running one twice changes nothing)."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from draws import selectors, services, substitutions
from events.models import Event
from lottery_site import metrics
from lottery_site import request_id as log_context

logger = logging.getLogger(__name__)

# Due for longer than this and still not locked or drawn: overdue (the LotteryOverdueEvents
# alert). The sweeper runs every few seconds, so a healthy service never gets near it.
OVERDUE_AFTER = timedelta(minutes=1)


@shared_task(bind=True, ignore_result=True)
def sweep(self) -> None:
    """Every few seconds (beat): hand each due event to its own task.

    Due for a lock: every INIT event whose entries have closed (its lock time passed, or its
    count target reached); due for a draw: every OPENING event past its draw time or locked
    early (``Event.draw_due_at``). A due draw still waits for the reveal gap after the lock
    (``draws.selectors.reveal_time``): the draw task of a sweep inside the gap changes nothing,
    and the first sweep after it draws the event. The sweeper owns both transitions; nothing
    else locks an event on a schedule.

    Looks at every due event however old, so locks and draws missed during an outage happen on
    the first sweep after it. One task per event: a huge event does not delay the others, and
    one that fails does not stop the rest.
    """
    now = timezone.now()
    queue = _own_queue(self.request)
    for event_id in selectors.events_due_for_lock(now=now):
        lock_event.apply_async(args=[event_id], queue=queue)
    for event_id in selectors.events_due_for_draw(now=now):
        draw_event.apply_async(args=[event_id], queue=queue)
    substitutions.claims_open_expired(now=now)
    for claim_id in selectors.claims_due_for_expiry(now=now):
        expire_claim.apply_async(args=[claim_id], queue=queue)
    for substitution_id in selectors.substitutions_due(now=now):
        resolve_substitution.apply_async(args=[substitution_id], queue=queue)
    _record_overdue(now)


def _record_overdue(now: datetime) -> None:
    for transition, count in selectors.overdue_counts(now=now, grace=OVERDUE_AFTER).items():
        metrics.OVERDUE_EVENTS.labels(transition).set(count)
    for waiting, count in selectors.beacon_overdue_counts(now=now).items():
        metrics.BEACON_OVERDUE.labels(waiting).set(count)
    metrics.SWEEP_LAST_RUN.set(now.timestamp())


def _own_queue(request) -> str | None:
    """The queue this sweep was delivered on, so the per-event tasks go to the same workers.

    Whoever routes the sweeper to a queue (a dedicated draw worker pool, a test worker on its
    own queue) gets the draws there too, instead of on a default queue that maybe nobody
    consumes. None (the default queue) when run inline.
    """
    delivery_info = getattr(request, "delivery_info", None) or {}
    return delivery_info.get("routing_key") or None


@shared_task(ignore_result=True)
def lock_event(event_id: int) -> None:
    _name_event(event_id)
    now = timezone.now()
    services.event_lock(event_id=event_id, now=now)
    # Not drawn here as a rule: the lock has just published the entrant list, and the draw
    # waits the reveal gap after it (LOTTERY_REVEAL_GAP_SECONDS; event_draw returns False until
    # then, and the first sweep after the gap draws it), however overdue the event is. Only
    # with no gap is the event drawn at once, by this call.
    services.event_draw(event_id=event_id, now=now)


@shared_task(ignore_result=True)
def draw_event(event_id: int) -> None:
    _name_event(event_id)
    services.event_draw(event_id=event_id, now=timezone.now())


def _name_event(event_id: int) -> None:
    """Every line this task logs names its event, Celery's "succeeded" line too, even when
    the event turns out to be drawn already (the task then logs nothing else)."""
    public_id = Event.objects.filter(pk=event_id).values_list("public_id", flat=True).first()
    log_context.event_id.set(public_id)


@shared_task(ignore_result=True)
def expire_claim(claim_id: int) -> None:
    """A claim window passed unclaimed: the prize passes to the next alternate (once)."""
    substitutions.claim_expire(claim_id=claim_id, now=timezone.now())


@shared_task(ignore_result=True)
def resolve_substitution(substitution_id: int) -> None:
    """v3: the round a substitution named is due: draw its alternate (once)."""
    substitutions.substitution_resolve(substitution_id=substitution_id, now=timezone.now())
