"""The only write path for alternates: a prize unit passing from its holder to an alternate.

When a winner's claim window passes unclaimed (the sweeper) or the creator disqualifies them
(one of ``allocator.DISQUALIFY_REASONS``), their unit passes on. Nobody chooses to whom:

- v3 (docs/fairness.md, "Alternates"): the substitution is recorded first, naming a beacon
  round nobody knows yet (the first at or after its time plus the event's reveal gap); once
  that round is out, the alternate is drawn from it among the entrants who never held a unit
  (``allocator.alternate_pick``). So whoever disqualifies cannot know who would get the prize.
  Until then the substitution is ``pending`` and the unit has no holder. An event drawn without
  a beacon draws its alternates at once, from zero bytes (it said so from creation).
- v1/v2: the entrant at the next unused step of the draw's own order (its Fisher-Yates
  shuffle continued past the winners); no new randomness.

Exactly once, like the draw: each step happens in one transaction that first locks the
event's row (substitutions of one event queue behind each other, and v3 alternates are drawn
in the order the substitutions were recorded), then changes rows by conditional UPDATEs whose
row count decides. A second sweeper, a task delivered twice or a creator racing the expiry
finds the claim forfeited, or the substitution no longer pending, and does nothing. A worker
killed half-way commits nothing; the next sweep does it again and reaches the same alternate.
``Substitution``'s unique constraints (one per replaced entry, per alternate, per step) back
this up.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from accounts.models import User
from beacon import drand
from draws import allocator, selectors, services
from draws.proof import first_round_at_or_after
from events import claims, read_model, transitions
from events.claims import claims_open
from events.models import Claim, Entry, Event, EventLog, Prize, Substitution
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

logger = logging.getLogger(__name__)


class SubstitutionIntegrityError(RuntimeError):
    """The order named an entrant who already holds a prize: refuse (nothing is written)."""


# --- the sweeper: claim windows that passed -------------------------------------------------


def claims_open_expired(*, now: datetime) -> int:
    """Give a claim row to every winner whose claim window passed with none, so expiry sees it.

    Winners get their row when they claim or are reminded; one reminded by no sweep (an
    outage through their last day) would otherwise never expire. Idempotent.
    """
    oldest = now - timedelta(days=settings.CLAIM_MAX_DAYS_LOOKBACK)
    # draw_at bounds the scan to a range of the (status, draw_at) index: it runs every sweep.
    # An event is drawn at its draw time or earlier, or a little later after an outage.
    events = (
        Event.objects.filter(
            status=Event.Status.OPENED,
            draw_at__gte=oldest - timedelta(days=1),
            drawn_at__gte=oldest,
        )
        .exclude(delivery=Event.Delivery.NONE)
        .values_list("pk", "drawn_at", "claim_days")
    )
    deadlines = {
        pk: drawn_at + timedelta(days=days)
        for pk, drawn_at, days in events
        if Claim.is_expired(None, deadline=drawn_at + timedelta(days=days), now=now)
    }
    if not deadlines:
        return 0
    missing: dict[int, list[int]] = {}
    for pk, event_id in Entry.objects.filter(
        prize__event_id__in=list(deadlines), claim__isnull=True
    ).values_list("pk", "event_id"):
        missing.setdefault(event_id, []).append(pk)
    for event_id, entry_ids in sorted(missing.items()):
        claims_open(event_id=event_id, entry_ids=entry_ids, deadline=deadlines[event_id], now=now)
    return sum(len(entry_ids) for entry_ids in missing.values())


def claim_expire(*, claim_id: int, now: datetime) -> Substitution | None:
    """An unclaimed claim past its deadline: its unit passes on. None if nothing was due."""
    claim = (
        Claim.objects.filter(Claim.expired_q(now=now), pk=claim_id, entry__prize__isnull=False)
        .values("event_id", "entry_id")
        .first()
    )
    if claim is None:
        return None
    return _substitute(
        event_id=claim["event_id"],
        entry_id=claim["entry_id"],
        reason=allocator.EXPIRED,
        now=now,
        actor=None,
    )


# --- the creator: disqualification ----------------------------------------------------------


def winner_disqualify(
    *, event: Event, actor: User, user_key: str, reason: str, now: datetime
) -> Substitution:
    """The creator disqualifies a current winner; their unit passes to the next alternate.

    ``reason`` is one of ``allocator.DISQUALIFY_REASONS`` (public: the proof shows it). Raises
    ``not_owner``, ``event_not_drawn``, ``invalid_input``, ``winner_not_found`` (not a
    current winner of the event), ``claim_shipped`` (the prize is already on its way).
    """
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")
    if event.status != Event.Status.OPENED:
        raise ApplicationError("event_not_drawn")
    if reason not in allocator.DISQUALIFY_REASONS:
        raise ApplicationError("invalid_input", data={"reason": ["unknown reason"]})
    entry = None
    if is_public_id(user_key, "u_"):  # exactly, not as MySQL's collation would match it
        entry = Entry.objects.filter(
            event_id=event.pk, user_key=user_key, prize__isnull=False
        ).first()
    if entry is None:
        raise ApplicationError("winner_not_found")
    substitution = _substitute(
        event_id=event.pk, entry_id=entry.pk, reason=reason, now=now, actor=actor
    )
    if substitution is None:
        status = Claim.objects.filter(entry_id=entry.pk).values_list("status", flat=True).first()
        raise ApplicationError(
            "claim_shipped" if status == Claim.Status.SHIPPED else "winner_not_found"
        )
    return substitution


# --- the one transition ---------------------------------------------------------------------


def _substitute(
    *, event_id: int, entry_id: int, reason: str, now: datetime, actor: User | None
) -> Substitution | None:
    """Take the unit from the entry's holder and give it to the next step of the order.

    None when someone else got there first (claim already forfeited, or shipped, or the
    entry no longer holds a prize): nothing is written then.
    """
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        entry = Entry.objects.filter(pk=entry_id, prize__isnull=False).first()
        if entry is None:
            return None
        if not claims.claim_forfeit(
            event=event, entry_id=entry_id, now=now, expired=reason == allocator.EXPIRED
        ):
            return None
        unit, prize_id = entry.prize_rank, entry.prize_id
        if not Entry.objects.filter(pk=entry_id, prize_id=prize_id, prize_rank=unit).update(
            prize=None, prize_rank=None
        ):
            raise SubstitutionIntegrityError(f"entry {entry_id} lost its prize under the lock")
        if event.fairness_algorithm == allocator.ALGORITHM_V3:
            substitution = _record(event, entry, reason=reason, now=now, actor=actor)
            _log(event, substitution, now=now, actor=actor)
            read_model.event_changed(event_id=event_id, what="winners")
            return substitution
        alternate = _next_alternate(event, unit=unit)
        if alternate is None:
            Prize.objects.filter(pk=prize_id).update(awarded=F("awarded") - 1)
        else:
            _award(event, alternate, prize_id=prize_id, unit=unit, now=now)
        substitution = Substitution.objects.create(
            event_id=event_id,
            prize_id=prize_id,
            unit=unit,
            replaced_id=entry_id,
            replaced_key=entry.user_key,
            replacement_id=alternate["pk"] if alternate else None,
            replacement_key=alternate["user_key"] if alternate else "",
            step=alternate["step"] if alternate else None,
            reason=reason,
            actor=actor,
            created_at=now,
        )
        transitions.log(
            event_id,
            action=EventLog.Action.SUBSTITUTE,
            now=now,
            actor=actor,
            reason=(
                f"unit {unit} ({reason}): {entry.user_key} -> "
                f"{alternate['user_key'] if alternate else 'unawarded'}"
            ),
        )
        read_model.event_changed(event_id=event_id, what="winners")
    logger.info(
        "event %s unit %s: %s replaced (%s) by %s",
        event.public_id,
        unit,
        entry.user_key,
        reason,
        alternate["user_key"] if alternate else "nobody (unawarded)",
    )
    return substitution


def _record(
    event: Event, entry: Entry, *, reason: str, now: datetime, actor: User | None
) -> Substitution:
    """v3: record the substitution (its unit already taken from the holder, under the row lock).

    Past the event's ``max_substitutions`` passes the unit is recorded unawarded at once (no
    randomness involved). Otherwise the substitution names its round and waits for it; an
    event without a beacon draws the alternate at once, from zero bytes.
    """
    unit, prize_id = entry.prize_rank, entry.prize_id
    passes = Substitution.objects.filter(
        event_id=event.pk, unit=unit, replacement__isnull=False
    ).count()
    fields = {
        "event_id": event.pk,
        "prize_id": prize_id,
        "unit": unit,
        "replaced_id": entry.pk,
        "replaced_key": entry.user_key,
        "reason": reason,
        "actor": actor,
        "created_at": now,
    }
    if passes >= event.max_substitutions:
        Prize.objects.filter(pk=prize_id).update(awarded=F("awarded") - 1)
        return Substitution.objects.create(**fields)
    round_number = None
    if event.beacon_chain:
        round_number = first_round_at_or_after(
            event.beacon_chain, now + selectors.reveal_gap(event)
        )
    substitution = Substitution.objects.create(**fields, pending=True, beacon_round=round_number)
    if round_number is None:
        _draw_alternate(event, substitution, beacon=None, now=now)
        substitution.refresh_from_db()
    return substitution


def substitution_resolve(*, substitution_id: int, now: datetime) -> bool:
    """v3: draw the alternate of a pending substitution once its round is out; False if not yet.

    Substitutions of one event are resolved in the order they were recorded (each draws among
    those who never held a unit, which the earlier ones change): a later one waits for the
    earlier. The round is fetched and verified outside any transaction; it waits for it as long
    as it takes (``lottery_beacon_overdue`` alerts). Idempotent: a substitution no longer pending
    is left alone.
    """
    sub = Substitution.objects.filter(pk=substitution_id, pending=True).first()
    if sub is None:
        return False
    if Substitution.objects.filter(event_id=sub.event_id, pending=True, pk__lt=sub.pk).exists():
        return False
    event = Event.objects.get(pk=sub.event_id)
    beacon = None
    if sub.beacon_round is not None and _eligible(event) > 0:
        chain = drand.Chain.from_json(event.beacon_chain)
        beacon = services.fetch_round(chain=chain, round_number=sub.beacon_round, now=now)
        if beacon is None:
            return False
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=sub.event_id)
        if not Substitution.objects.filter(pk=sub.pk, pending=True).exists():
            return False
        _draw_alternate(event, sub, beacon=beacon, now=now)
        read_model.event_changed(event_id=event.pk, what="winners")
    return True


def _eligible(event: Event) -> int:
    """How many entrants never held a unit of the event."""
    alternates = Substitution.objects.filter(
        event_id=event.pk, replacement_position__isnull=False
    ).count()
    return event.entrant_count - winners_drawn(event) - alternates


def _draw_alternate(event: Event, sub: Substitution, *, beacon: dict | None, now: datetime) -> None:
    """Under the event's row lock: the alternate drawn from the round, awarded; or, nobody left,
    the unit recorded unawarded. Ends the substitution's ``pending``."""
    positions = allocator.allocate(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        prizes=list(
            Prize.objects.filter(event_id=event.pk)
            .order_by("position")
            .values_list("public_id", "quantity")
        ),
        **stream_inputs(event),
    ).awards
    taken = Substitution.objects.filter(
        event_id=event.pk, replacement_position__isnull=False
    ).values_list("replacement_position", flat=True)
    position = allocator.alternate_pick(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        prizes_digest=event.prizes_digest,
        beacon_randomness=bytes.fromhex(beacon["randomness"]) if beacon else None,
        number=Substitution.objects.filter(event_id=event.pk, pk__lte=sub.pk).count(),
        entrant_count=event.entrant_count,
        excluded=[position for position, _ in positions] + list(taken),
    )
    resolved = {"pending": False, "beacon": beacon}
    if position is None:
        Prize.objects.filter(pk=sub.prize_id).update(awarded=F("awarded") - 1)
    else:
        alternate = _entry_at(event, position)
        _award(event, alternate, prize_id=sub.prize_id, unit=sub.unit, now=now)
        resolved.update(
            replacement_id=alternate["pk"],
            replacement_key=alternate["user_key"],
            replacement_position=position,
            resolved_at=now,
        )
    if not Substitution.objects.filter(pk=sub.pk, pending=True).update(**resolved):
        raise SubstitutionIntegrityError(f"substitution {sub.pk} resolved twice")
    logger.info(
        "event %s unit %s: alternate drawn: %s",
        event.public_id,
        sub.unit,
        resolved.get("replacement_key", "nobody left (unawarded)"),
    )


