"""What events does when a lower layer tells it something (accounts.signals): call a service."""

from django.dispatch import receiver

from accounts.signals import user_deactivated
from events import services


@receiver(user_deactivated, dispatch_uid="events.banned_entries")
def _take_out_banned_entries(*, user_id: int, actor, now, **_kwargs) -> None:
    services.entries_remove_banned(user_id=user_id, actor=actor, now=now)
