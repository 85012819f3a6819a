"""What events does when a lower layer tells it something (accounts.signals): call a service."""

from django.dispatch import receiver

from accounts.signals import ban_changed
from events import read_model
from events.models import Event
from events.services.entries import entries_remove_banned


@receiver(ban_changed, dispatch_uid="events.banned_entries")
def _take_out_banned_entries(*, user_id: int, is_active: bool, actor, now, **_kwargs) -> None:
    if not is_active:
        entries_remove_banned(user_id=user_id, actor=actor, now=now)


@receiver(ban_changed, dispatch_uid="events.creator_ban_changed")
def _creator_ban_changed(*, user_id: int, **_kwargs) -> None:
    """A banned creator's events leave the square at once, and come back with an unban
    (``square.listed`` reads the creator's ``is_active``): each listable one goes through the
    read model's change hook, which every process follows."""
    listable = Event.objects.filter(
        creator_id=user_id, status=Event.Status.INIT, visibility=Event.Visibility.PUBLIC
    ).values_list("pk", flat=True)
    for event_id in listable:
        read_model.event_changed(event_id=event_id, what="listing")