def _entry_at(event: Event, position: int) -> dict:
    """The entry at ``position`` of the sorted entrant list (an index range scan to it)."""
    row = (
        Entry.objects.filter(event_id=event.pk)
        .order_by("user_key")
        .values("pk", "user_key")[position : position + 1]
    )
    entry = next(iter(row), None)
    if entry is None:
        raise SubstitutionIntegrityError(f"event {event.public_id}: no entrant at {position}")
    return entry


def _log(event: Event, sub: Substitution, *, now: datetime, actor: User | None) -> None:
    if sub.pending:
        outcome = f"drawn at round {sub.beacon_round}"
    else:
        outcome = sub.replacement_key or "unawarded"
    transitions.log(
        event.pk,
        action=EventLog.Action.SUBSTITUTE,
        now=now,
        actor=actor,
        reason=f"unit {sub.unit} ({sub.reason}): {sub.replaced_key} -> {outcome}",
    )


def _next_alternate(event: Event, *, unit: int) -> dict | None:
    """The entry at the next unused step of the order, or None: the unit is then unawarded.

    None when the unit already passed ``max_substitutions`` times (``LOTTERY_MAX_SUBSTITUTIONS``
    as of the event's first substitution) or the order ran out (every entrant has been a
    winner or an alternate). Called under the event's row lock.
    """
    if event.max_substitutions is None:  # the first substitution fixes the event's limit
        event.max_substitutions = settings.LOTTERY_MAX_SUBSTITUTIONS
        Event.objects.filter(pk=event.pk).update(max_substitutions=event.max_substitutions)
    passes = Substitution.objects.filter(
        event_id=event.pk, unit=unit, replacement__isnull=False
    ).count()
    if passes >= event.max_substitutions:
        return None
    k = winners_drawn(event)
    step = k + Substitution.objects.filter(event_id=event.pk, step__isnull=False).count()
    if step >= event.entrant_count:
        return None
    positions = allocator.alternate_positions(
        seed=bytes(event.seed),
        entrants_digest=event.entrants_digest,
        entrant_count=event.entrant_count,
        k=k,
        count=step - k + 1,
        **stream_inputs(event),
    )
    row = (
        Entry.objects.filter(event_id=event.pk)
        .order_by("user_key")
        .values("pk", "user_key")[positions[-1] : positions[-1] + 1]
    )
    alternate = next(iter(row), None)
    if alternate is None:
        raise SubstitutionIntegrityError(f"event {event.public_id}: no entrant at step {step}")
    return {**alternate, "step": step}


