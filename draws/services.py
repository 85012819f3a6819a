"""The only write path for locking and drawing events.

Every transition is a conditional UPDATE on ``status``: whoever loses a race (a second sweeper, a
task delivered twice, a staff cancel racing the draw) updates no row and does nothing more.
A draw is a pure function of the event's committed seed and its frozen entrant list, so a draw
interrupted at any point (worker killed, database gone) and run again gives the same winners.
"""

import bisect
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from draws import fairness, selectors
from events import read_model, transitions
from events.models import Entry, Event, EventLog, Prize
from lottery_site import drand, metrics
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
        published = _lock_publication(event_id, now=now, early=trigger != "schedule")
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


def _lock_publication(event_id: int, *, now: datetime, early: bool) -> dict:
    """What the lock publishes: the entrant count and digest, the prizes digest, the lock time.

    An early lock (manual draw, count target) names a new beacon round: the first one at least
    LOTTERY_REVEAL_GAP_SECONDS after now, so the draw does not wait for the round named for the
    scheduled lock. It is still unknown to anyone when the entrant list and the prizes froze.
    """
    count, digest = _frozen_list(event_id)
    event = Event.objects.only("fairness_algorithm", "beacon_chain").get(pk=event_id)
    published = {"entrant_count": count, "entrants_digest": digest, "locked_at": now}
    if event.fairness_algorithm == fairness.ALGORITHM_V2:
        published["prizes_digest"] = fairness.prizes_digest(
            Prize.objects.filter(event_id=event_id)
            .order_by("position")
            .values_list("public_id", "quantity", "name")
        )
        if early and event.beacon_chain:
            chain = drand.Chain.from_json(event.beacon_chain)
            reveal = now + timedelta(seconds=settings.LOTTERY_REVEAL_GAP_SECONDS)
            published["beacon_round"] = chain.first_round_at_or_after(reveal.timestamp())
    return published


