"""Reads of live draws: the live state (one snapshot), the log, the round proofs, screen links."""

from datetime import datetime

from django.db.models import Prefetch

from events.models import Entry, Event, Prize
from live import presentation, proof
from live.models import LiveEvent, LiveMessage, LiveRound, ScreenLink
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

WALL_SIZE = 60
MESSAGES_PAGE = 200


def live_get(*, public_id: str) -> LiveEvent:
    """The live event behind an event's public id, with its event; ``live_not_found``."""
    if not is_public_id(public_id, "e_"):
        raise ApplicationError("event_not_found")
    live = (
        LiveEvent.objects.select_related("event")
        .prefetch_related(Prefetch("event__prizes", queryset=Prize.objects.order_by("position")))
        .filter(event__public_id=public_id)
        .first()
    )
    if live is None:
        if not Event.objects.filter(public_id=public_id).exists():
            raise ApplicationError("event_not_found")
        raise ApplicationError("live_not_found")
    return live


def phase_of(live: LiveEvent) -> str:
    """The phase as shown: the live phase, except that a canceled event shows as canceled."""
    if live.event.status == Event.Status.CANCELED:
        return "canceled"
    return live.phase_name


def state(live: LiveEvent) -> dict:
    """Everything a screen shows, as of the log's message ``seq`` (read first: any message
    after it comes after this snapshot, and repeats nothing the screen cannot apply twice)."""
    seq, mark = LiveEvent.objects.filter(pk=live.pk).values_list("seq", "joins_mark")[0]
    live.refresh_from_db(fields=["phase", "ended_at"])
    event = Event.objects.prefetch_related(
        Prefetch("prizes", queryset=Prize.objects.order_by("position"))
    ).get(pk=live.pk)
    live.event = event
    rounds = list(LiveRound.objects.filter(live=live).order_by("number"))
    return {
        "seq": seq,
        "event": {"id": event.public_id, "title": event.title},
        "phase": phase_of(live),
        "count": event.participant_count,
        "entrants_digest": event.entrants_digest or None,
        "wall": wall(event, upto=mark),
        "rounds": [round_state(this, event) for this in rounds],
    }


def wall(event: Event, *, upto: int) -> list[dict]:
    """The newest entrants already announced (entry ids up to ``upto``, the live event's
    ``joins_mark``): the ones after it come in the next "joins" message, so a screen that
    applies the snapshot, then the messages, shows each entrant once."""
    newest = (
        Entry.objects.filter(event=event, pk__lte=upto)
        .select_related("user", "user__avatar")
        .order_by("-pk")[:WALL_SIZE]
    )
    return [presentation.entrant(entry.user) for entry in newest]


def round_state(this: LiveRound, event: Event) -> dict:
    data = {
        "round": this.number,
        "status": this.status_name,
        "prizes": presentation.prize_list(event, this),
        "commitment": this.commitment,
    }
    if this.status != LiveRound.Status.PLANNED:
        data.update(presentation.round_locked(this, event))
        data["status"] = this.status_name
    if this.status == LiveRound.Status.DRAWN:
        data.update(presentation.round_drawn(this, event))
    return data


def messages_after(*, live_id: int, after: int, limit: int = MESSAGES_PAGE) -> list[LiveMessage]:
    return list(LiveMessage.objects.filter(live_id=live_id, seq__gt=after).order_by("seq")[:limit])


def frame(message: LiveMessage) -> dict:
    """A message as sockets and the polling endpoint carry it."""
    return {
        "seq": message.seq,
        "type": message.kind,
        "at": presentation.iso(message.created_at),
        "data": message.payload,
    }


def round_proofs(live: LiveEvent) -> dict:
    """Every round's proof, in order (docs/fairness.md, "Live rounds")."""
    event = live.event
    rounds = list(LiveRound.objects.filter(live=live).order_by("number"))
    return {
        "algorithm": proof.ALGORITHM,
        "event_id": event.public_id,
        "entrant_count": event.entrant_count,
        "entrants_digest": event.entrants_digest or None,
        "rounds": [round_proof(this, event) for this in rounds],
    }


def round_proof(this: LiveRound, event: Event) -> dict:
    drawn = this.status == LiveRound.Status.DRAWN
    return {
        "round": this.number,
        "status": this.status_name,
        "commitment": this.commitment,
        "prizes": presentation.prize_list(event, this),
        "prizes_digest": this.prizes_digest or None,
        "previous_result": this.previous_result or None,
        "round_digest": this.round_digest or None,
        "entrant_count": this.entrant_count,
        "entrants_digest": this.entrants_digest or None,
        "locked_at": presentation.iso(this.locked_at),
        "reveal_gap_seconds": this.reveal_gap_seconds,
        "beacon_chain": this.beacon_chain,
        "beacon_round": this.beacon_round,
        "without_beacon": this.locked_at is not None and this.beacon_round is None,
        "beacon": this.beacon,
        "seed": bytes(this.seed).hex() if drawn else None,
        "drawn_at": presentation.iso(this.drawn_at),
        "winners": [
            {"user": {"id": w["id"]}, "prize": {"id": w["prize"]["id"]}}
            for w in presentation.winners(this)
        ]
        if drawn
        else [],
        "unawarded": presentation.unawarded(this, event) if drawn else [],
        "result_digest": this.result_digest or None,
    }


def rounds_locked(*, now: datetime) -> list[int]:
    """Rounds locked and waiting for their draw (the due check is the service's)."""
    return list(
        LiveRound.objects.filter(status=LiveRound.Status.LOCKED, locked_at__lte=now)
        .order_by("locked_at")
        .values_list("pk", flat=True)
    )


def screen_for_token(token: str) -> ScreenLink | None:
    """The live screen link this token opens, if it was not revoked."""
    if not token or len(token) > 64:
        return None
    return (
        ScreenLink.objects.select_related("live__event")
        .filter(token_digest=proof.token_digest(token), revoked_at__isnull=True)
        .first()
    )


def screens_of(live: LiveEvent) -> list[ScreenLink]:
    return list(ScreenLink.objects.filter(live=live).order_by("-created_at"))
