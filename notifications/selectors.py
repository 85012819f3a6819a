"""Reads of notifications: the in-app inbox, derived rather than stored per entrant.

A user's notifications are the "draw" and "cancel" log rows of the events they entered (their
result, or the cancellation and its reason) and the "draw" rows of the events they created (a
summary), and the claim rows of the prizes they won (shipped, or a reminder a day before the
claim deadline). Drawing an event with a million entrants writes one log row, not a million inbox
rows; every entrant sees their result whether or not they allowed WeChat messages.

A winner the creator disqualified reads it from the substitution that took their prize
(``disqualified``: the prize and the reason).

Content security adds two kinds: ``moderation``, from the "flag" log rows of the events a user
created (a picture or text WeChat judged risky took the event off the square), and
``account``, from the user's own ``UserActionLog`` notices (avatar or nickname removed).
Anti-fraud adds ``excluded``, from the user's ``Exclusion`` rows: taken out of an event before
its lock by its creator, or by a ban, with the public reason.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import UserActionLog
from events.models import Claim, EventLog, Exclusion, Prize, Substitution
from lottery_site.pagination import sign_cursor, unsign_cursor
from notifications.models import InboxState

# The event log rows that reach an entrant (their result, the cancellation) and a creator
# (the draw's summary, a WeChat flag).
ENTRANT_ACTIONS = (EventLog.Action.DRAW, EventLog.Action.CANCEL)
CREATOR_ACTIONS = (EventLog.Action.DRAW, EventLog.Action.FLAG)

# Within one log row, an entrant's own item comes before the creator's summary (newest first).
# Account notices and claim items come from other tables (their ids are other sequences): each
# such source has a rank of its own, so equal times and ids never tie.
RANK = {
    "result": 2,
    "cancel": 2,
    "summary": 1,
    "moderation": 1,
    "account": 0,
    "shipped": 3,
    "claim_reminder": 4,
    "offered": 5,
    "disqualified": 6,
    "excluded": 7,
}
# Claim items come from the claim rows themselves (events.claims writes the time): kind -> the
# claim's time field. The position's "log id" is then the claim's pk; the rank keeps the two apart.
# "offered": a prize passed to the user as the draw's next alternate (their claim row's start).
CLAIM_KINDS = {"shipped": "shipped_at", "claim_reminder": "reminded_at", "offered": "offered_at"}


@dataclass
class Notification:
    kind: str  # result | cancel | summary | moderation | account | shipped | claim_reminder
    # | offered | disqualified | excluded
    log_id: int
    event_pk: int | None
    created_at: datetime
    event_id: str | None
    event_title: str | None
    reason: str = ""
    prize_id: str | None = None
    prize_name: str | None = None
    entrants: int | None = None
    winners: int | None = None
    unawarded: int | None = None
    carrier: str = ""
    tracking_number: str = ""
    deadline: datetime | None = None
    read: bool = False

    @property
    def id(self) -> str:
        if self.kind == "account":
            return f"account-{self.log_id}"
        if self.kind == "moderation":
            return f"moderation-{self.event_id}-{self.log_id}"
        return f"{self.kind}-{self.event_id}"

    @property
    def position(self) -> tuple:
        return (self.created_at, self.log_id, RANK[self.kind])


def _as_entrant(user_id: int) -> QuerySet:
    return EventLog.objects.filter(action__in=ENTRANT_ACTIONS, event__entries__user_id=user_id)


def _as_creator(user_id: int) -> QuerySet:
    return EventLog.objects.filter(action__in=CREATOR_ACTIONS, event__creator_id=user_id)


def _as_account(user_id: int) -> QuerySet:
    return UserActionLog.objects.filter(user_id=user_id, action__in=UserActionLog.USER_NOTICES)


def _as_disqualified(user_id: int) -> QuerySet:
    # A unit that passed on because its claim window expired is not a disqualification.
    return Substitution.objects.filter(replaced__user_id=user_id).exclude(
        reason=Substitution.Reason.EXPIRED
    )


def _as_excluded(user_id: int) -> QuerySet:
    return Exclusion.objects.filter(user_id=user_id)


def _read_up_to(user_id: int) -> datetime | None:
    return InboxState.objects.filter(user_id=user_id).values_list("read_up_to", flat=True).first()


_UNKNOWN = object()


def inbox_unread_count(*, user_id: int, read_up_to=_UNKNOWN) -> int:
    if read_up_to is _UNKNOWN:
        read_up_to = _read_up_to(user_id)
    after = Q(created_at__gt=read_up_to) if read_up_to else Q()
    return (
        _as_entrant(user_id).filter(after).count()
        + _as_creator(user_id).filter(after).count()
        + _as_account(user_id).filter(after).count()
        + _as_disqualified(user_id).filter(after).count()
        + _as_excluded(user_id).filter(after).count()
        + _unread_claim_items(user_id, read_up_to)
    )


def _unread_claim_items(user_id: int, read_up_to: datetime | None) -> int:
    """Both claim kinds in one query: one per claim row and time field past ``read_up_to``."""
    counts = Claim.objects.filter(entry__user_id=user_id).aggregate(
        **{
            kind: Count("pk", filter=Q(**{f"{field}__gt": read_up_to}))
            if read_up_to
            else Count(field)
            for kind, field in CLAIM_KINDS.items()
        }
    )
    return sum(counts.values())


def _claims_of(user_id: int, field: str) -> QuerySet:
    return Claim.objects.filter(entry__user_id=user_id, **{f"{field}__isnull": False})


def inbox_page(*, user_id: int, cursor: str | None, size: int) -> dict:
    """One page, newest first: ``{results, next, unread_count}``; ``next`` is None on the last."""
    after = _decode(cursor) if cursor is not None else None
    items = (
        _entrant_items(user_id, after, size + 1)
        + _creator_items(user_id, after, size + 1)
        + _account_items(user_id, after, size + 1)
        + _disqualified_items(user_id, after, size + 1)
        + _excluded_items(user_id, after, size + 1)
    )
    for kind in CLAIM_KINDS:
        items += _claim_items(user_id, kind, after, size + 1)
    items.sort(key=lambda item: item.position, reverse=True)
    page, more = items[:size], len(items) > size
    read_up_to = _read_up_to(user_id)
    for item in page:
        item.read = read_up_to is not None and item.created_at <= read_up_to
    _add_summaries([item for item in page if item.kind == "summary"])
    return {
        "results": page,
        "next": _encode(page[-1].position) if more else None,
        "unread_count": inbox_unread_count(user_id=user_id, read_up_to=read_up_to),
    }


def _before(position: tuple | None, rank: int, field: str = "created_at") -> Q:
    if position is None:
        return Q()
    created_at, log_id, cursor_rank = position
    at = {field: created_at}
    older = Q(**{f"{field}__lt": created_at}) | Q(**at, pk__lt=log_id)
    return older | Q(**at, pk=log_id) if rank < cursor_rank else older


def _rows(
    queryset: QuerySet,
    *,
    kind: str,
    after: tuple | None,
    limit: int,
    fields: tuple[str, ...] = (),
    field: str = "created_at",
) -> QuerySet:
    """The newest ``limit`` rows behind items of ``kind`` past the cursor ``after``, ordered by
    their time ``field``, with what ``_event_item`` reads of them and the extra ``fields``."""
    return (
        queryset.filter(_before(after, RANK[kind], field))
        .order_by(f"-{field}", "-pk")
        .values("pk", field, "event_id", "event__public_id", "event__title", *fields)[:limit]
    )


def _event_item(row: dict, *, kind: str, field: str = "created_at", **more) -> Notification:
    """An item about an event, from a row of ``_rows``; ``more`` are the kind's own fields."""
    return Notification(
        kind=kind,
        log_id=row["pk"],
        event_pk=row["event_id"],
        created_at=row[field],
        event_id=row["event__public_id"],
        event_title=row["event__title"],
        **more,
    )


