"""The only write path for entries: join, withdraw, exclude, and forget a deleted account's.

Every rule that decides who may do what is kept by the database, not by a read-then-write in
Python: a join is admitted by a conditional UPDATE of the event row (status INIT and before the
lock time), which also takes the row lock that the locking transaction needs, so no entry can
commit after the entrant list is frozen; one entry per user is a unique constraint.

Every function takes ``now`` so that callers (and tests) decide what time it is.
"""

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from accounts.models import User
from events import conditions as entry_conditions
from events import fraud, join_sql, read_model
from events.models import Entry, Event, Exclusion
from events.read_model import EntryChange, EventRef
from events.services.refusals import (
    invalid_input,
    refuse_inactive,
    refuse_unless_creator,
    refuse_unless_open,
)
from lottery_site import metrics
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)


def entry_join(
    *,
    event: Event | EventRef,
    user: User,
    now: datetime,
    answers: entry_conditions.Answers | None = None,
    client_ip: str = "",
) -> tuple[Entry, bool]:
    """Enter ``user`` in ``event``; returns (entry, created). Joining twice changes nothing.

    ``answers``: what the entrant sent for the event's entry conditions (events.conditions);
    ``client_ip``: where the join came from (kept only as a keyed hash, events.fraud).

    Raises ApplicationError (account_disabled, event_not_found, event_locked, event_drawn,
    event_canceled, entry_excluded, and each unmet condition's own error). Counted in
    ``lottery_joins_total`` by result and refusal reason.
    """
    try:
        entry, created = _join(
            event=event, user=user, now=now, answers=answers, client_ip=client_ip
        )
    except ApplicationError as exc:
        metrics.JOINS.labels("refused", exc.name).inc()
        raise
    (metrics.JOINS_ACCEPTED if created else metrics.JOINS_REPEATED).inc()
    return entry, created


def _join(
    *,
    event: Event | EventRef,
    user: User,
    now: datetime,
    answers: entry_conditions.Answers | None,
    client_ip: str,
) -> tuple[Entry, bool]:
    """The join itself.

    Admission is one conditional UPDATE of the event row (INIT, before the lock time, below a
    count target, the entrant not excluded, the conditions at the version checked) that also
    counts the entrant: it holds the row lock until commit, and the lock transition updates
    that same row, so once an event is OPENING no further entry can commit. The time rule holds
    even when the sweeper is late. In count mode the join that reaches the target also sets
    ``lock_at`` to now: entries are closed from that instant (the count gate refuses further
    joins, the time gate withdrawals), and the sweeper locks the event like any other whose
    lock time has passed (``draws.services.event_lock``).

    An event with entry conditions checks them first, outside any transaction (the risk gate
    asks WeChat). An event without any pays nothing for them: no query, no Redis call.
    """
    refuse_inactive(user)
    ref = event if isinstance(event, EventRef) else read_model.ref_of(event)
    network = fraud.network_key(ref.pk, client_ip) if client_ip else ""
    for _checked in range(2):  # once more if the conditions changed since they were read
        risk_rank = None
        if ref.conditions is not None:
            try:
                risk_rank = _meet_conditions(
                    ref, user=user, answers=answers, client_ip=client_ip, now=now
                )
            except _AlreadyIn as already:
                return already.entry, False
            except _StaleRules:
                ref = read_model.event_ref_again(public_id=ref.public_id)
                continue
        try:
            entry = join_sql.admit_and_insert(
                ref.pk,
                user=user,
                now=now,
                rules_version=ref.rules_version,
                network=network,
                risk_rank=risk_rank,
            )
        except IntegrityError:
            entry = None
        if entry is not None:
            break
        existing = Entry.objects.filter(event_id=ref.pk, user_id=user.pk).first()
        if existing is not None:
            return existing, False
        current = Event.objects.filter(pk=ref.pk).first()
        if current is None:
            raise ApplicationError("event_not_found") from None
        refuse_unless_open(current, now=now)
        if Exclusion.objects.filter(event_id=ref.pk, user_key=user.public_id).exists():
            raise ApplicationError("entry_excluded")
        if current.rules_version == ref.rules_version:
            raise ApplicationError("event_locked") from None  # the count target was just reached
        ref = read_model.event_ref_again(public_id=current.public_id)
    else:
        raise ApplicationError("event_locked")  # conditions changing under every try
    change = EntryChange(user.pk, joined_at=entry.created_at, joined=True)
    read_model.event_changed(event_id=ref.pk, what="entry", entry=change)
    if ref.draw_mode == Event.DrawMode.COUNT and _target_reached(ref.pk, now=now):
        # After the join's own transaction: its lock time moved (entries closed).
        read_model.event_changed(event_id=ref.pk, what="live")
    return entry, True


