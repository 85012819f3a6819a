from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"
    verbose_name = _("Lotteries")

    def ready(self) -> None:
        from accounts import personal_data as registry
        from events import (
            personal_data,
            receivers,  # noqa: F401 - connects the receivers (accounts.signals.ban_changed)
        )

        registry.register(
            registry.Holder(
                app="events",
                export=personal_data.data_export,
                erase=personal_data.erase,
                refuse_deletion=personal_data.refuse_deletion,
                models=(
                    "events.Event",
                    "events.Entry",
                    "events.Claim",
                    "events.ClaimAccess",
                    "events.Report",
                    "events.EventLog",
                    "events.Substitution",
                    "events.PromotionRecord",
                    "events.Exclusion",
                ),
            )
        )
