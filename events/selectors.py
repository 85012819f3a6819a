"""Reads for the events API: each one a fixed, small number of queries, whatever the page size."""

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from events import mirror
from events.models import Claim, Entry, Event, Prize
from lottery_site import drand
from lottery_site.errors import ApplicationError
from lottery_site.ids import is_public_id

ROLES = ("created", "joined", "won")
_REF_MEMO_SIZE = 10_000


@dataclass(frozen=True)
class EventRef:
    """What never changes about an event: enough for the hot write paths to act on it."""

    pk: int
    public_id: str
    creator_id: int
    draw_mode: str


def event_ref(*, public_id: str) -> EventRef:
    """The event behind a public id; raises ``event_not_found``.

    Joins arrive in flash crowds on one event. These fields never change and events are never
    deleted, so each process remembers them after the first lookup, and a join costs only the
    UPDATE and the INSERT that matter.
    """
    ref = _refs.get(public_id)
    if ref is None:
        _require_exact(public_id)
        row = (
            Event.objects.filter(public_id=public_id)
            .values_list("pk", "public_id", "creator_id", "draw_mode")
            .first()
        )
        if row is None:
            raise ApplicationError("event_not_found")
        if len(_refs) >= _REF_MEMO_SIZE:
            _refs.clear()
        ref = _refs[public_id] = EventRef(*row)
    return ref


_refs: dict[str, EventRef] = {}


def _require_exact(public_id: str) -> None:
    """An alias the database collation would match (``E_…``, ``e_… ``) is a 404, as it reads."""
    if not is_public_id(public_id, "e_"):
        raise ApplicationError("event_not_found")


def event_get(*, public_id: str) -> Event:
    """The event with its creator; raises ``event_not_found``."""
    _require_exact(public_id)
    event = Event.objects.select_related("creator").filter(public_id=public_id).first()
    if event is None:
        raise ApplicationError("event_not_found")
    return event


def event_public(*, ref: EventRef) -> Event:
    """The event with its creator and its prizes in tier order: what every viewer sees alike."""
    return (
        Event.objects.select_related(*PICTURED)
        .prefetch_related(Prefetch("prizes", queryset=_prizes_with_pictures()))
        .get(pk=ref.pk)
    )


# What an event's output shows beside its own row: its creator (with avatar) and its cover.
PICTURED = ("creator", "creator__avatar", "cover")


def _prizes_with_pictures() -> QuerySet[Prize]:
    return Prize.objects.select_related("image").order_by("position")


@dataclass(frozen=True)
class _PrizeRef:
    public_id: str
    name: str


@dataclass(frozen=True)
class _ViewerEntry:
    created_at: datetime
    prize: _PrizeRef | None
    event_id: int = 0
    user_id: int = 0
    claim_status: str | None = None  # "forfeited" once the prize passed to an alternate


@dataclass(frozen=True)
class EventState:
    """The live fields of an event, shaped like the Event attributes EventLiveOutput reads."""

    status_name: str
    draw_at: datetime
    lock_at: datetime
    participant_count: int
    cancel_reason: str
    revision: int  # one more with every edit of the public part (event_update)
    viewer_entries: list[_ViewerEntry] = field(default_factory=list)
    pk: int = 0  # the event's, for what only a locked event adds (``beacon_wait``)


def event_state(*, ref: EventRef, viewer: User) -> EventState:
    """Status, times, participant count and the viewer's own entry.

    An event open for joining is read from its Redis mirror (events.mirror: one HMGET, right
    at once after the viewer's own join or withdrawal); the first read that finds none builds
    it. Otherwise, or without Redis, one query.
    """
    mirrored = mirror.read(event_pk=ref.pk, user_pk=viewer.pk)
    if mirrored is not None:
        (status, draw_at, lock_at, reason, revision), count, joined_at = mirrored
        entries = [] if joined_at is None else [_ViewerEntry(joined_at, None, ref.pk, viewer.pk)]
        return EventState(
            Event.STATUS_NAMES[status], draw_at, lock_at, count, reason, revision, entries, ref.pk
        )
    state = _event_state_from_database(ref=ref, viewer=viewer)
    if state.status_name == Event.STATUS_NAMES[Event.Status.INIT]:
        mirror.build(ref.pk)
    else:
        mirror.closed(ref.pk)
    return state


def _event_state_from_database(*, ref: EventRef, viewer: User) -> EventState:
    """One query. Plain SQL on purpose: this runs on every read of the most read endpoint, and
    building the equivalent ORM query (a FilteredRelation join) cost three times as long."""
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(), [viewer.pk, ref.pk])
        row = cursor.fetchone()
    if row is None:
        raise ApplicationError("event_not_found")
    status, draw_at, lock_at, count, reason, revision, joined_at, prize_id, prize_name = row[:9]
    entries = []
    if joined_at is not None:
        prize = _PrizeRef(prize_id, prize_name) if prize_id else None
        entries.append(_ViewerEntry(_aware(joined_at), prize, ref.pk, viewer.pk, row[9]))
    return EventState(
        status_name=Event.STATUS_NAMES[status],
        draw_at=_aware(draw_at),
        lock_at=_aware(lock_at),
        participant_count=count,
        cancel_reason=reason,
        revision=revision,
        viewer_entries=entries,
        pk=ref.pk,
    )


@functools.cache
def _state_sql() -> str:
    event, entry, prize, claim = (model._meta.db_table for model in (Event, Entry, Prize, Claim))
    return (
        "SELECT e.status, e.draw_at, e.lock_at, e.participant_count, e.cancel_reason, e.revision, "  # noqa: S608
        f"n.created_at, p.public_id, p.name, c.status FROM {event} e "
        f"LEFT JOIN {entry} n ON n.event_id = e.id AND n.user_id = %s "
        f"LEFT JOIN {prize} p ON p.id = n.prize_id "
        f"LEFT JOIN {claim} c ON c.entry_id = n.id WHERE e.id = %s"
    )


def _aware(value: datetime | str) -> datetime:
    """A datetime column read without the ORM: the database stores UTC, naive on the wire."""
    if isinstance(value, str):  # SQLite without its converters
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    if isinstance(entry, _ViewerEntry):  # the detail's one-query read carries the status
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
    status = status or "unclaimed"
    if status == "unclaimed" and now >= deadline:
        status = "expired"
    return {"state": status, "deadline": deadline}


def _with_related(events: QuerySet[Event], *, viewer: User) -> QuerySet[Event]:
    return events.prefetch_related(
        Prefetch("prizes", queryset=_prizes_with_pictures()),
        Prefetch(
            "entries",
            queryset=Entry.objects.filter(user_id=viewer.pk).select_related("prize", "claim"),
            to_attr="viewer_entries",
        ),
    )


def beacon_wait(event: Event | EventState, *, now: datetime) -> dict | None:
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