def _meet_conditions(
    ref: EventRef,
    *,
    user: User,
    answers: entry_conditions.Answers | None,
    client_ip: str,
    now: datetime,
) -> int | None:
    """The event's entry conditions checked (events.conditions); the risk rank to store.

    A refusal is only for someone who could join otherwise, under the conditions as they are:
    a repeated join of an entrant returns their entry (``_AlreadyIn``), a closed event says so
    before any condition, and conditions changed since ``ref`` was read are read again
    (``_StaleRules``).
    """
    try:
        return entry_conditions.check(
            ref.conditions,
            event_pk=ref.pk,
            event_created_at=ref.created_at,
            user=user,
            answers=answers or entry_conditions.Answers(),
            client_ip=client_ip,
            now=now,
        )
    except ApplicationError:
        existing = Entry.objects.filter(event_id=ref.pk, user_id=user.pk).first()
        if existing is not None:
            raise _AlreadyIn(existing) from None
        current = Event.objects.filter(pk=ref.pk).first()
        if current is not None:
            refuse_unless_open(current, now=now)
            if current.rules_version != ref.rules_version:
                raise _StaleRules from None
        raise


class _AlreadyIn(Exception):  # noqa: N818 - not an error: the answer to a repeated join
    def __init__(self, entry: Entry) -> None:
        self.entry = entry


class _StaleRules(Exception):  # noqa: N818 - not an error: read the conditions again
    pass


def entry_leave(*, event: Event | EventRef, user: User, now: datetime) -> bool:
    """Withdraw ``user`` from ``event``; False (a no-op) if they had not joined.

    Same gate as joining: INIT and before the lock time, under the event's row lock; and, in
    count mode, below the target: the list is final once the target is reached, so a
    withdrawal cannot reopen a place for a join that comes after (even one stamped before the
    reaching join set ``lock_at``).
    """
    joined_at = (
        Entry.objects.filter(event_id=event.pk, user_id=user.pk)
        .values_list("created_at", flat=True)
        .first()
    )
    if joined_at is None:
        return False
    with transaction.atomic():
        current = (
            Event.objects.select_for_update()
            .filter(pk=event.pk, status=Event.Status.INIT, lock_at__gt=now)
            .filter(
                Q(target_participants__isnull=True)
                | Q(participant_count__lt=F("target_participants"))
            )
            .first()
        )
        if current is None:
            refuse_unless_open(Event.objects.get(pk=event.pk), now=now)
            raise ApplicationError("event_locked")  # the count target is reached
        deleted, _by_model = Entry.objects.filter(event_id=event.pk, user_id=user.pk).delete()
        if deleted:
            Event.objects.filter(pk=event.pk).update(  # entry_seq: see Event.entry_seq
                participant_count=F("participant_count") - 1, entry_seq=F("entry_seq") + 1
            )
            change = EntryChange(user.pk, joined_at=joined_at, joined=False)
            read_model.event_changed(event_id=event.pk, what="entry", entry=change)
    return bool(deleted)


def entries_forget_canceled(*, user: User) -> int:
    """Delete ``user``'s entries of events canceled before their lock (their account is being
    deleted, ``events.personal_data``): no entrant list of those events was published, so
    nothing needs them. Returns how many; harmless when run again."""
    forgotten = 0
    canceled = Entry.objects.filter(
        user_id=user.pk, event__status=Event.Status.CANCELED, event__entrants_digest=""
    ).values_list("pk", "event_id")
    for entry_pk, event_pk in canceled:
        with transaction.atomic():
            if Entry.objects.filter(pk=entry_pk).delete()[0]:
                Event.objects.filter(pk=event_pk, participant_count__gt=0).update(
                    participant_count=F("participant_count") - 1
                )
                read_model.event_changed(event_id=event_pk, what="forgotten")
                forgotten += 1
    return forgotten


def entries_forget_fraud_signals(*, user: User) -> int:
    """Blank the network keys and risk ranks of what stays of ``user`` (their account is being
    deleted, ``events.personal_data``): entries of locked events and exclusions. They served
    the creator's flags (events.fraud); the proof needs neither. Returns how many rows;
    harmless when run again."""
    entries = Entry.objects.filter(user_id=user.pk).exclude(network="", risk_rank=None)
    exclusions = Exclusion.objects.filter(user_id=user.pk).exclude(network="")
    with transaction.atomic():
        touched = {
            *entries.values_list("event_id", flat=True),
            *exclusions.values_list("event_id", flat=True),
        }
        forgotten = entries.update(network="", risk_rank=None) + exclusions.update(network="")
        for event_id in sorted(touched):
            read_model.event_changed(event_id=event_id, what="signals")
    return forgotten


