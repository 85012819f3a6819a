from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = _("notifications")

    def ready(self) -> None:
        from accounts import personal_data as registry
        from notifications import personal_data

        registry.register(
            registry.Holder(
                app="notifications",
                export=personal_data.data_export,
                erase=personal_data.erase,
                models=(
                    "notifications.Delivery",
                    "notifications.SubscriptionQuota",
                    "notifications.InboxState",
                ),
            )
        )
