"""The only write path for locking and drawing events.

Every transition is a conditional UPDATE on ``status``: whoever loses a race (a second sweeper, a
task delivered twice, a staff cancel racing the draw) updates no row and does nothing more.
A draw is a pure function of the event's committed seed and its frozen entrant list, so a draw
interrupted at any point (worker killed, database gone) and run again gives the same winners.
"""

import bisect
import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from draws import fairness, selectors
from events.models import Entry, Event, EventLog, Prize
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

WRITE_CHUNK = 1000


class DrawIntegrityError(RuntimeError):
    """The entrant list no longer matches what was frozen at the lock: refuse to draw."""


def event_lock(*, event_id: int, now: datetime, reason: str = "", early: bool = False) -> bool:
    """INIT -> OPENING, freezing the entrant list; False if the event was not INIT (or not due).

    The transaction takes the event's row lock first. A join commits its entry and its
    ``participant_count`` increment under that same row lock, so once this transaction holds
    it, no further entry can be committed: the list read below is final.
    ``early`` (the creator's manual draw) locks before the scheduled lock time.
    """
    with transaction.atomic():
        _hold_row(event_id)
        due = {"lock_at__gt": now} if early else {"lock_at__lte": now}
        changes = {"status": Event.Status.OPENING, **({"lock_at": now} if early else {})}
        if not Event.objects.filter(pk=event_id, status=Event.Status.INIT, **due).update(**changes):
            return False
        count, digest = _frozen_list(event_id)
        Event.objects.filter(pk=event_id).update(entrant_count=count, entrants_digest=digest)
        _log(event_id, Event.Status.INIT, Event.Status.OPENING, "lock", reason or "lock time")
    return True


def event_freeze(*, event_id: int) -> bool:
    """Record the entrant count and digest of an OPENING event locked without them.

    A count-mode event is locked inside the join that reached its target; the list is frozen
    from then on, and this writes its digest. Idempotent: only fills an empty digest.
    """
    with transaction.atomic():
        _hold_row(event_id)
        count, digest = _frozen_list(event_id)
        return bool(
            Event.objects.filter(
                pk=event_id, status=Event.Status.OPENING, entrants_digest=""
            ).update(entrant_count=count, entrants_digest=digest)
        )


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
    event = Event.objects.filter(pk=event_id, status=Event.Status.OPENING).first()
    if event is None or not selectors.is_due_for_draw(event, now=now):
        return False
    if not event.entrants_digest:
        event_freeze(event_id=event_id)
        event.refresh_from_db()
    prizes = list(Prize.objects.filter(event_id=event_id).order_by("position"))
    allocation = fairness.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=[(prize.public_id, prize.quantity) for prize in prizes],
    )
    with transaction.atomic():
        _hold_row(event_id)
        if not Event.objects.filter(pk=event_id, status=Event.Status.OPENING).update(
            status=Event.Status.OPENED, drawn_at=now
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
        _log(
            event_id,
            Event.Status.OPENING,
            Event.Status.OPENED,
            "draw",
            f"{len(allocation.awards)} winners of {event.entrant_count} entrants",
        )
    logger.info("event %s drawn: %d winners", event.public_id, len(allocation.awards))
    return True


def event_draw_early(*, event: Event, actor, now: datetime) -> bool:
    """The creator of a manual-mode event draws it now (locks it; the draw task follows)."""
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")
    if event.draw_mode != Event.DrawMode.MANUAL:
        raise ApplicationError(
            "invalid_input", data={"draw_mode": [_("Only a manual-mode event can be drawn early.")]}
        )
    _refuse_unless_init(event)
    if event.participant_count < 1:
        raise ApplicationError("event_no_entrants")
    if not event_lock(event_id=event.pk, now=now, reason="drawn early by the creator", early=True):
        event.refresh_from_db()
        _refuse_unless_init(event)
        raise ApplicationError("event_locked")
    return True


def _refuse_unless_init(event: Event) -> None:
    refusals = {
        Event.Status.OPENING: "event_locked",
        Event.Status.OPENED: "event_drawn",
        Event.Status.CANCELED: "event_canceled",
    }
    if event.status in refusals:
        raise ApplicationError(refusals[event.status])


def _hold_row(event_id: int) -> None:
    """Lock the event's row through its primary key, before the conditional UPDATE.

    Alone, an UPDATE filtered on status and lock time may reach the row through the
    (status, lock_at) index and lock that index entry first; a cancel holding the row (it
    selects it FOR UPDATE by primary key) then needs the same entry to change the status, and
    MySQL kills one of them as a deadlock. Taking the row first, like every other writer of
    the event, makes them queue instead. The UPDATE after it still decides who won.
    """
    list(Event.objects.select_for_update().filter(pk=event_id).values_list("pk", flat=True))


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


def _log(event_id: int, from_status: int, to_status: int, action: str, reason: str) -> None:
    EventLog.objects.create(
        event_id=event_id,
        actor_kind=EventLog.ActorKind.SYSTEM,
        from_status=from_status,
        to_status=to_status,
        action=action,
        reason=reason[:200],
    )
