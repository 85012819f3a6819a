from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import personal_data, serializers, services

        personal_data.register(
            personal_data.Holder(
                app="accounts",
                export=serializers.account_data,
                erase=services.account_data_erase,
                models=(
                    "accounts.User",
                    "accounts.PrivacyConsent",
                    "accounts.Upload",
                    "accounts.UserActionLog",
                    "token_blacklist.OutstandingToken",
                ),
            )
        )
