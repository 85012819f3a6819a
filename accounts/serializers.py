from django.utils.translation import gettext as _
from rest_framework import serializers

from lottery_site.fields import AwareDateTimeField
from lottery_site.serializers import InputSerializer


class UserOutput(serializers.Serializer):
    """A user as anyone may see them: never the openid, unionid or session data."""

    id = serializers.CharField(source="public_id")
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()


class MeOutput(UserOutput):
    created_at = AwareDateTimeField()


class LoginInput(InputSerializer):
    code = serializers.CharField(max_length=128, trim_whitespace=True)
    nickname = serializers.CharField(max_length=64, required=False, allow_blank=True)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginOutput(TokenPairOutput):
    user = MeOutput()
    created = serializers.BooleanField()


class RefreshInput(InputSerializer):
    refresh = serializers.CharField()


class ProfileInput(InputSerializer):
    nickname = serializers.CharField(min_length=1, max_length=64, required=False)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)

    def validate_avatar_url(self, value: str) -> str:
        if value and not value.lower().startswith("https://"):
            raise serializers.ValidationError(_("The avatar URL must be an https link."))
        return value
