from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = _("Lotteries")

    def ready(self) -> None:
        from accounts.services import ban_changed

        ban_changed.connect(_creator_ban_changed, dispatch_uid="events.creator_ban_changed")


def _creator_ban_changed(*, user_id: int, **_kwargs) -> None:
    """A banned creator's events leave the square at once, and come back with an unban
    (``square.listed`` reads the creator's ``is_active``): each listable one goes through the
    read model's change hook, which every process follows."""
    from events import read_model
    from events.models import Event

    listable = Event.objects.filter(
        creator_id=user_id, status=Event.Status.INIT, visibility=Event.Visibility.PUBLIC
    ).values_list("pk", flat=True)
    for event_id in listable:
        read_model.event_changed(event_id=event_id, what="listing")
