from django.apps import AppConfig


class LotterySiteConfig(AppConfig):
    name = "lottery_site"
    verbose_name = "Lottery site"

    def ready(self) -> None:
        from lottery_site import checks  # noqa: F401  (registers the system checks)