def event_draw(*, event_id: int, now: datetime) -> bool:
    """OPENING -> OPENED with winners; False if not OPENING, not due, or someone else drew it.

    The conditional UPDATE to OPENED comes first and holds the event's row lock for the rest
    of the transaction: a second draw (another sweeper, a task delivered twice) waits for it,
    then finds no OPENING row and returns at once instead of redoing the work. The winners,
    the prizes' awarded counts and the "draw" log row (the notifications outbox) are written
    in that same transaction: results and their notifications exist together or not at all,
    and a worker killed half-way leaves the event OPENING for the next sweep.
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
    beacon, missing_reason = event.beacon, event.beacon_missing_reason
    if event.fairness_algorithm == fairness.ALGORITHM_V2 and not (beacon or missing_reason):
        beacon, missing_reason = _beacon_for(event, now=now)  # network: outside any transaction
        if beacon is None and not missing_reason:
            return False  # the round is not out yet: the next sweep asks again
    prizes = list(Prize.objects.filter(event_id=event_id).order_by("position"))
    allocation = _allocate(event, prizes, beacon)
    with transaction.atomic():
        _hold_row(event_id)
        if not Event.objects.filter(pk=event_id, status=Event.Status.OPENING).update(
            status=Event.Status.OPENED,
            drawn_at=now,
            beacon=beacon,
            beacon_missing_reason=missing_reason[:200],
        ):
            return False
        winners = _winning_entries(event, [position for position, _ in allocation.awards])
        prize_pk = {prize.public_id: prize.pk for prize in prizes}
        _write_awards(
            [
                (winners[position], prize_pk[prize_id], rank)
                for rank, (position, prize_id) in enumerate(allocation.awards)
            ]
        )
        _write_awarded_counts(prizes, allocation.unawarded)
        transitions.log(
            event_id,
            action=EventLog.Action.DRAW,
            from_status=Event.Status.OPENING,
            to_status=Event.Status.OPENED,
            reason=f"{len(allocation.awards)} winners of {event.entrant_count} entrants",
            now=now,
        )
        read_model.event_changed(event_id=event_id, what="live")
    logger.info("event %s drawn: %d winners", event.public_id, len(allocation.awards))
    _count_draw(event, now=now, seconds=time.perf_counter() - started)
    return True


def _count_draw(event: Event, *, now: datetime, seconds: float) -> None:
    """The draw's metrics. Its lag counts from when it became due (``draw_due_at``): the draw
    time, or the moment of an early lock (creator's manual draw, count target), after which it
    is drawn once the reveal gap has passed; the number an operator alerts on
    (deploy/prometheus/alerts.yml)."""
    metrics.EVENTS_DRAWN.inc()
    metrics.DRAW_DURATION.observe(seconds)
    metrics.DRAW_ENTRANTS.observe(event.entrant_count)
    metrics.DRAW_LAG.observe(max(0.0, (now - event.draw_due_at).total_seconds()))


def _allocate(event: Event, prizes: list[Prize], beacon: dict | None) -> fairness.Allocation:
    """The winners, from the frozen inputs; refuses prizes changed since their digest."""
    if event.fairness_algorithm == fairness.ALGORITHM_V1:
        return fairness.allocate(
            seed=bytes(event.seed),
            entrants_digest=event.entrants_digest,
            entrant_count=event.entrant_count,
            prizes=[(prize.public_id, prize.quantity) for prize in prizes],
        )
    digest = fairness.prizes_digest((p.public_id, p.quantity, p.name) for p in prizes)
    if digest != event.prizes_digest:
        raise DrawIntegrityError(f"prizes of event {event.public_id} changed after the lock")
    return fairness.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=[(prize.public_id, prize.quantity) for prize in prizes],
        algorithm=fairness.ALGORITHM_V2,
        prizes_digest=digest,
        beacon_randomness=bytes.fromhex(beacon["randomness"]) if beacon else None,
    )


def _beacon_for(event: Event, *, now: datetime) -> tuple[dict | None, str]:
    """(verified round, "") to draw with; (None, why) to draw without; (None, "") to wait.

    Waiting ends DRAND_MAX_WAIT_SECONDS after the round's time: then the draw goes ahead
    without the beacon, and the proof says why, rather than leave an event undrawn forever.
    """
    if event.beacon_round is None or not event.beacon_chain:
        return None, "no beacon was configured when the event was created"
    chain = drand.Chain.from_json(event.beacon_chain)
    round_time = chain.round_time(event.beacon_round)
    if now.timestamp() < round_time:
        return None, ""
    given_up = now.timestamp() >= round_time + settings.DRAND_MAX_WAIT_SECONDS
    if not settings.DRAND_URLS:
        return (None, "no drand relay configured at the draw") if given_up else (None, "")
    try:
        beacon = drand.fetch_round(
            chain=chain,
            round_number=event.beacon_round,
            urls=settings.DRAND_URLS,
            timeout=settings.DRAND_TIMEOUT_SECONDS,
        )
    except drand.BeaconError as error:
        logger.warning("event %s: beacon round refused or missing: %s", event.public_id, error)
        if given_up:
            return None, (
                f"round {event.beacon_round} not obtained within "
                f"{settings.DRAND_MAX_WAIT_SECONDS} s of its time: {error}"
            )
        return None, ""
    return beacon, ""


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
    digest = fairness.EntrantDigest()
    for keys in selectors.stream_entrant_keys(event_id=event_id):
        digest.update(keys)
    return digest.count, digest.hexdigest()


def _winning_entries(event: Event, positions: list[int]) -> dict[int, int]:
    """Entry ids at the given positions of the canonical list, re-checking the frozen digest.

    One pass over the list's keys (the same read as the lock); per batch only the wanted
    positions inside it are looked at (bisect), so the cost is reading and hashing the list,
    not a Python loop over a million rows. The few winning keys are then turned into entry ids
    with one indexed query.
    """
    wanted = sorted(positions)
    keys_at: dict[int, str] = {}
    # Compared with the digest checked at the lock below, so the checks need not run twice.
    digest = fairness.EntrantDigest(checked=False)
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
    ids = selectors.entry_ids_by_key(event_id=event.pk, keys=list(keys_at.values()))
    return {position: ids[key] for position, key in keys_at.items()}


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
