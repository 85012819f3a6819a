"""The only write path of live draws: every transition of ``live.models`` and the message log.

Each transition is a conditional UPDATE whose row count decides a race (two hosts pressing
"draw" at once, a worker drawing a round twice); each appends its message to the event's log
in the same transaction (``_append``), and the message's number is announced to the websocket
processes once the transaction has committed (``live.push.announce``): the log is the truth,
the announcement only says where to look.
"""

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from beacon import drand
from draws import selectors as draw_selectors
from draws import services as draw_services
from events import read_model
from events.models import Entry, Event, Prize
from live import presentation, proof, push
from live.models import LiveEvent, LiveMessage, LiveRound, LiveWinner, ScreenLink
from lottery_site import metrics
from lottery_site.errors import ApplicationError

logger = logging.getLogger(__name__)

MAX_ROUNDS = 20
# Entrants one "joins" message shows on the wall (the count is always the whole count).
WALL_BATCH = 60

Kind = LiveMessage.Kind
Phase = LiveEvent.Phase


class RoundIntegrityError(RuntimeError):
    """The eligible list no longer matches what the round's lock froze: refuse to draw."""


# --- the event becomes live -------------------------------------------------------------------


def live_start(
    *, event: Event, actor: User, rounds: Sequence[Sequence[str]] | None, now: datetime
) -> LiveEvent:
    """The creator makes ``event`` a live draw with the given rounds (lists of prize ids).

    Only while it is open and nobody has joined: entrants join under the rules they see. By
    default one round per prize tier, the lowest tier first (the top prize last, as parties do).
    Each round's seed is drawn and committed now. Raises not_owner, event_has_entrants,
    event_locked (and the refusal of a canceled or drawn event), invalid_input, live_already.
    """
    _refuse_unless_creator(event, actor)
    prizes = list(Prize.objects.filter(event=event).order_by("position"))
    plan = _plan(prizes, rounds)
    with transaction.atomic():
        # The joins' admission UPDATE takes this row too: nobody slips in between.
        if not Event.objects.filter(
            pk=event.pk, status=Event.Status.INIT, live=False, participant_count=0, lock_at__gt=now
        ).update(live=True):
            _refuse_start(event, now=now)
        # Event.live is shown (and admits no joins): drop what caches the event.
        read_model.event_changed(event_id=event.pk, what="edited")
        live = LiveEvent.objects.create(event=event, created_at=now)
        for number, prize_ids in enumerate(plan, start=1):
            seed = secrets.token_bytes(32)
            LiveRound.objects.create(
                live=live,
                number=number,
                prizes=prize_ids,
                seed=seed,
                commitment=proof.commitment(seed),
            )
        _append(live.pk, Kind.STARTED, {"rounds": len(plan)}, now=now)
    return live


def _plan(prizes: list[Prize], rounds: Sequence[Sequence[str]] | None) -> list[list[str]]:
    ids = [prize.public_id for prize in prizes]
    if rounds is None:
        return [[prize_id] for prize_id in reversed(ids)]
    position = {prize_id: index for index, prize_id in enumerate(ids)}
    given = [prize_id for tiers in rounds for prize_id in tiers]
    if not rounds or len(rounds) > MAX_ROUNDS or any(not tiers for tiers in rounds):
        raise _invalid("rounds", _("Give 1 to 20 rounds, each with at least one prize."))
    if sorted(given) != sorted(ids) or len(set(given)) != len(given):
        raise _invalid("rounds", _("Each prize of the event must be in exactly one round."))
    return [sorted(tiers, key=position.__getitem__) for tiers in rounds]


def _refuse_start(event: Event, *, now: datetime) -> None:
    current = Event.objects.get(pk=event.pk)
    if current.live:
        raise ApplicationError("live_already")
    if current.status != Event.Status.INIT or current.lock_at <= now:
        raise ApplicationError(
            "event_locked"
            if current.status in (Event.Status.INIT, Event.Status.OPENING)
            else "event_drawn"
            if current.status == Event.Status.OPENED
            else "event_canceled"
        )
    raise ApplicationError("event_has_entrants")


# --- the host's commands ----------------------------------------------------------------------


def live_lock(*, event: Event, actor: User, now: datetime) -> LiveEvent:
    """OPEN -> LOCKED: entries close, the frozen entrant list and its digest are published.

    The event's own lock does that (``draws.services.event_lock``, early), so a live event's
    entrant list is the one any event has. An event the sweeper already locked on schedule is
    moved on here too. Raises not_owner, live_not_found, event_canceled; LOCKED is answered as
    it is (the host pressed twice).
    """
    live = _hosted(event, actor)
    _sync_lock(live, now=now)
    return LiveEvent.objects.get(pk=live.pk)


