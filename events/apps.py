from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = _("Lotteries")

    def ready(self) -> None:
        from events import receivers  # noqa: F401 - connects the receivers
