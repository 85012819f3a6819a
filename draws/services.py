"""The only write path for locking and drawing events.

Every transition is a conditional UPDATE on ``status``: whoever loses a race (a second sweeper, a
task delivered twice, a staff cancel racing the draw) updates no row and does nothing more.
A draw is a pure function of the event's committed seed and its frozen entrant list, so a draw
interrupted at any point (worker killed, database gone) and run again gives the same winners.
"""

import bisect
import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from beacon import drand
from draws import allocator, selectors
from draws.proof import first_round_at_or_after
from events import read_model, transitions
from events.models import Entry, Event, EventLog, Prize
from lottery_site import metrics
from lottery_site import request_id as log_context
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

WRITE_CHUNK = 1000


class DrawIntegrityError(RuntimeError):
    """The entrant list no longer matches what was frozen at the lock: refuse to draw."""


def event_lock(*, event_id: int, now: datetime, reason: str = "", early: bool = False) -> bool:
    """INIT -> OPENING, publishing the frozen entrant list; False if not INIT (or not due).

    The one lock, whatever closed the entries: the scheduled lock time passing, a count-mode
    target reached (the join that reached it set ``lock_at``), or ``early``, the creator's
    manual draw, which locks before the scheduled lock time and sets ``lock_at`` to now. An
    early lock (target, creator) stores its due time, ``early_lock_at``: the draw is due then.
    The transaction takes the event's row lock first. A join commits its entry and its
    ``participant_count`` increment under that same row lock, so once this transaction holds
    it, no further entry can be committed: the list read below is final.
    """
    with transaction.atomic():
        lock_at = _hold_row(event_id)
        due = {"lock_at__gt": now} if early else {"lock_at__lte": now}
        changes = {"status": Event.Status.OPENING}
        if early:
            changes.update(lock_at=now, early_lock_at=now)
        if not Event.objects.filter(pk=event_id, status=Event.Status.INIT, **due).update(**changes):
            return False
        event = Event.objects.only(*_LOCK_FIELDS).get(pk=event_id)
        trigger = "creator" if early else _lock_trigger(event)
        published = _lock_publication(event_id, now=now)
        if trigger == "target":  # entries closed when the join reached it (its ``lock_at``)
            published["early_lock_at"] = event.lock_at
        Event.objects.filter(pk=event_id).update(**published)
        transitions.log(
            event_id,
            action=EventLog.Action.LOCK,
            from_status=Event.Status.INIT,
            to_status=Event.Status.OPENING,
            reason=reason or LOCK_REASONS[trigger],
            now=now,
        )
        read_model.event_changed(event_id=event_id, what="live")
    logger.info("event %s locked (%s)", event.public_id, LOCK_REASONS[trigger])
    metrics.EVENTS_LOCKED.labels(trigger).inc()
    if not early:  # how long after entries closed the sweeper locked the event
        metrics.LOCK_LAG.observe((now - lock_at).total_seconds())
    return True


LOCK_REASONS = {"schedule": "lock time", "target": "target reached", "creator": "drawn early"}


_LOCK_FIELDS = ("public_id", "lock_at", "draw_mode", "participant_count", "target_participants")


def _lock_trigger(event: Event) -> str:
    """What closed the entries of an event the sweeper locks: its schedule, or its count target.

    Read from the count, not from the times: a count-mode event whose target is reached had its
    entries closed by the join that reached it (no withdrawal is accepted after that).
    """
    target = event.target_participants
    if event.draw_mode == Event.DrawMode.COUNT and target and event.participant_count >= target:
        return "target"
    return "schedule"


def _lock_publication(event_id: int, *, now: datetime) -> dict:
    """What the lock publishes: the entrant count and digest, the prizes digest, the lock time,
    and the beacon round.

    The round is named here, at the actual lock, in every draw mode: the first one at or after
    ``now`` + the event's reveal gap. Nobody can know it while the entrant list and the prizes
    can change, however late the sweeper locks (a round named earlier, from the scheduled lock,
    could be public before a late lock; v2 events, which named one at creation, are renamed too).
    """
    count, digest = _frozen_list(event_id)
    event = Event.objects.only("fairness_algorithm", "beacon_chain", "reveal_gap_seconds").get(
        pk=event_id
    )
    published = {"entrant_count": count, "entrants_digest": digest, "locked_at": now}
    if event.fairness_algorithm in allocator.WITH_PRIZES_DIGEST:
        published["prizes_digest"] = allocator.prizes_digest(
            Prize.objects.filter(event_id=event_id)
            .order_by("position")
            .values_list("public_id", "quantity", "name")
        )
        if event.beacon_chain:
            published["beacon_round"] = first_round_at_or_after(
                event.beacon_chain, now + selectors.reveal_gap(event)
            )
    return published


