from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("live draws")

    def ready(self) -> None:
        from accounts import personal_data as registry
        from live import personal_data

        registry.register(
            registry.Holder(
                app="live",
                export=personal_data.data_export,
                erase=personal_data.erase,
                models=("live.ScreenLink",),
            )
        )