def _claim_items(user_id: int, kind: str, after: tuple | None, limit: int) -> list[Notification]:
    """A winner's claim news: their prize shipped, or a day left to claim it."""
    field = CLAIM_KINDS[kind]
    rows = _rows(
        _claims_of(user_id, field), kind=kind, after=after, limit=limit, field=field,
        fields=("carrier", "tracking_number", "deadline", "entry__prize__public_id",
                "entry__prize__name"),
    )  # fmt: skip
    return [
        _event_item(
            row,
            kind=kind,
            field=field,
            prize_id=row["entry__prize__public_id"],
            prize_name=row["entry__prize__name"],
            carrier=row["carrier"],
            tracking_number=row["tracking_number"],
            deadline=row["deadline"],
        )
        for row in rows
    ]


def _entrant_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    rows = _rows(
        _as_entrant(user_id), kind="result", after=after, limit=limit,
        fields=("action", "event__cancel_reason", "event__entries__prize__public_id",
                "event__entries__prize__name"),
    )  # fmt: skip
    return [
        _event_item(
            row,
            kind="result" if row["action"] == EventLog.Action.DRAW else "cancel",
            reason=row["event__cancel_reason"] if row["action"] == EventLog.Action.CANCEL else "",
            prize_id=row["event__entries__prize__public_id"],
            prize_name=row["event__entries__prize__name"],
        )
        for row in rows
    ]


