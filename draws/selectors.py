"""Reads for the draw: which events are due, and the frozen entrant list in canonical order."""

import operator
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, Q

from draws.proof import round_time
from events.models import Claim, Entry, Event, Prize, Substitution
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

STREAM_BATCH = 10_000


def events_due_for_lock(*, now: datetime) -> list[int]:
    """Every INIT event whose lock time has passed, however long ago (an outage is caught up).

    Count mode included: the join that reaches the target sets ``lock_at`` to its own time, so
    such an event is due on the next sweep, through the same (status, lock_at) index.
    """
    return list(
        Event.objects.filter(status=Event.Status.INIT, lock_at__lte=now)
        .order_by("lock_at")
        .values_list("pk", flat=True)
    )


def events_due_for_draw(*, now: datetime) -> list[int]:
    """Every OPENING event whose draw is due: its draw time passed, or it was locked early.

    An early lock (count target reached, creator's manual draw) stores its due time
    (``early_lock_at``); such an event is drawn once its reveal gap has passed
    (``event_draw`` checks the gap: a sweep before it changes nothing).
    """
    # A cancel asked after the lock is settled as soon as its round is out, like an early lock.
    return list(
        Event.objects.filter(
            Event.draw_due_q(now=now) | Q(cancel_requested_at__isnull=False),
            status=Event.Status.OPENING,
            live=False,  # live: drawn by its host
        )
        .order_by("draw_at")
        .values_list("pk", flat=True)
    )


def overdue_counts(*, now: datetime, grace: timedelta) -> dict[str, int]:
    """How many events have been due for a lock, or a draw, for longer than ``grace``.

    The sweeper moves a due event on within seconds; one still due after a minute means the
    locks or draws are not happening (workers down, a draw failing). Two counts on the
    (status, lock_at) and (status, draw_at) indexes, every sweep.
    """
    before = now - grace
    draw_due = Event.draw_due_q(now=before)
    return {
        "lock": Event.objects.filter(status=Event.Status.INIT, lock_at__lte=before).count(),
        "draw": Event.objects.filter(draw_due, status=Event.Status.OPENING, live=False).count(),
    }


def is_due_for_draw(event: Event, *, now: datetime) -> bool:
    if event.live:  # drawn round by round by its host (the live app), never in one draw
        return False
    return event.draw_due_at <= now or event.cancel_requested_at is not None


def reveal_gap(event: Event) -> timedelta:
    """The event's reveal gap: fixed at creation (v3), else LOTTERY_REVEAL_GAP_SECONDS."""
    seconds = event.reveal_gap_seconds
    return timedelta(seconds=settings.LOTTERY_REVEAL_GAP_SECONDS if seconds is None else seconds)


def reveal_time(event: Event) -> datetime:
    """The earliest moment the seed may be revealed: the reveal gap after the lock.

    Counted from when the digests were actually published (``locked_at``), so a late sweeper
    or a count-mode lock cannot shorten it; events locked before it was recorded use lock_at.
    """
    return (event.locked_at or event.lock_at) + reveal_gap(event)


def beacon_overdue_counts(*, now: datetime) -> dict[str, int]:
    """How many settlements (draws, cancels after the lock) and substitutions have waited for
    their beacon round longer than DRAND_MAX_WAIT_SECONDS after its time.

    Both wait as long as it takes (no fallback); this is what the operator is alerted on. Few
    rows at any moment: events locked and not yet settled, substitutions pending.
    """
    limit = now.timestamp() - settings.DRAND_MAX_WAIT_SECONDS
    waiting_events = Event.objects.filter(
        status=Event.Status.OPENING, beacon__isnull=True, beacon_round__isnull=False
    ).values_list("beacon_round", "beacon_chain")
    pending = Substitution.objects.filter(pending=True, beacon_round__isnull=False).values_list(
        "beacon_round", "event__beacon_chain"
    )
    return {
        "draw": _overdue(waiting_events, limit),
        "substitution": _overdue(pending, limit),
    }


def _overdue(rows, limit: float) -> int:
    return sum(
        1 for round_number, chain in rows if chain and round_time(chain, round_number) <= limit
    )