def _sync_lock(live: LiveEvent, *, now: datetime) -> None:
    if live.phase != Phase.OPEN:
        return
    event = Event.objects.get(pk=live.pk)
    if event.status == Event.Status.CANCELED:
        raise ApplicationError("event_canceled")
    if event.status == Event.Status.INIT:
        if not draw_services.event_lock(
            event_id=event.pk, now=now, reason="locked by the live host", early=True
        ):
            draw_services.event_lock(event_id=event.pk, now=now)  # its lock time had passed
        event = Event.objects.get(pk=live.pk)
        if event.status != Event.Status.OPENING:
            raise ApplicationError("event_canceled")
    with transaction.atomic():
        if LiveEvent.objects.filter(pk=live.pk, phase=Phase.OPEN).update(phase=Phase.LOCKED):
            payload = {
                "count": event.entrant_count,
                "entrants_digest": event.entrants_digest,
                "locked_at": presentation.iso(event.locked_at or now),
            }
            _append(live.pk, Kind.LOCKED, payload, now=now)


def live_pause(*, event: Event, actor: User, now: datetime) -> LiveEvent:
    """LOCKED -> PAUSED: no round can be started until the host resumes."""
    return _move(event, actor, Phase.LOCKED, Phase.PAUSED, Kind.PAUSED, now=now)


def live_resume(*, event: Event, actor: User, now: datetime) -> LiveEvent:
    """PAUSED -> LOCKED."""
    return _move(event, actor, Phase.PAUSED, Phase.LOCKED, Kind.RESUMED, now=now)


def live_end(*, event: Event, actor: User, now: datetime) -> LiveEvent:
    """Any phase -> ENDED. A round already locked is still drawn (its result is fixed)."""
    live = _hosted(event, actor)
    with transaction.atomic():
        ended = LiveEvent.objects.filter(pk=live.pk).exclude(phase=Phase.ENDED)
        if ended.update(phase=Phase.ENDED, ended_at=now):
            drawn = LiveRound.objects.filter(live=live, status=LiveRound.Status.DRAWN).count()
            _append(live.pk, Kind.ENDED, {"rounds_drawn": drawn}, now=now)
    return LiveEvent.objects.get(pk=live.pk)


def _move(event, actor, from_phase, to_phase, kind, *, now) -> LiveEvent:
    live = _hosted(event, actor)
    with transaction.atomic():
        if LiveEvent.objects.filter(pk=live.pk, phase=from_phase).update(phase=to_phase):
            _append(live.pk, kind, {}, now=now)
        else:
            current = LiveEvent.objects.get(pk=live.pk)
            if current.phase != to_phase:
                raise ApplicationError(_phase_refusal(current.phase))
    return LiveEvent.objects.get(pk=live.pk)


def _phase_refusal(phase: int) -> str:
    return {
        Phase.OPEN: "event_not_locked",
        Phase.PAUSED: "live_paused",
        Phase.ENDED: "live_ended",
    }.get(phase, "conflict")


# --- rounds -----------------------------------------------------------------------------------


def round_lock(*, event: Event, actor: User, now: datetime) -> LiveRound:
    """The host's "draw next round": freeze the next round's inputs and name its beacon round.

    The eligible list is the event's frozen list less every earlier winner; the round's
    digests, the previous round's result and the beacon round (the first at or after this
    lock plus the reveal gap: nobody knows it yet) are published now, the winners once the gap
    has passed and the round is out (``round_draw``, the worker). Raises not_owner,
    live_not_found, event_not_locked, live_paused, live_ended, live_round_in_progress,
    live_no_rounds_left, event_canceled.
    """
    live = _hosted(event, actor)
    if live.phase == Phase.OPEN and _event_locked(live):
        _sync_lock(live, now=now)  # locked on schedule by the sweeper: the host draws on
    with transaction.atomic():
        live = LiveEvent.objects.select_for_update().get(pk=live.pk)
        event = Event.objects.get(pk=live.pk)
        if event.status == Event.Status.CANCELED:
            raise ApplicationError("event_canceled")
        if live.phase != Phase.LOCKED:
            raise ApplicationError(_phase_refusal(live.phase))
        rounds = list(LiveRound.objects.filter(live=live).order_by("number"))
        if any(r.status == LiveRound.Status.LOCKED for r in rounds):
            raise ApplicationError("live_round_in_progress")
        planned = [r for r in rounds if r.status == LiveRound.Status.PLANNED]
        if not planned:
            raise ApplicationError("live_no_rounds_left")
        this = planned[0]
        drawn = [r for r in rounds if r.status == LiveRound.Status.DRAWN]
        previous = drawn[-1].result_digest if drawn else event.entrants_digest
        fields = _round_inputs(event, this, previous=previous, now=now)
        LiveRound.objects.filter(pk=this.pk, status=LiveRound.Status.PLANNED).update(
            status=LiveRound.Status.LOCKED, locked_at=now, **fields
        )
        this.refresh_from_db()
        _append(live.pk, Kind.ROUND_LOCKED, presentation.round_locked(this, event), now=now)
        push.draw_when_due(this)
    return this


