from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    openid = factory.Sequence(lambda n: f"openid-{n:06d}")
    nickname = factory.Sequence(lambda n: f"用户{n}")
    avatar_url = "https://thirdwx.qlogo.cn/avatar.png"
    session_key = "secret-session-key-value"


class StaffFactory(UserFactory):
    openid = None
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True
    password = factory.PostGenerationMethodCall("set_password", "staff-password")


def _default_prizes():
    return [{"name": "一等奖", "quantity": 1}, {"name": "二等奖", "quantity": 2}]


class EventFactory(factory.Factory):
    """An INIT event made through ``events.services.events.event_create``, the one write path.

    ``now`` defaults to the (possibly frozen) current time; the draw is an hour later. Extra
    keywords (``draw_mode``, ``target_participants``) go straight to the service.
    """

    class Meta:
        model = "events.Event"

    creator = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"新年抽奖 {n}")
    description = "关注公众号参与抽奖"
    now = factory.LazyFunction(timezone.now)
    draw_at = factory.LazyAttribute(lambda o: o.now + timedelta(hours=1))
    prizes = factory.LazyFunction(_default_prizes)

    @classmethod
    def _create(cls, model_class, **kwargs):
        from events.services.events import event_create

        return event_create(**kwargs)


def event_payload(**overrides) -> dict:
    """The JSON body of ``POST /api/v1/events``, valid unless overridden."""
    payload = {
        "title": "新年抽奖",
        "description": "关注公众号参与抽奖",
        "draw_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        "prizes": _default_prizes(),
    }
    payload.update(overrides)
    return payload
