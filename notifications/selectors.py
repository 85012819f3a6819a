"""Reads of notifications: the in-app inbox, derived rather than stored per entrant.

A user's notifications are the "draw" and "cancel" log rows of the events they entered (their
result, or the cancellation and its reason) and the "draw" rows of the events they created (a
summary). Drawing an event with a million entrants writes one log row, not a million inbox
rows; every entrant sees their result whether or not they allowed WeChat messages.

Content security adds two kinds: ``moderation``, from the "flag" log rows of the events a user
created (a picture or text WeChat judged risky took the event off the square), and
``account``, from the user's own ``UserActionLog`` notices (avatar or nickname removed).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet, Sum

from accounts.models import UserActionLog
from events.models import EventLog, Prize
from lottery_site.pagination import sign_cursor, unsign_cursor
from notifications.models import InboxState

# Within one log row, an entrant's own item comes before the creator's summary (newest first).
# Account notices come from another table (their ids are another sequence): they rank lowest.
RANK = {"result": 2, "cancel": 2, "summary": 1, "moderation": 1, "account": 0}


@dataclass
class Notification:
    kind: str  # result | cancel | summary | moderation | account
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
    return EventLog.objects.filter(action__in=("draw", "cancel"), event__entries__user_id=user_id)


def _as_creator(user_id: int) -> QuerySet:
    return EventLog.objects.filter(action__in=("draw", "flag"), event__creator_id=user_id)


def _as_account(user_id: int) -> QuerySet:
    return UserActionLog.objects.filter(user_id=user_id, action__in=UserActionLog.USER_NOTICES)


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
    )


def inbox_page(*, user_id: int, cursor: str | None, size: int) -> dict:
    """One page, newest first: ``{results, next, unread_count}``; ``next`` is None on the last."""
    after = _decode(cursor) if cursor is not None else None
    items = (
        _entrant_items(user_id, after, size + 1)
        + _creator_items(user_id, after, size + 1)
        + _account_items(user_id, after, size + 1)
    )
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


def _before(position: tuple | None, rank: int) -> Q:
    if position is None:
        return Q()
    created_at, log_id, cursor_rank = position
    older = Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=log_id)
    return older | Q(created_at=created_at, pk=log_id) if rank < cursor_rank else older


def _entrant_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    rows = (
        _as_entrant(user_id)
        .filter(_before(after, RANK["result"]))
        .order_by("-created_at", "-pk")
        .values(
            "pk", "action", "created_at", "event_id", "event__public_id", "event__title",
            "event__cancel_reason", "event__entries__prize__public_id",
            "event__entries__prize__name",
        )[:limit]
    )  # fmt: skip
    return [
        Notification(
            kind="result" if row["action"] == "draw" else "cancel",
            log_id=row["pk"],
            event_pk=row["event_id"],
            created_at=row["created_at"],
            event_id=row["event__public_id"],
            event_title=row["event__title"],
            reason=row["event__cancel_reason"] if row["action"] == "cancel" else "",
            prize_id=row["event__entries__prize__public_id"],
            prize_name=row["event__entries__prize__name"],
        )
        for row in rows
    ]


def _creator_items(user_id: int, after: tuple | None, limit: int) -> list[Notification]:
    rows = (
        _as_creator(user_id)
        .filter(_before(after, RANK["summary"]))
        .order_by("-created_at", "-pk")
        .values("pk", "action", "created_at", "event_id", "event__public_id", "event__title",
                "event__entrant_count", "reason")[:limit]
    )  # fmt: skip
    return [
        Notification(
            kind="summary",
            log_id=row["pk"],
            event_pk=row["event_id"],
            created_at=row["created_at"],
            event_id=row["event__public_id"],
            event_title=row["event__title"],
            entrants=row["event__entrant_count"] or 0,
        )
        if row["action"] == "draw"
        else Notification(
            kind="moderation",
            log_id=row["pk"],
            event_pk=row["event_id"],
            created_at=row["created_at"],
            event_id=row["event__public_id"],
            event_title=row["event__title"],
            reason=row["reason"],
        )
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
        EventLog.objects.filter(action__in=("draw", "cancel"), notified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