def _event_locked(live: LiveEvent) -> bool:
    return Event.objects.filter(pk=live.pk, status=Event.Status.OPENING).exists()


def _round_inputs(event: Event, this: LiveRound, *, previous: str, now: datetime) -> dict:
    count, digest = proof.eligible_digest(_eligible_keys(event))
    prizes = _round_prizes(event, this)
    prizes_digest = proof.prizes_digest(prizes)
    gap = int(draw_selectors.reveal_gap(event).total_seconds())
    beacon_round = None
    if event.beacon_chain:  # named at the round's lock: nobody can know it yet
        chain = drand.Chain.from_json(event.beacon_chain)
        beacon_round = chain.first_round_at_or_after((now + timedelta(seconds=gap)).timestamp())
    return {
        "entrant_count": count,
        "entrants_digest": digest,
        "prizes_digest": prizes_digest,
        "previous_result": previous,
        "round_digest": proof.round_digest(
            event_id=event.public_id,
            number=this.number,
            prizes_digest=prizes_digest,
            previous_result=previous,
        ),
        "reveal_gap_seconds": gap,
        "beacon_chain": event.beacon_chain or None,
        "beacon_round": beacon_round,
    }


def _eligible_keys(event: Event):
    """The event's frozen entrant keys in canonical order, less everyone who already won."""
    won = set(LiveWinner.objects.filter(live_id=event.pk).values_list("user_key", flat=True))
    for batch in draw_selectors.stream_entrant_keys(event_id=event.pk):
        yield from (key for key in batch if key not in won)


def _round_prizes(event: Event, this: LiveRound) -> list[Prize]:
    by_id = {p.public_id: p for p in Prize.objects.filter(event=event, public_id__in=this.prizes)}
    return sorted(by_id.values(), key=lambda prize: prize.position)


def round_draw(*, round_id: int, now: datetime) -> bool:
    """LOCKED -> DRAWN with its winners; False if not locked, not due, or its round is not out.

    Due once the reveal gap after the round's lock has passed and, with a beacon, once its
    named round is out and verified; it waits for that round however long it takes (a round
    never falls back to no beacon once named). The winners, the round's result and its message
    are written in one transaction; a second call finds no LOCKED round and does nothing.
    """
    this = LiveRound.objects.select_related("live__event").filter(pk=round_id).first()
    if this is None or this.status != LiveRound.Status.LOCKED or now < this.reveal_at:
        return False
    event = this.live.event
    beacon = None
    if this.beacon_round is not None:
        chain = drand.Chain.from_json(this.beacon_chain)
        beacon = _fetch_round(chain, this.beacon_round, now=now)  # network: no transaction
        if beacon is None:
            return False
    prizes = _round_prizes(event, this)
    keys = list(_eligible_keys(event))
    count, digest = proof.eligible_digest(keys)
    if (count, digest) != (this.entrant_count, this.entrants_digest):
        raise RoundIntegrityError(f"eligible list of {this} changed after its lock")
    allocation = proof.allocate(
        seed=bytes(this.seed),
        entrants_digest=digest,
        entrant_count=count,
        prizes=[(prize.public_id, prize.quantity) for prize in prizes],
        round_digest=this.round_digest,
        beacon_randomness=bytes.fromhex(beacon["randomness"]) if beacon else None,
    )
    awards = [(keys[position], prize_id) for position, prize_id in allocation.awards]
    result = proof.result_digest(round_digest=this.round_digest, winners=awards)
    with transaction.atomic():
        LiveEvent.objects.select_for_update().get(pk=this.live_id)
        if not LiveRound.objects.filter(pk=this.pk, status=LiveRound.Status.LOCKED).update(
            status=LiveRound.Status.DRAWN, drawn_at=now, beacon=beacon, result_digest=result
        ):
            return False
        _write_winners(event, this, awards, prizes)
        this.refresh_from_db()
        _append(this.live_id, Kind.ROUND_DRAWN, presentation.round_drawn(this, event), now=now)
    metrics.LIVE_ROUNDS_DRAWN.inc()
    logger.info("live round %d of %s drawn: %d winners", this.number, event.public_id, len(awards))
    return True