def _award(event: Event, alternate: dict, *, prize_id: int, unit: int, now: datetime) -> None:
    """The alternate holds the unit (same rank, so a redeem code stays with its unit) and gets
    a claim window of the event's length from now."""
    if not Entry.objects.filter(pk=alternate["pk"], prize__isnull=True).update(
        prize_id=prize_id, prize_rank=unit
    ):
        raise SubstitutionIntegrityError(f"alternate {alternate['user_key']} already holds a prize")
    claims.claim_offer(event=event, entry_id=alternate["pk"], now=now)


def winners_drawn(event: Event) -> int:
    """k: how many units the draw awarded (the order's alternates start at this step)."""
    total = sum(Prize.objects.filter(event_id=event.pk).values_list("quantity", flat=True))
    return min(total, event.entrant_count or 0)


def stream_inputs(event: Event) -> dict:
    """The random stream's inputs besides seed and entrant digest, as the draw used them."""
    if event.fairness_algorithm == allocator.ALGORITHM_V1:
        return {"algorithm": allocator.ALGORITHM_V1}
    beacon = event.beacon
    return {
        "algorithm": event.fairness_algorithm,
        "prizes_digest": event.prizes_digest,
        "beacon_randomness": bytes.fromhex(beacon["randomness"]) if beacon else None,
    }
