"""System checks of our own (`manage.py check`, and before runserver, migrate and the rest)."""

from django.conf import settings
from django.core.checks import Error, register

from lottery_site.secret_keys import DEV_SECRET_KEY, is_placeholder


@register("security")
def signing_keys_are_not_public(app_configs, **kwargs) -> list[Error]:
    """An example's placeholder is never a key; the development key only with debug on.

    With debug off, settings refuse both before this runs; this catches debug on, and settings
    changed after they were read.
    """
    keys = {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
    }
    errors = []
    for name, key in keys.items():
        if is_placeholder(key) or (key == DEV_SECRET_KEY and not settings.DEBUG):
            errors.append(
                Error(
                    f"{name} is a public value (an example's placeholder or the development key).",
                    hint='Set your own: python3 -c "import secrets; print(secrets.token_urlsafe(50))"',
                    id="lottery.E100",
                )
            )
    return errors