def _fetch_round(chain: drand.Chain, number: int, *, now: datetime) -> dict | None:
    if now.timestamp() < chain.round_time(number) or not settings.DRAND_URLS:
        return None
    try:
        return drand.fetch_round(
            chain=chain,
            round_number=number,
            urls=settings.DRAND_URLS,
            timeout=settings.DRAND_TIMEOUT_SECONDS,
        )
    except drand.BeaconError as error:
        logger.warning("live: beacon round %d not obtained yet: %s", number, error)
        return None


def _write_winners(event, this, awards, prizes) -> None:
    ids = draw_selectors.entry_ids_by_key(event_id=event.pk, keys=[key for key, _ in awards])
    prize_pk = {prize.public_id: prize.pk for prize in prizes}
    LiveWinner.objects.bulk_create(
        LiveWinner(
            live_id=this.live_id,
            round=this,
            entry_id=ids[key],
            user_key=key,
            prize_id=prize_pk[prize_id],
            rank=rank,
        )
        for rank, (key, prize_id) in enumerate(awards)
    )


# --- joins ------------------------------------------------------------------------------------


def joins_announce(*, live_id: int, now: datetime) -> int | None:
    """Append a "joins" message for entries not announced yet; its number, or None.

    Called by the websocket processes every LIVE_TICK_SECONDS while an event is open and
    watched: joins reach the screens in batches, and a flash crowd costs one message per tick,
    not one per join. Several processes may try at once: the conditional UPDATE on
    ``joins_mark`` lets one of them write each batch.
    """
    live = LiveEvent.objects.filter(pk=live_id, phase=Phase.OPEN).first()
    if live is None:
        return None
    newest = list(
        Entry.objects.filter(event_id=live_id, pk__gt=live.joins_mark)
        .select_related("user", "user__avatar")
        .order_by("-pk")[:WALL_BATCH]
    )
    if not newest:
        return None
    with transaction.atomic():
        if not LiveEvent.objects.filter(
            pk=live_id, phase=Phase.OPEN, joins_mark=live.joins_mark
        ).update(joins_mark=newest[0].pk):
            return None
        count = Event.objects.filter(pk=live_id).values_list("participant_count", flat=True)[0]
        payload = {"count": count, "entrants": [presentation.entrant(e.user) for e in newest]}
        return _append(live_id, Kind.JOINS, payload, now=now)


# --- screen links -----------------------------------------------------------------------------


def screen_create(*, event: Event, actor: User, now: datetime) -> tuple[ScreenLink, str]:
    """A new big-screen link for the event: (link, token). The token is shown only now."""
    live = _hosted(event, actor)
    token = secrets.token_urlsafe(24)
    link = ScreenLink.objects.create(
        live=live, token_digest=proof.token_digest(token), created_by=actor, created_at=now
    )
    return link, token


def screen_revoke(*, event: Event, actor: User, screen_id: str, now: datetime) -> ScreenLink:
    """Revoke a screen link: its page answers 404 from now on and its sockets are closed."""
    live = _hosted(event, actor)
    link = ScreenLink.objects.filter(live=live, public_id=screen_id).first()
    if link is None:
        raise ApplicationError("screen_link_invalid")
    with transaction.atomic():
        if ScreenLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now):
            _append(live.pk, Kind.SCREEN_REVOKED, {"screen": link.public_id}, now=now)
    link.refresh_from_db()
    return link


# --- helpers ----------------------------------------------------------------------------------


def _append(live_id: int, kind: str, payload: dict, *, now: datetime) -> int:
    """Append one message to the log, inside the caller's transaction; its number.

    The counter's UPDATE holds the live event's row lock until commit, so numbers are given in
    commit order, without a gap. The number is announced after the commit.
    """
    LiveEvent.objects.filter(pk=live_id).update(seq=F("seq") + 1)
    seq = LiveEvent.objects.filter(pk=live_id).values_list("seq", flat=True)[0]
    LiveMessage.objects.create(live_id=live_id, seq=seq, kind=kind, payload=payload, created_at=now)
    metrics.LIVE_MESSAGES.labels(kind).inc()
    push.announce_on_commit(live_id, seq)
    return seq


def _hosted(event: Event, actor: User) -> LiveEvent:
    _refuse_unless_creator(event, actor)
    live = LiveEvent.objects.filter(pk=event.pk).first()
    if live is None:
        raise ApplicationError("live_not_found")
    return live


def _refuse_unless_creator(event: Event, actor: User) -> None:
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_input", data={field: [message]})