def event_draw(*, event_id: int, now: datetime) -> bool:
    """OPENING -> OPENED with winners, or -> CANCELED with the would-be winners; False if not
    OPENING, not due, still waiting (for the reveal gap or the beacon round), or someone else
    settled it.

    The one step that settles a locked event. It never goes ahead without the beacon round
    named at the lock: until a relay serves that round with a valid signature it returns
    False and the next sweep asks again, however long it takes (``lottery_beacon_overdue``
    tells the operator). Only an event created without a beacon (v3 ``without_beacon``, or an
    older event that named no round) is drawn without one.

    A cancel asked after the lock (``cancel_requested_at``, ``events.services.events.event_cancel``)
    is settled here too, with the same inputs: the event is canceled and the winners the draw
    would have had are published in its proof, so the cancel cannot hide the outcome.

    The conditional UPDATE of the status comes first in the transaction and holds the event's
    row lock for the rest of it: a second settlement (another sweeper, a task delivered twice)
    waits for it, then finds no OPENING row and returns. The winners, the prizes' awarded
    counts and the log row (the notifications outbox) are written in that same transaction; a
    worker killed half-way leaves the event OPENING for the next sweep.
    Raises DrawIntegrityError (nothing written) if the entrant list changed after the lock.
    """
    started = time.perf_counter()
    event = Event.objects.filter(pk=event_id, status=Event.Status.OPENING).first()
    if event is None or not selectors.is_due_for_draw(event, now=now):
        return False
    log_context.event_id.set(event.public_id)  # the draw task's log lines name the event
    reveal_at = selectors.reveal_time(event)
    if now < reveal_at:
        # The sweeper comes back; a worker never sleeps through the gap. Said, so that a draw
        # asked for by a request and done by a later sweep reads as one story in the log.
        logger.info("event %s: drawn by the first sweep after %s", event.public_id, reveal_at)
        return False
    beacon, missing_reason = _round_for(event, now=now)  # network: outside any transaction
    if beacon is None and missing_reason is None:
        return False  # the round is not out, or no relay served it yet: the next sweep asks
    prizes = list(Prize.objects.filter(event_id=event_id).order_by("position"))
    allocation = _allocate(event, prizes, beacon)
    with transaction.atomic():
        _hold_row(event_id)
        current = (
            Event.objects.filter(pk=event_id, status=Event.Status.OPENING)
            .values("cancel_requested_at", "cancel_reason")
            .first()
        )
        if current is None:
            return False
        settle = _settle_cancel if current["cancel_requested_at"] else _settle_draw
        settle(event, prizes, allocation, beacon=beacon, missing_reason=missing_reason, now=now)
        read_model.event_changed(event_id=event_id, what="live")
    if current["cancel_requested_at"] is None:
        _count_draw(event, now=now, seconds=time.perf_counter() - started)
    return True


def _settle_draw(event, prizes, allocation, *, beacon, missing_reason, now) -> None:
    Event.objects.filter(pk=event.pk, status=Event.Status.OPENING).update(
        status=Event.Status.OPENED,
        drawn_at=now,
        beacon=beacon,
        beacon_missing_reason=(missing_reason or "")[:200],
    )
    keys_at = _keys_at(event, [position for position, _ in allocation.awards])
    ids = selectors.entry_ids_by_key(event_id=event.pk, keys=list(keys_at.values()))
    prize_pk = {prize.public_id: prize.pk for prize in prizes}
    _write_awards(
        [
            (ids[keys_at[position]], prize_pk[prize_id], rank)
            for rank, (position, prize_id) in enumerate(allocation.awards)
        ]
    )
    _write_awarded_counts(prizes, allocation.unawarded)
    transitions.log(
        event.pk,
        action=EventLog.Action.DRAW,
        from_status=Event.Status.OPENING,
        to_status=Event.Status.OPENED,
        reason=f"{len(allocation.awards)} winners of {event.entrant_count} entrants",
        now=now,
    )
    logger.info("event %s drawn: %d winners", event.public_id, len(allocation.awards))


