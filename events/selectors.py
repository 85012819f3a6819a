"""Reads for the events API: each one a fixed, small number of queries, whatever the page size."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import FilteredRelation, Prefetch, Q, QuerySet

from accounts.models import User
from events.models import Entry, Event, Prize
from lottery_site.errors import ApplicationError

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


def event_get(*, public_id: str) -> Event:
    """The event with its creator; raises ``event_not_found``."""
    event = Event.objects.select_related("creator").filter(public_id=public_id).first()
    if event is None:
        raise ApplicationError("event_not_found")
    return event


def event_public(*, ref: EventRef) -> Event:
    """The event with its creator and its prizes in tier order: what every viewer sees alike."""
    return (
        Event.objects.select_related("creator")
        .prefetch_related(Prefetch("prizes", queryset=Prize.objects.order_by("position")))
        .get(pk=ref.pk)
    )


def public_cache_key(event_pk: int) -> str:
    """Where the rendered public part of an event is cached (see events.views)."""
    return f"events:public:{event_pk}"


def forget_public(event_pk: int) -> None:
    cache.delete(public_cache_key(event_pk))


@dataclass(frozen=True)
class _PrizeRef:
    public_id: str
    name: str


@dataclass(frozen=True)
class _ViewerEntry:
    created_at: datetime
    prize: _PrizeRef | None


@dataclass(frozen=True)
class EventState:
    """The live fields of an event, shaped like the Event attributes EventLiveOutput reads."""

    status_name: str
    draw_at: datetime
    lock_at: datetime
    participant_count: int
    cancel_reason: str
    viewer_entries: list[_ViewerEntry] = field(default_factory=list)


def event_state(*, ref: EventRef, viewer: User) -> EventState:
    """Status, times, participant count and the viewer's own entry, in one query."""
    row = (
        Event.objects.filter(pk=ref.pk)
        .annotate(mine=FilteredRelation("entries", condition=Q(entries__user_id=viewer.pk)))
        .values(
            "status",
            "draw_at",
            "lock_at",
            "participant_count",
            "cancel_reason",
            "mine__created_at",
            "mine__prize__public_id",
            "mine__prize__name",
        )
        .get()
    )
    entries = []
    if row["mine__created_at"] is not None:
        prize_id = row["mine__prize__public_id"]
        prize = _PrizeRef(prize_id, row["mine__prize__name"]) if prize_id else None
        entries.append(_ViewerEntry(row["mine__created_at"], prize))
    return EventState(
        status_name=Event.STATUS_NAMES[row["status"]],
        draw_at=row["draw_at"],
        lock_at=row["lock_at"],
        participant_count=row["participant_count"],
        cancel_reason=row["cancel_reason"],
        viewer_entries=entries,
    )


def event_entries(*, event: Event) -> QuerySet[Entry]:
    """The event's entries with their users, for cursor pagination (newest first)."""
    return Entry.objects.filter(event_id=event.pk).select_related("user")


def events_of_user(*, user: User, role: str) -> QuerySet[Event]:
    """Events the user created, joined or won, each with prizes and the user's own entry."""
    if role == "created":
        events = Event.objects.filter(creator_id=user.pk)
    elif role == "joined":
        events = Event.objects.filter(entries__user_id=user.pk)
    else:
        events = Event.objects.filter(entries__user_id=user.pk, entries__prize__isnull=False)
    return _with_related(events.select_related("creator"), viewer=user)


def my_entry(event: Event) -> Entry | None:
    """The viewer's entry as prefetched by ``_with_related`` (None if they have not joined)."""
    entries = getattr(event, "viewer_entries", None)
    return entries[0] if entries else None


def _with_related(events: QuerySet[Event], *, viewer: User) -> QuerySet[Event]:
    return events.prefetch_related(
        Prefetch("prizes", queryset=Prize.objects.order_by("position")),
        Prefetch(
            "entries",
            queryset=Entry.objects.filter(user_id=viewer.pk).select_related("prize"),
            to_attr="viewer_entries",
        ),
    )