# --- exclusions -----------------------------------------------------------------------------


def entry_exclude(
    *, event: Event, actor: User, entrant_key: str, reason: str, now: datetime
) -> tuple[Exclusion, bool]:
    """The creator takes a flagged entrant out of ``event`` before its lock, for a public reason.

    Only an entrant the anti-fraud signals flag (events.fraud) can be excluded, so a creator
    cannot quietly pick who stays in: every exclusion has a flag and one of
    ``Exclusion.CREATOR_REASONS``, and the proof counts them per reason. Returns (exclusion,
    created); excluding again answers the first. Raises ``not_owner``, ``invalid_input`` (the
    reason), ``entrant_not_flagged``, ``event_locked`` / ``event_drawn`` / ``event_canceled``.
    """
    refuse_unless_creator(event, actor)
    if reason not in Exclusion.CREATOR_REASONS:
        raise invalid_input("reason", _("Not a reason an entrant can be excluded for."))
    done = Exclusion.objects.filter(event_id=event.pk, user_key=entrant_key).first()
    if done is not None:
        return done, False
    flags = fraud.flags_of(event=event, user_key=entrant_key)
    if not flags:
        raise ApplicationError("entrant_not_flagged")
    excluded = _exclude(event, entrant_key, reason=reason, flags=flags, actor=actor, now=now)
    if excluded is None:
        raise ApplicationError("entrant_not_flagged")  # withdrew meanwhile
    return excluded, True


def entries_remove_banned(*, user_id: int, now: datetime, actor: User | None = None) -> int:
    """A banned user's entries taken out of every event not yet locked (``account_banned``).

    Run when a ban is written through ``accounts.services.user_deactivate`` (its signal) and by
    the periodic sweep for bans written any other way. Idempotent; returns how many went.
    """
    account = User.objects.filter(pk=user_id).values_list("is_active", "public_id").first()
    if account is None or account[0]:
        return 0  # unbanned meanwhile
    removed = 0
    for event in Event.objects.filter(
        entries__user_id=user_id, status=Event.Status.INIT, lock_at__gt=now
    ):
        try:
            gone = _exclude(
                event,
                account[1],
                reason=Exclusion.Reason.ACCOUNT_BANNED,
                flags=(),
                actor=actor,
                now=now,
            )
        except ApplicationError:
            continue  # locked meanwhile: the entry stays in the frozen list
        removed += gone is not None
    return removed


def entries_remove_banned_sweep(*, now: datetime) -> int:
    """Every banned user's entries in events not yet locked, however the ban was written."""
    banned = (
        Entry.objects.filter(
            user__is_active=False, event__status=Event.Status.INIT, event__lock_at__gt=now
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    return sum(entries_remove_banned(user_id=user_id, now=now) for user_id in list(banned))


def _exclude(
    event: Event,
    user_key: str,
    *,
    reason: str,
    flags: Sequence[str],
    actor: User | None,
    now: datetime,
) -> Exclusion | None:
    """Delete the entry and record the exclusion, under the event's row lock, with the same
    gate as a withdrawal (INIT, before the lock time). None if there was no entry."""
    with transaction.atomic():
        current = (
            Event.objects.select_for_update()
            .filter(pk=event.pk, status=Event.Status.INIT, lock_at__gt=now)
            .first()
        )
        if current is None:
            refuse_unless_open(Event.objects.get(pk=event.pk), now=now)
            raise ApplicationError("event_locked")
        entry = Entry.objects.filter(event_id=event.pk, user_key=user_key).first()
        if entry is None:
            return None
        excluded = Exclusion.objects.create(
            event_id=event.pk,
            user_id=entry.user_id,
            user_key=user_key,
            reason=reason,
            flags=",".join(flags)[:100],
            network=entry.network,
            joined_at=entry.created_at,
            actor=actor,
            created_at=now,
        )
        Entry.objects.filter(pk=entry.pk).delete()
        Event.objects.filter(pk=event.pk).update(  # entry_seq: see Event.entry_seq
            participant_count=F("participant_count") - 1, entry_seq=F("entry_seq") + 1
        )
        change = EntryChange(entry.user_id, joined_at=entry.created_at, joined=False)
        read_model.event_changed(event_id=event.pk, what="entry", entry=change)
    logger.info("event %s: an entrant excluded (%s)", event.public_id, reason)
    return excluded


def _target_reached(event_pk: int, *, now: datetime) -> bool:
    """Count mode, after a join: did one (this or another) reach the target and close entries?"""
    return Event.objects.filter(pk=event_pk, lock_at__lte=now).exists()
