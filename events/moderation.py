"""The only writer of an event's moderation state (``Event.moderation``).

The state machine is the table in ``Event``'s docstring ("Moderation") and ``TRANSITIONS``
here. WeChat's checks (a picture rejected, ``events.services.reports``; a text judged risky on
the re-check, ``events.services.events``) send an ``ok`` event to ``review``; staff hide an
event (``hidden``) or put it back (``ok``). A staff decision stands: a later flag from WeChat
leaves a hidden event hidden. Only the square reads this state: joins, the draw and the link
keep working.
"""

import logging
from datetime import datetime

from django.db import transaction

from accounts.models import User
from events import read_model, transitions
from events.models import Event, EventLog

logger = logging.getLogger(__name__)

Moderation = Event.Moderation

# The state machine: (from, to) -> the log action that records it (the "flag" rows tell the
# creator in their inbox). ``event_moderate`` makes no other move.
TRANSITIONS = {
    (Moderation.OK, Moderation.REVIEW): EventLog.Action.FLAG,
    (Moderation.OK, Moderation.HIDDEN): EventLog.Action.HIDE,
    (Moderation.REVIEW, Moderation.HIDDEN): EventLog.Action.HIDE,
    (Moderation.REVIEW, Moderation.OK): EventLog.Action.RESTORE,
    (Moderation.HIDDEN, Moderation.OK): EventLog.Action.RESTORE,
}


def event_moderate(
    *, event: Event, actor: User | None, to: str, now: datetime, reason: str = ""
) -> bool:
    """Move an event's moderation state to ``to``, logged; False if no transition of the table
    leads there from where it is (already there, or a flag of a hidden event).

    A conditional UPDATE on ``moderation`` whose row count decides: of two staff racing, one
    moves it and logs, the other finds it moved. ``actor`` None: WeChat's checks (system).
    """
    sources = [source for source, target in TRANSITIONS if target == to]
    if not sources:
        raise ValueError(f"no moderation transition leads to {to!r}")
    row = Event.objects.filter(pk=event.pk)
    source = row.values_list("moderation", flat=True).first()
    if source not in sources:
        return False
    with transaction.atomic():
        if not row.filter(moderation=source).update(moderation=to):
            return False  # moved meanwhile: whoever moved it logged it
        transitions.log(
            event.pk,
            actor=actor,
            actor_kind=EventLog.ActorKind.STAFF if actor else EventLog.ActorKind.SYSTEM,
            action=TRANSITIONS[(source, to)],
            reason=reason,
            now=now,
        )
        read_model.event_changed(event_id=event.pk, what="listing")
    logger.info("event %s moderation: %s -> %s", event.public_id, source, to)
    return True
