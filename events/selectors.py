"""Reads for the events API: each one a fixed, small number of queries, whatever the page size."""

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from events.models import Entry, Event, Prize
from lottery_site.errors import ApplicationError

ROLES = ("created", "joined", "won")
_REF_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class EventRef:
    """What never changes about an event: enough for the hot write paths to act on it."""

    pk: int
    public_id: str
    creator_id: int
    draw_mode: str


def event_ref(*, public_id: str) -> EventRef:
    """The event behind a public id, from the cache when possible (its fields never change).

    Joins arrive in flash crowds on one event; answering "which row is e_…" from Redis keeps
    them to the one UPDATE and one INSERT that matter. Raises ``event_not_found``.
    """
    key = f"events:ref:{public_id}"
    cached = cache.get(key)
    if cached is not None:
        return EventRef(*cached)
    row = (
        Event.objects.filter(public_id=public_id)
        .values_list("pk", "public_id", "creator_id", "draw_mode")
        .first()
    )
    if row is None:
        raise ApplicationError("event_not_found")
    cache.set(key, list(row), _REF_TTL_SECONDS)
    return EventRef(*row)


def event_get(*, public_id: str) -> Event:
    """The event with its creator; raises ``event_not_found``."""
    event = Event.objects.select_related("creator").filter(public_id=public_id).first()
    if event is None:
        raise ApplicationError("event_not_found")
    return event


def event_detail(*, public_id: str, viewer: User) -> Event:
    """The event, its creator, its prizes in tier order and the viewer's entry: three queries."""
    event = (
        _with_related(Event.objects.filter(public_id=public_id), viewer=viewer)
        .select_related("creator")
        .first()
    )
    if event is None:
        raise ApplicationError("event_not_found")
    return event


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
