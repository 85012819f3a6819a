"""The read model of an event: every read of its public state, and the one hook that keeps
the caches of those reads true.

**Parts.** What the API shows of an event is made of parts; each field comes from exactly one
(``DETAIL_PARTS``, ``CARD_PARTS``; tests/test_read_model.py checks both against the
serializers):

- the **reference** (``event_ref``): id, creator, draw mode; never changes, so each process
  remembers it (memo ``event.refs``).
- the **public part** (``public_parts``): title, description, prizes, pictures, creator...,
  what every viewer sees alike. Rendered once per process, event, revision and host, for the
  detail and the square's cards alike (memo ``event.public``).
- the **live part** (``event_state``): status, times, entrant count, cancel reason and the
  viewer's own entry. Read from the database on every request, in one query. A square card's
  live fields come from the square's own check of its page (``events.square``).
- the **square's part**: a card's recent joins (``events.square``, the ``hot`` counts).

**The change hook.** Every writer of an event, or of what it shows (entries, prizes, pictures,
moderation), calls ``event_changed(event_id=..., what=...)`` in its transaction. ``what`` names
what changed and ``EFFECTS`` is the one table of what that invalidates: the public part's
revision moves at once, in the writer's transaction; the rest (the square) after the commit.
No other code drops a cache of an event. tests/test_read_model.py fails when a service writes
an event without calling it.

The caches, their freshness rules and the benchmarks that pay for them: docs/architecture.md
(the cache register; ``lottery_site.caches``).
"""

import functools
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Prefetch

from accounts.models import User
from events import serializers as s
from events import square
from events.conditions import Conditions, parse
from events.models import Claim, Entry, Event, Prize, aware_utc
from events.selectors import PICTURED, prizes_with_pictures, require_event_id
from lottery_site import caches
from lottery_site.errors import ApplicationError
from lottery_site.fields import AwareDateTimeField

# --- the reference ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRef:
    """What the hot write paths need to act on an event: what never changes (id, creator, draw
    mode, creation time), and its entry conditions at ``rules_version``, which can change only
    until the first join (the join's gate admits only under the version its checks read)."""

    pk: int
    public_id: str
    creator_id: int
    draw_mode: str
    created_at: datetime | None = None
    rules_version: int = 0
    conditions: Conditions | None = None


REFS = caches.Memo(
    "event.refs",
    size=10_000,
    holds="public id -> the event's id, creator, draw mode, and its entry conditions with "
    "their version",
    freshness="the id, creator and draw mode never change (events are never deleted); the "
    "conditions change only before the first join, and a join checked under an older version "
    "is refused by its own gate UPDATE and read again (event_ref_again)",
    invalidated_by="a join that finds the conditions' version moved (an unknown id is never "
    "remembered)",
    benchmark="unmeasured: joins arrive in flash crowds on one event, and a join then costs "
    "only its UPDATE and INSERT (with conditions: their checks, no query of their own unless "
    "they read the user)",
)

_REF_FIELDS = (
    "pk", "public_id", "creator_id", "draw_mode", "created_at", "rules_version", "entry_conditions"
)  # fmt: skip


def event_ref(*, public_id: str) -> EventRef:
    """The event behind a public id; raises ``event_not_found``."""
    ref = REFS.get(public_id)
    if ref is None:
        require_event_id(public_id)
        row = Event.objects.filter(public_id=public_id).values_list(*_REF_FIELDS).first()
        if row is None:
            raise ApplicationError("event_not_found")
        ref = REFS.put(public_id, EventRef(*row[:-1], parse(row[-1])))
    return ref


def event_ref_again(*, public_id: str) -> EventRef:
    """The reference read again: a join found its conditions' version moved (an edit before
    the first join, in another process)."""
    REFS.pop(public_id, None)
    return event_ref(public_id=public_id)


def ref_of(event: Event) -> EventRef:
    """The reference of an event already loaded (services called with an Event)."""
    return EventRef(
        event.pk,
        event.public_id,
        event.creator_id,
        event.draw_mode,
        event.created_at,
        event.rules_version,
        parse(event.entry_conditions),
    )


# --- the live part ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _PrizeRef:
    public_id: str
    name: str


