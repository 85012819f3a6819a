"""The refusals the event services share: who may act, on which event, and the input error."""

from datetime import datetime

from accounts.models import User
from events import transitions
from events.models import Event
from lottery_site.errors import ApplicationError


def refuse_inactive(user: User) -> None:
    if not user.is_active:
        raise ApplicationError("account_disabled")


def refuse_unless_creator(event: Event, actor: User) -> None:
    if event.creator_id != actor.pk:
        raise ApplicationError("not_owner")


def refuse_unless_open(event: Event, *, now: datetime) -> None:
    """INIT and before the lock time, whatever the sweeper has or has not done yet."""
    transitions.refuse_unless_status(event, {Event.Status.INIT})
    if now >= event.lock_at:
        raise ApplicationError("event_locked")


def invalid_input(field: str, message: str) -> ApplicationError:
    return ApplicationError("invalid_input", data={field: [message]})
