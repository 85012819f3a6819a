from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = _("Lotteries")

    def ready(self) -> None:
        from accounts.services import ban_changed

        ban_changed.connect(_creator_ban_changed, dispatch_uid="events.creator_ban_changed")


def _creator_ban_changed(**_kwargs) -> None:
    """A banned creator's events leave the square at once, and come back with an unban
    (``square.listed`` reads the creator's ``is_active``): every process checks again."""
    from events import square

    square.changed()
