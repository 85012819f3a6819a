"""What every writer of an event's status shares: the refusal map and the transition log.

The state machine itself is the table in ``events.models.Event``'s docstring (and in
docs/api.md); each transition has one owner there. The owners live in
``events.services.events`` (create, cancel) and ``draws.services`` (lock, draw); both refuse
with ``refuse_unless_status`` and write their log row with ``log``, so an error code or a log
row means the same thing whichever app wrote it.
"""

from collections.abc import Collection
from datetime import datetime

from events.models import Event, EventLog
from lottery_site.errors import ApplicationError

Status = Event.Status

# The state machine: (from, to) -> the log action of the one service that makes it (the table
# in Event's docstring says who and when). ``log`` refuses a transition not listed here.
TRANSITIONS = {
    (None, Status.INIT): EventLog.Action.CREATE,
    (Status.INIT, Status.OPENING): EventLog.Action.LOCK,
    (Status.OPENING, Status.OPENED): EventLog.Action.DRAW,
    (Status.INIT, Status.CANCELED): EventLog.Action.CANCEL,
    (Status.OPENING, Status.CANCELED): EventLog.Action.CANCEL,
}

# The event has moved past the status a request needs: named after where it is now.
PAST = {
    Status.OPENING: "event_locked",
    Status.OPENED: "event_drawn",
    Status.CANCELED: "event_canceled",
}
# The event has not reached the status a request needs yet: named after what it waits for.
NOT_YET = {
    Status.OPENING: "event_not_locked",
    Status.OPENED: "event_not_drawn",
}
# The order of the live statuses; CANCELED ends any of them.
ORDER = (Status.INIT, Status.OPENING, Status.OPENED)


def refusal(status: int, allowed: Collection[int]) -> str | None:
    """The error name for an event in ``status`` asked for something only ``allowed`` permit.

    None when ``status`` is allowed. A canceled event always answers ``event_canceled``; one
    not there yet answers what it waits for (``event_not_drawn``); one past it, where it is.
    """
    if status in allowed:
        return None
    if status == Status.CANCELED:
        return PAST[Status.CANCELED]
    wanted = [ORDER.index(s) for s in allowed if s in ORDER]
    if wanted and ORDER.index(status) < min(wanted):
        return NOT_YET.get(ORDER[min(wanted)], "conflict")
    return PAST.get(status, "conflict")


def refuse_unless_status(event: Event, allowed: Collection[int]) -> None:
    """Raise the refusal for ``event``'s status unless it is one of ``allowed``."""
    name = refusal(event.status, allowed)
    if name is not None:
        raise ApplicationError(name)


def log(
    event_id: int,
    *,
    action: str,
    now: datetime,
    actor=None,
    actor_kind: str | None = None,
    from_status: int | None = None,
    to_status: int | None = None,
    reason: str = "",
) -> EventLog:
    """Append the event's log row: every transition, edit and staff action, and nothing else.

    ``action`` is one of ``EventLog.Action``; with a status change, the one ``TRANSITIONS``
    names for it (edits and moderation change no status). The row is also the notifications
    outbox (draw, cancel, flag): write it in the transaction of the change it records. An audit
    record only: what the change invalidates is the read model's business
    (``events.read_model.event_changed``, which the writer calls too).
    """
    if action not in EventLog.Action.values:
        raise ValueError(f"unknown event log action {action!r}")
    changes_status = from_status is not None or to_status is not None
    if changes_status and TRANSITIONS.get((from_status, to_status)) != action:
        raise ValueError(f"no transition {from_status} -> {to_status} by {action!r}")
    if not changes_status and action in TRANSITIONS.values():
        raise ValueError(f"{action!r} is a transition: give its statuses")
    return EventLog.objects.create(
        event_id=event_id,
        actor_id=actor.pk if actor is not None else None,
        actor_kind=actor_kind or (EventLog.ActorKind.USER if actor else EventLog.ActorKind.SYSTEM),
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:200],
        created_at=now,
    )