def stream_entrant_keys(*, event_id: int) -> Iterator[list[str]]:
    """Batches of the event's entrant keys (user public ids) in canonical order.

    One index range scan on (event, user_key), nothing else: exactly the read the draw's
    benchmark floor measures. On MySQL it goes through a server-side cursor: Django's
    ``.iterator()`` there buffers the whole result (no server-side cursors in the backend),
    which for a million entrants costs ~170 MB and twice the time. Hold no other query on
    this connection until the generator is exhausted or closed.
    """
    table = Entry._meta.db_table
    sql = f"SELECT user_key FROM {table} WHERE event_id = %s ORDER BY user_key"  # noqa: S608
    connection.ensure_connection()
    if connection.vendor == "mysql":
        import MySQLdb.cursors

        cursor = connection.connection.cursor(MySQLdb.cursors.SSCursor)
    else:
        cursor = connection.connection.cursor()
    first = operator.itemgetter(0)
    try:
        cursor.execute(sql.replace("%s", "?") if connection.vendor == "sqlite" else sql, [event_id])
        while batch := cursor.fetchmany(STREAM_BATCH):
            yield list(map(first, batch))  # C-level unpacking: ~2x a list comprehension
    finally:
        cursor.close()


def entrant_position(*, event: Event, key: str) -> dict:
    """Where ``key`` stands in the event's frozen, sorted entrant list (two indexed reads)."""
    entries = Entry.objects.filter(event=event)
    included = entries.filter(user_key=key).exists()
    return {
        "key": key,
        "included": included,
        # The same ORDER BY user_key comparison the public list is streamed in (and checked
        # against the digest): for these [0-9a-z] ids it is the canonical bytewise order.
        "position": entries.filter(user_key__lt=key).count() if included else None,
        "entrant_count": event.entrant_count,
        "entrants_digest": event.entrants_digest,
        "locked_at": event.locked_at,
    }


def entry_ids_by_key(*, event_id: int, keys: list[str]) -> dict[str, int]:
    """Entry id of each of ``keys`` in the event (the winners: a few thousand at most)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        rows = Entry.objects.filter(event_id=event_id, user_key__in=keys[start : start + 1000])
        found.update(rows.values_list("user_key", "pk"))
    return found


def event_for_proof(*, public_id: str) -> Event:
    """The event with its prizes in tier order, or the 404 the API answers."""
    if not is_public_id(public_id, "e_"):  # exactly, not as MySQL's collation would match it
        raise ApplicationError("event_not_found")
    event = (
        Event.objects.filter(public_id=public_id)
        .prefetch_related(Prefetch("prizes", queryset=Prize.objects.order_by("position")))
        .first()
    )
    if event is None:
        raise ApplicationError("event_not_found")
    return event


def winners_of(*, event: Event) -> dict:
    """Winners in draw order (tier order: what the proof implies) and the unawarded prizes."""
    winners = (
        Entry.objects.filter(event=event, prize__isnull=False)
        .select_related("user", "user__avatar", "prize")
        .order_by("prize_rank")
    )
    unawarded = [
        {"prize": prize, "quantity": prize.quantity - prize.awarded}
        for prize in event.prizes.all()
        if prize.quantity > prize.awarded
    ]
    return {"winners": list(winners), "unawarded": unawarded}


def claims_due_for_expiry(*, now: datetime) -> list[int]:
    """Claims still unclaimed at their deadline whose entry holds the prize: each passes on.

    One range scan of the (status, deadline) index; whatever an outage left behind is caught
    up on the first sweep after it. An event without a claim step never expires a prize (an
    alternate there has a claim row only for their inbox).
    """
    return list(
        Claim.objects.filter(Claim.expired_q(now=now), entry__prize__isnull=False)
        .exclude(event__delivery=Event.Delivery.NONE)
        .order_by("deadline", "pk")
        .values_list("pk", flat=True)
    )


def substitutions_due(*, now: datetime) -> list[int]:
    """v3: the pending substitution each event must resolve next, once its round's time is due.

    Per event only the earliest pending one (they are resolved in the order recorded). Few rows
    at any moment: those recorded within the last reveal gap, or waiting for a late round.
    """
    rows = (
        Substitution.objects.filter(pending=True)
        .order_by("pk")
        .values_list("pk", "event_id", "beacon_round", "event__beacon_chain")
    )
    due, seen = [], set()
    for pk, event_id, round_number, chain in rows:
        if event_id in seen:
            continue
        seen.add(event_id)
        if round_number is None or not chain or round_time(chain, round_number) <= now.timestamp():
            due.append(pk)
    return due


def substitutions_of(*, event: Event) -> list[Substitution]:
    """Every substitution of the event, in the order they happened (the order the proof lists)."""
    return list(Substitution.objects.filter(event=event).select_related("prize").order_by("pk"))