@dataclass(frozen=True)
class ViewerEntry:
    """The viewer's own entry as the live read has it (``events.selectors.my_entry``)."""

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
    revision: int  # the public part's version (``event_changed``)
    viewer_entries: list[ViewerEntry] = field(default_factory=list)
    pk: int = 0  # the event's, for what only a locked event adds (``selectors.beacon_wait``)


def event_state(*, ref: EventRef, viewer: User) -> EventState:
    """Status, times, participant count and the viewer's own entry, in one query: never cached,
    so every change shows at once, whichever process answers.

    Plain SQL on purpose: this runs on every read of the most read endpoint, and building the
    equivalent ORM query (a FilteredRelation join) cost three times as long (unmeasured by a
    benchmark: timed in a loop when it was written). A Redis mirror of open events once answered
    it without a query; it bought less than the spread between rounds and cost the join ~10 %,
    so it went (docs/benchmarks.md, "The Redis mirror: removed").
    """
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(), [viewer.pk, ref.pk])
        row = cursor.fetchone()
    if row is None:
        raise ApplicationError("event_not_found")
    status, draw_at, lock_at, count, reason, revision, joined_at, prize_id, prize_name = row[:9]
    entries = []
    if joined_at is not None:
        prize = _PrizeRef(prize_id, prize_name) if prize_id else None
        entries.append(ViewerEntry(aware_utc(joined_at), prize, ref.pk, viewer.pk, row[9]))
    return EventState(
        status_name=Event.STATUS_NAMES[status],
        draw_at=aware_utc(draw_at),
        lock_at=aware_utc(lock_at),
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


# --- the public part -------------------------------------------------------------------------

PUBLIC = caches.Memo(
    "event.public",
    size=5000,
    holds="(event id, host) -> the rendered public part (title, prizes, pictures, creator...) "
    "and the revision it was rendered at: the detail's and the square card's",
    freshness="the event's revision, read live with every use (an edit shows at once); the "
    "creator's nickname and avatar within EVENT_PUBLIC_TTL_SECONDS",
    invalidated_by="event_changed (edited, picture): the revision moves in the writer's "
    "transaction",
    benchmark="unmeasured on its own; the detail's figures (bench/join) have always had it",
)


def public_parts(revisions: dict[int, int], *, request=None) -> dict[int, dict]:
    """The rendered public part of each event of ``revisions`` (event id -> revision).

    From the memo when rendered at that revision and not older than EVENT_PUBLIC_TTL_SECONDS,
    else rendered now (one query with its prizes and pictures for all that are missing).
    Picture URLs are absolute, made with the host the request came to (lottery_site.media)
    unless MEDIA_PUBLIC_BASE_URL is set: one rendering per host.
    """
    host = request.get_host() if request is not None else ""
    clock = time.monotonic()
    found, missing = {}, []
    for pk, revision in revisions.items():
        memo = PUBLIC.get((pk, host))
        if memo is not None and memo[0] == revision and memo[1] > clock:
            found[pk] = memo[2]
        else:
            missing.append(pk)
    if missing:
        events = list(
            Event.objects.filter(pk__in=missing)
            .select_related(*PICTURED)
            .prefetch_related(Prefetch("prizes", queryset=prizes_with_pictures()))
        )
        rendered = s.EventPublicOutput(events, many=True, context={"request": request}).data
        expires = clock + settings.EVENT_PUBLIC_TTL_SECONDS
        for event, public in zip(events, rendered, strict=True):
            found[event.pk] = PUBLIC.put((event.pk, host), (event.revision, expires, public))[2]
    return found


# --- what the API shows ----------------------------------------------------------------------

# Each field of an event's detail, and the one part it comes from.
DETAIL_PARTS = {
    **dict.fromkeys(s.EventPublicOutput().fields, "public"),
    **dict.fromkeys(s.EventLiveOutput().fields, "live"),
}
# Each field of a square card, and the one part it comes from, in the card's order.
CARD_PARTS = {
    name: "square" if name == "recent_joins" else DETAIL_PARTS[name]
    for name in s.SquareEventOutput().fields
}


def detail(ref: EventRef, state: EventState, request=None) -> dict:
    """The event as EventOutput renders it: the public part, then the live part."""
    public = public_parts({ref.pk: state.revision}, request=request)[ref.pk]
    return {**public, **s.LIVE.to_representation(state)}


def event_detail(*, public_id: str, request) -> dict:
    """The detail of an event for the caller: the most read endpoint."""
    ref = event_ref(public_id=public_id)
    return detail(ref, event_state(ref=ref, viewer=request.user), request)


def square_page(
    *, sort: str, after: list | None, size: int, now: datetime, request, finish
) -> tuple[bytes, str]:
    """A page of the square as ``finish(cards, next key)`` renders it, and its ETag."""
    return square.listing(
        sort=sort,
        after=after,
        size=size,
        now=now,
        host=request.get_host(),
        render=functools.partial(cards, request=request),
        finish=finish,
    )


_TIME = AwareDateTimeField()


def cards(items: list[dict], *, request=None) -> list[dict]:
    """A square page's items (``events.square.page``) as cards: each field from its part."""
    public = public_parts({item["pk"]: item["revision"] for item in items}, request=request)
    result = []
    for item in items:
        live = {
            "draw_at": _TIME.to_representation(item["draw_at"]),
            "lock_at": _TIME.to_representation(item["lock_at"]),
            "participant_count": item["participant_count"],
            "recent_joins": item["recent_joins"],
        }
        shown = public[item["pk"]]
        result.append(
            {
                name: shown[name] if part == "public" else live[name]
                for name, part in CARD_PARTS.items()
            }
        )
    return result


# --- the change hook -------------------------------------------------------------------------

REVISION = "revision"  # the public part is rendered again everywhere (the revision moves now)
LISTING = "listing"  # what the square lists, or its order: every process re-checks its pages
ENTRY = "entry"  # a join or a withdrawal: counted for ``hot``

# What changed -> what it invalidates. The one table of invalidation (docs/architecture.md).
EFFECTS: dict[str, frozenset[str]] = {
    # A new event is in no cache yet (an unknown id is never remembered) ...
    "created": frozenset(),
    # ... unless it is public: the square lists it.
    "created_public": frozenset({LISTING}),
    # The creator's edit: text, prizes, pictures, delivery, visibility, draw time.
    "edited": frozenset({REVISION, LISTING}),
    # A picture taken down by WeChat: the placeholder shows at once.
    "picture": frozenset({REVISION}),
    # The status (lock, cancel, draw) or the lock time (a count target reached): the live part
    # is read from the database on every request; only the square holds it.
    "live": frozenset({LISTING}),
    # Only whether the square lists it: moderation, the text check.
    "listing": frozenset({LISTING}),
    # A join or a withdrawal (``entry=`` says which).
    "entry": frozenset({ENTRY}),
    # Winners of a drawn event (an alternate): the live read of a drawn event is the
    # database's, every time; nothing is cached.
    "winners": frozenset(),
    # An entry of a canceled event deleted with its person's account (``events.personal_data``):
    # the live part of a canceled event is the database's too; nothing cached.
    "forgotten": frozenset(),
    # Anti-fraud signals blanked: a deleted account's (``events.personal_data``), or an event's
    # once kept long enough (``events.services.retention``). The creator's flags are computed
    # when asked; nothing cached holds them.
    "signals": frozenset(),
}


@dataclass(frozen=True)
class EntryChange:
    user_pk: int
    joined_at: datetime  # when the entry was made (a withdrawal: when the withdrawn one was)
    joined: bool  # False: a withdrawal


def event_changed(*, event_id: int, what: str, entry: EntryChange | None = None) -> None:
    """Call in the transaction of every write of an event or of what it shows.

    ``what`` is a key of ``EFFECTS``; ``entry`` goes with ``what="entry"``. The revision moves
    now, in the caller's transaction (an edit rolled back moves nothing); the rest happens once
    the transaction commits, in this process and, through Redis, in every other.
    """
    effects = EFFECTS[what]
    if (what == "entry") != (entry is not None):
        raise ValueError("entry= goes with what='entry', and only with it")
    if REVISION in effects:
        Event.objects.filter(pk=event_id).update(revision=F("revision") + 1)
    if effects - {REVISION}:
        transaction.on_commit(functools.partial(_committed, event_id, effects, entry))


def _committed(event_id: int, effects: frozenset[str], entry: EntryChange | None) -> None:
    if entry is not None:
        square.count_join(event_id=event_id, at=entry.joined_at, delta=1 if entry.joined else -1)
    if LISTING in effects:
        square.listing_changed()
