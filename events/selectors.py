"""Reads for the events API: each one a fixed, small number of queries, whatever the page size."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from beacon import drand
from events.models import Claim, Entry, Event, Prize
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

if TYPE_CHECKING:
    from events.read_model import EventState

ROLES = ("created", "joined", "won")


def require_event_id(public_id: str) -> None:
    """An alias the database collation would match (``E_…``, ``e_… ``) is a 404, as it reads."""
    if not is_public_id(public_id, "e_"):
        raise ApplicationError("event_not_found")


def event_get(*, public_id: str) -> Event:
    """The event with its creator; raises ``event_not_found``."""
    require_event_id(public_id)
    event = Event.objects.select_related("creator").filter(public_id=public_id).first()
    if event is None:
        raise ApplicationError("event_not_found")
    return event


# What an event's output shows beside its own row: its creator (with avatar) and its cover.
PICTURED = ("creator", "creator__avatar", "cover")


def prizes_with_pictures() -> QuerySet[Prize]:
    return Prize.objects.select_related("image").order_by("position")


def event_entries(*, event: Event) -> QuerySet[Entry]:
    """The event's entries with their users, for cursor pagination (newest first)."""
    return Entry.objects.filter(event_id=event.pk).select_related("user", "user__avatar")


def events_of_user(*, user: User, role: str) -> QuerySet[Event]:
    """Events the user created, joined or won, each with prizes and the user's own entry."""
    if role == "created":
        events = Event.objects.filter(creator_id=user.pk)
    elif role == "joined":
        events = Event.objects.filter(entries__user_id=user.pk)
    else:
        events = Event.objects.filter(entries__user_id=user.pk, entries__prize__isnull=False)
    return _with_related(events.select_related(*PICTURED), viewer=user)


def lost_to_alternate(entry: Entry) -> bool:
    """The entry won, then its prize passed to an alternate (its claim row is ``forfeited``)."""
    if hasattr(entry, "claim_status"):  # the detail's live read carries the status
        return entry.claim_status == Claim.Status.FORFEITED
    claim = getattr(entry, "claim", None) if hasattr(entry, "claim") else None
    return claim is not None and claim.status == Claim.Status.FORFEITED


def my_entry(event: Event) -> Entry | None:
    """The viewer's entry as prefetched by ``_with_related`` (None if they have not joined)."""
    entries = getattr(event, "viewer_entries", None)
    return entries[0] if entries else None


def claim_of_entry(entry, *, now: datetime) -> dict | None:
    """A winning entry's claim state and deadline; None when the event has no claim step.

    ``forfeited``: the prize passed to an alternate (the entry no longer holds it). The
    deadline is the claim row's own when there is one (an alternate's window starts later).

    Free for the entries ``_with_related`` prefetches (event and claim come along); one query
    for the detail's viewer entry, paid only by winners.
    """
    if isinstance(entry, Entry):
        event = entry.event
        claim = getattr(entry, "claim", None) if hasattr(entry, "claim") else None
        drawn_at, days, delivery = event.drawn_at, event.claim_days, event.delivery
        status = claim.status if claim is not None else None
        own_deadline = claim.deadline if claim is not None else None
    else:
        row = (
            Entry.objects.filter(event_id=entry.event_id, user_id=entry.user_id)
            .values_list(
                "event__drawn_at",
                "event__claim_days",
                "event__delivery",
                "claim__status",
                "claim__deadline",
            )
            .first()
        )
        if row is None:
            return None
        drawn_at, days, delivery, status, own_deadline = row
    if drawn_at is None or delivery == Event.Delivery.NONE:
        return None
    deadline = own_deadline or drawn_at + timedelta(days=days)
    return {"state": Claim.state_at(status, deadline=deadline, now=now), "deadline": deadline}


def _with_related(events: QuerySet[Event], *, viewer: User) -> QuerySet[Event]:
    return events.prefetch_related(
        Prefetch("prizes", queryset=prizes_with_pictures()),
        Prefetch(
            "entries",
            queryset=Entry.objects.filter(user_id=viewer.pk).select_related("prize", "claim"),
            to_attr="viewer_entries",
        ),
    )


def beacon_wait(event: "Event | EventState", *, now: datetime) -> dict | None:
    """What a locked event waits for before it is settled: its round and whether it is late.

    None unless the event is locked (OPENING) and names a round not yet fetched. ``waiting``:
    the round's time has passed and no relay has served it yet (the draw waits as long as it
    takes); ``overdue``: for longer than DRAND_MAX_WAIT_SECONDS. ``settles``: ``draw``, or
    ``cancel`` for a cancel asked after the lock. Free for an Event row; one query for the
    detail's live state, and only while the event is locked.
    """
    if event.status_name != Event.STATUS_NAMES[Event.Status.OPENING]:
        return None
    if isinstance(event, Event):
        row = None if event.beacon else vars(event)
    else:
        row = (
            Event.objects.filter(pk=event.pk, status=Event.Status.OPENING, beacon__isnull=True)
            .values("beacon_round", "beacon_chain", "cancel_requested_at")
            .first()
        )
    if row is None or row["beacon_round"] is None or not row["beacon_chain"]:
        return None
    at = drand.Chain.from_json(row["beacon_chain"]).round_time(row["beacon_round"])
    return {
        "round": row["beacon_round"],
        "round_at": datetime.fromtimestamp(at, tz=UTC),
        "waiting": now.timestamp() >= at,
        "overdue": now.timestamp() >= at + settings.DRAND_MAX_WAIT_SECONDS,
        "settles": "cancel" if row["cancel_requested_at"] else "draw",
    }
