import factory

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