def _creator_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    rows = _rows(
        _as_creator(user_id), kind="summary", after=after, limit=limit,
        fields=("action", "event__entrant_count", "reason"),
    )  # fmt: skip
    return [
        _event_item(row, kind="summary", entrants=row["event__entrant_count"] or 0)
        if row["action"] == EventLog.Action.DRAW
        else _event_item(row, kind="moderation", reason=row["reason"])
        for row in rows
    ]


def _account_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    rows = (
        _as_account(user_id)
        .filter(_before(after, RANK["account"]))
        .order_by("-created_at", "-pk")
        .values("pk", "action", "created_at")[:limit]
    )
    return [
        Notification(
            kind="account",
            log_id=row["pk"],
            event_pk=None,
            created_at=row["created_at"],
            event_id=None,
            event_title=None,
            reason=row["action"],
        )
        for row in rows
    ]


def _disqualified_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    """A winner the creator disqualified: the prize they lost and why (``reason``)."""
    rows = _rows(
        _as_disqualified(user_id), kind="disqualified", after=after, limit=limit,
        fields=("reason", "prize__public_id", "prize__name"),
    )  # fmt: skip
    return [
        _event_item(
            row,
            kind="disqualified",
            reason=row["reason"],
            prize_id=row["prize__public_id"],
            prize_name=row["prize__name"],
        )
        for row in rows
    ]


def _excluded_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    """An entrant taken out of an event before its lock, and why (``reason``)."""
    rows = _rows(
        _as_excluded(user_id), kind="excluded", after=after, limit=limit, fields=("reason",)
    )
    return [_event_item(row, kind="excluded", reason=row["reason"]) for row in rows]


def _add_summaries(items: list[Notification]) -> None:
    """Winners and unawarded prizes of the summaries on the page, in one query."""
    if not items:
        return
    event_pks = {item.event_pk for item in items}
    totals = {
        row["event_id"]: row
        for row in Prize.objects.filter(event_id__in=event_pks)
        .values("event_id")
        .annotate(quantity=Sum("quantity"), awarded=Sum("awarded"))
    }
    for item in items:
        row = totals.get(item.event_pk, {"quantity": 0, "awarded": 0})
        item.winners, item.unawarded = row["awarded"], row["quantity"] - row["awarded"]


def _encode(position: tuple) -> str:
    created_at, log_id, rank = position
    return sign_cursor([created_at.isoformat(), log_id, rank])


def _decode(cursor: str) -> tuple:
    created_at, log_id, rank = unsign_cursor(cursor, length=3)
    return (datetime.fromisoformat(created_at), log_id, rank)


def outbox_pending() -> list[int]:
    """Draw and cancel log rows not yet fanned out, oldest first, however old."""
    return list(
        EventLog.objects.filter(action__in=ENTRANT_ACTIONS, notified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