def _settle_cancel(event, prizes, allocation, *, beacon, missing_reason, now) -> None:
    """The cancel asked after the lock: the event is canceled, nobody wins, and the proof shows
    who would have (user keys in unit order), computed exactly as the draw would have."""
    keys_at = _keys_at(event, [position for position, _ in allocation.awards])
    Event.objects.filter(pk=event.pk, status=Event.Status.OPENING).update(
        status=Event.Status.CANCELED,
        canceled_at=now,
        beacon=beacon,
        beacon_missing_reason=(missing_reason or "")[:200],
        would_be_winners=[keys_at[position] for position, _ in allocation.awards],
    )
    transitions.log(
        event.pk,
        action=EventLog.Action.CANCEL,
        actor_kind=EventLog.ActorKind.STAFF,
        from_status=Event.Status.OPENING,
        to_status=Event.Status.CANCELED,
        reason=Event.objects.values_list("cancel_reason", flat=True).get(pk=event.pk),
        now=now,
    )
    logger.info("event %s canceled at its round (asked after the lock)", event.public_id)


def _count_draw(event: Event, *, now: datetime, seconds: float) -> None:
    """The draw's metrics. Its lag counts from when it became due (``draw_due_at``): the draw
    time, or the moment of an early lock (creator's manual draw, count target), after which it
    is drawn once the reveal gap has passed; the number an operator alerts on
    (deploy/prometheus/alerts.yml)."""
    metrics.EVENTS_DRAWN.inc()
    metrics.DRAW_DURATION.observe(seconds)
    metrics.DRAW_ENTRANTS.observe(event.entrant_count)
    metrics.DRAW_LAG.observe(max(0.0, (now - event.draw_due_at).total_seconds()))


def _allocate(event: Event, prizes: list[Prize], beacon: dict | None) -> allocator.Allocation:
    """The winners, from the frozen inputs; refuses prizes changed since their digest."""
    if event.fairness_algorithm == allocator.ALGORITHM_V1:
        return allocator.allocate(
            seed=bytes(event.seed),
            entrants_digest=event.entrants_digest,
            entrant_count=event.entrant_count,
            prizes=[(prize.public_id, prize.quantity) for prize in prizes],
        )
    digest = allocator.prizes_digest((p.public_id, p.quantity, p.name) for p in prizes)
    if digest != event.prizes_digest:
        raise DrawIntegrityError(f"prizes of event {event.public_id} changed after the lock")
    return allocator.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=[(prize.public_id, prize.quantity) for prize in prizes],
        algorithm=event.fairness_algorithm,
        prizes_digest=digest,
        beacon_randomness=bytes.fromhex(beacon["randomness"]) if beacon else None,
    )


def _round_for(event: Event, *, now: datetime) -> tuple[dict | None, str | None]:
    """(verified round, None) to draw with; (None, why) to draw without; (None, None) to wait.

    Without: only an event that never had a beacon (created with none configured, or older
    than the beacon). Every other one waits for its named round, whatever the relays do: a
    round no relay serves with a valid signature is not a reason to draw without it.
    """
    if event.fairness_algorithm == allocator.ALGORITHM_V1:
        return None, ""
    if event.beacon:
        return event.beacon, None  # verified and stored earlier
    if event.beacon_round is None or not event.beacon_chain:
        return None, NO_BEACON_REASON
    chain = drand.Chain.from_json(event.beacon_chain)
    return fetch_round(chain=chain, round_number=event.beacon_round, now=now), None


NO_BEACON_REASON = "no beacon was configured when the event was created"


def fetch_round(*, chain: drand.Chain, round_number: int, now: datetime) -> dict | None:
    """The verified round, or None while it is not out or no relay served a valid one."""
    if now.timestamp() < chain.round_time(round_number):
        return None
    if not settings.DRAND_URLS:
        logger.error("round %d is due but DRAND_URLS is empty: waiting for it", round_number)
        return None
    try:
        return drand.fetch_round(
            chain=chain,
            round_number=round_number,
            urls=settings.DRAND_URLS,
            timeout=settings.DRAND_TIMEOUT_SECONDS,
        )
    except drand.BeaconError as error:
        logger.warning("round %d not obtained yet: %s", round_number, error)
        return None


def event_draw_early(*, event: Event, actor, now: datetime) -> bool:
    """The creator of a manual-mode event draws it now (locks it; the draw task follows)."""
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")
    if event.draw_mode != Event.DrawMode.MANUAL:
        raise ApplicationError(
            "invalid_input", data={"draw_mode": [_("Only a manual-mode event can be drawn early.")]}
        )
    transitions.refuse_unless_status(event, {Event.Status.INIT})
    if event.participant_count < 1:
        raise ApplicationError("event_no_entrants")
    if not event_lock(event_id=event.pk, now=now, reason="drawn early by the creator", early=True):
        event.refresh_from_db()
        transitions.refuse_unless_status(event, {Event.Status.INIT})
        raise ApplicationError("event_locked")
    return True


def _hold_row(event_id: int) -> datetime | None:
    """Lock the event's row through its primary key, before the conditional UPDATE.

    Alone, an UPDATE filtered on status and lock time may reach the row through the
    (status, lock_at) index and lock that index entry first; a cancel holding the row (it
    selects it FOR UPDATE by primary key) then needs the same entry to change the status, and
    MySQL kills one of them as a deadlock. Taking the row first, like every other writer of
    the event, makes them queue instead. The UPDATE after it still decides who won.
    Returns the row's ``lock_at`` (None if there is no such event), read in the same query.
    """
    rows = Event.objects.select_for_update().filter(pk=event_id).values_list("lock_at", flat=True)
    return next(iter(rows), None)


def _frozen_list(event_id: int) -> tuple[int, str]:
    digest = allocator.EntrantDigest()
    for keys in selectors.stream_entrant_keys(event_id=event_id):
        digest.update(keys)
    return digest.count, digest.hexdigest()


def _keys_at(event: Event, positions: list[int]) -> dict[int, str]:
    """The keys at the given positions of the canonical list, re-checking the frozen digest.

    One pass over the list's keys (the same read as the lock); per batch only the wanted
    positions inside it are looked at (bisect), so the cost is reading and hashing the list,
    not a Python loop over a million rows, and the memory is one batch whatever the size.
    """
    wanted = sorted(positions)
    keys_at: dict[int, str] = {}
    # Compared with the digest checked at the lock below, so the checks need not run twice.
    digest = allocator.EntrantDigest(checked=False)
    start = 0
    for batch in selectors.stream_entrant_keys(event_id=event.pk):
        digest.update(batch)
        end = start + len(batch)
        for position in wanted[bisect.bisect_left(wanted, start) : bisect.bisect_left(wanted, end)]:
            keys_at[position] = batch[position - start]
        start = end
    if digest.count != event.entrant_count or digest.hexdigest() != event.entrants_digest:
        logger.error(
            "event %s: entrant list changed after lock (%d entrants, digest %s; frozen %s, %s)",
            event.public_id,
            digest.count,
            digest.hexdigest(),
            event.entrant_count,
            event.entrants_digest,
        )
        raise DrawIntegrityError(f"entrant list of event {event.public_id} changed after lock")
    return keys_at


def _write_awards(awards: list[tuple[int, int, int]]) -> None:
    """Give each winning entry its prize and its rank in the draw (the order the proof implies).

    Only the transaction that won OPENING -> OPENED gets here, so nobody else writes awards;
    the (event, user) unique constraint on entries makes a second prize per user impossible.
    One UPDATE per 1,000 winners with two CASEs, in plain SQL: ``bulk_update`` builds the
    same statement but spends ~1 s of Python per 1,000 rows resolving expressions.
    """
    table = Entry._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(awards), WRITE_CHUNK):
            chunk = awards[start : start + WRITE_CHUNK]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            sql = (
                f"UPDATE {table} SET prize_id = CASE id {cases} END, "  # noqa: S608
                f"prize_rank = CASE id {cases} END "
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))}) AND prize_id IS NULL"
            )
            prize_params = [value for entry, prize, _ in chunk for value in (entry, prize)]
            rank_params = [value for entry, _, rank in chunk for value in (entry, rank)]
            cursor.execute(sql, [*prize_params, *rank_params, *(entry for entry, _, _ in chunk)])
            if cursor.rowcount != len(chunk):
                raise DrawIntegrityError(
                    f"{len(chunk) - cursor.rowcount} winning entries vanished or had a prize"
                )


def _write_awarded_counts(prizes: list[Prize], unawarded: dict[str, int]) -> None:
    for prize in prizes:
        awarded = prize.quantity - unawarded.get(prize.public_id, 0)
        Prize.objects.filter(pk=prize.pk).update(awarded=awarded)
